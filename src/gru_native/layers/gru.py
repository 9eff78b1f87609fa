"""The GRU layer (Keras' arguments and weight layout) over the C kernels in _gru."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels.gru import bias_shape, gru_backward, gru_forward
from ..validation import check_bool
from .base import InitializerLike
from .recurrent import Recurrent


class GRU(Recurrent):
    """Gated recurrent unit, as keras.layers.GRU, on the C kernels.

    The weights use Keras' layout and gate order (z, r, n), so Keras weights load as they are:
    kernel (features, 3 units), recurrent_kernel (units, 3 units) and bias (2, 3 units) with
    `reset_after`, else (3 units,). The arguments it shares with LSTM are those of their base
    class, Recurrent.

    Masked steps (Masking, Embedding(mask_zero=True), or ``mask=``) cost nothing and change
    nothing: they reach the kernels as sequence lengths, and the state passes through them; as in
    Keras 3 the sequence output at a masked step repeats the output of the last step run before
    it (the initial state before the first valid step), or is zero with `zero_output_for_mask`.
    Called as ``layer(x, initial_state=...)`` with `initial_state` the initial states as tensors
    or arrays (batch, units), whose gradients flow back when training.
    `initial_state` is [h].

    Parameters
    ----------
    units : int
        Dimension of the output and state.
    activation : {'tanh'}, default='tanh'
        The candidate's activation: the kernels compute tanh (any other raises ValueError).
    recurrent_activation : {'sigmoid'}, default='sigmoid'
        The gates' activation: the kernels compute sigmoid (any other raises ValueError).
    use_bias : bool, default=True
        Whether the layer has a bias.
    kernel_initializer : str, dict or Initializer, default='glorot_uniform'
        Initialiser of the input kernel.
    recurrent_initializer : str, dict or Initializer, default='orthogonal'
        Initialiser of the recurrent kernel.
    bias_initializer : str, dict or Initializer, default='zeros'
        Initialiser of the bias.
    dropout : float, default=0.0
        Fraction of the inputs dropped in training (one mask per sequence, for all steps).
    recurrent_dropout : float, default=0.0
        Fraction of the state dropped where it enters the recurrent products, in training.
    return_sequences : bool, default=False
        Return the output of every step (batch, timesteps, units), not only the last.
    return_state : bool, default=False
        Also return the final states, after the output.
    go_backwards : bool, default=False
        Read the sequences backwards (and return the reversed output sequence, as Keras).
    stateful : bool, default=False
        Keep the final states of a batch as the initial states of the next (sample i of each
        batch continues sample i of the one before) until ``reset_states()``.
    reset_after : bool, default=True
        True: the reset gate applies after the recurrent product (Keras' default, the
        PyTorch/cuDNN formula, two bias rows); False: before it (Cho et al. 2014).
    zero_output_for_mask : bool, default=False
        Zeros, not repeats, as the sequence output at masked steps (Bidirectional sets it).
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        For an activation other than tanh or a recurrent activation other than sigmoid, or an
        argument out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from gru_native.layers import GRU
    >>> from gru_native.utils import set_random_seed
    >>> set_random_seed(0)
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    >>> gru = GRU(4)
    >>> gru(x).shape
    (2, 4)
    >>> [w.shape for w in gru.get_weights()]  # kernel, recurrent_kernel, bias (reset_after)
    [(3, 12), (4, 12), (2, 12)]
    >>> sequences, h = GRU(4, return_sequences=True, return_state=True)(x)
    >>> sequences.shape, h.shape
    ((2, 5, 4), (2, 4))
    """

    def __init__(self, units: int, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 use_bias: bool = True, kernel_initializer: InitializerLike = "glorot_uniform",
                 recurrent_initializer: InitializerLike = "orthogonal",
                 bias_initializer: InitializerLike = "zeros", dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 reset_after: bool = True, zero_output_for_mask: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, dropout, recurrent_dropout,
                         return_sequences, return_state, go_backwards, stateful,
                         zero_output_for_mask, **kwargs)
        self.reset_after = check_bool(reset_after, "reset_after")

    def build(self, input_shape):
        """Declare the weights for inputs of `input_shape`; return the output shape.

        The weights, in Keras' layout and gate order (z, r, n): kernel (features, 3 units),
        recurrent_kernel (units, 3 units) and, with `use_bias`, bias (2, 3 units) with
        `reset_after`, else (3 units,).

        Parameters
        ----------
        input_shape : tuple of int or None
            The shape of the inputs without the batch axis, ``(timesteps, features)``.

        Returns
        -------
        tuple of int or None
            ``(timesteps, units)`` with return_sequences, else ``(units,)``.

        Raises
        ------
        ValueError
            For inputs of another rank.
        """
        out = super().build(input_shape)
        H = self.units
        self.add_weight("kernel", (input_shape[1], 3 * H), self.kernel_initializer)
        self.add_weight("recurrent_kernel", (H, 3 * H), self.recurrent_initializer)
        if self.use_bias:
            self.add_weight("bias", bias_shape(H, self.reset_after), self.bias_initializer)
        return out

    def _run(self, x, lengths, states, training, recurrent_mask):
        bias = self.weights[2] if self.use_bias else None
        y, h, self._cache = gru_forward(
            x, self.weights[0], self.weights[1], bias, None if states is None else states[0],
            lengths, reset_after=self.reset_after, reverse=self.go_backwards,
            return_sequences=self.return_sequences, training=training,
            recurrent_mask=recurrent_mask, workspace=self._workspace)
        return y, [h]

    def _run_backward(self, dy_seq, d_finals, need_dx, need_d0):
        out = (self.grads[0], self.grads[1], self.grads[2] if self.use_bias else None)
        dx, dh0 = gru_backward(self._cache, dy_seq, d_finals[0], need_dx=need_dx,
                               need_dh0=need_d0, workspace=self._workspace, out=out)[:2]
        return dx, [dh0]

    def _plan_weights(self):
        bias = self.weights[2] if self.use_bias else np.zeros(
            bias_shape(self.units, self.reset_after), self.weights[0].dtype)
        return "gru", self.weights[0], self.weights[1], bias, self.reset_after

    def get_config(self):
        """Return the layer's configuration, from which `from_config` makes it again.

        Returns
        -------
        dict
            The constructor's arguments (``name``, ``units``, ..., ``reset_after``).
        """
        return dict(super().get_config(), reset_after=self.reset_after)
