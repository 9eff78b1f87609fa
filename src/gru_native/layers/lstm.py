"""The LSTM layer (Keras' arguments and weight layout: gates i, f, c, o) over the C kernels in
_lstm: the GRU's usual point of comparison, on the same machinery."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import initializers
from ..kernels.lstm import lstm_backward, lstm_forward
from ..validation import check_bool
from .base import InitializerLike
from .recurrent import Recurrent


class _UnitForgetBias(initializers.Initializer):
    """Keras' unit_forget_bias: the forget gate's bias starts at 1, the rest as `base`."""

    def __init__(self, base):
        self.base = initializers.get(base)

    def __call__(self, shape, rng):
        H = shape[0] // 4
        b = np.asarray(self.base(shape, rng), dtype=float)
        b[H:2 * H] = 1.0
        return b


class LSTM(Recurrent):
    """Long short-term memory, as keras.layers.LSTM, on the C kernels.

    The weights use Keras' layout and gate order (i, f, c, o): kernel (features, 4 units),
    recurrent_kernel (units, 4 units), bias (4 units,). `return_state` gives [output, h, c].

    Masked steps (Masking, Embedding(mask_zero=True), or ``mask=``) cost nothing and change
    nothing: they reach the kernels as sequence lengths, and the state passes through them; as in
    Keras 3 the sequence output at a masked step repeats the output of the last step run before
    it (the initial state before the first valid step), or is zero with `zero_output_for_mask`.
    Called as ``layer(x, initial_state=...)`` with `initial_state` the initial states as tensors
    or arrays (batch, units), whose gradients flow back when training.
    `initial_state` is [h, c].

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
    unit_forget_bias : bool, default=True
        Start the forget gate's bias at 1 (the rest as `bias_initializer`), as Keras.
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
    >>> from gru_native.layers import LSTM
    >>> from gru_native.utils import set_random_seed
    >>> set_random_seed(0)
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    >>> lstm = LSTM(4)
    >>> lstm(x).shape
    (2, 4)
    >>> [w.shape for w in lstm.get_weights()]  # kernel, recurrent_kernel, bias
    [(3, 16), (4, 16), (16,)]
    >>> sequences, h, c = LSTM(4, return_sequences=True, return_state=True)(x)
    >>> sequences.shape, h.shape, c.shape
    ((2, 5, 4), (2, 4), (2, 4))
    """

    n_states = 2

    def __init__(self, units: int, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 use_bias: bool = True, kernel_initializer: InitializerLike = "glorot_uniform",
                 recurrent_initializer: InitializerLike = "orthogonal",
                 bias_initializer: InitializerLike = "zeros", unit_forget_bias: bool = True,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, dropout, recurrent_dropout,
                         return_sequences, return_state, go_backwards, stateful,
                         zero_output_for_mask, **kwargs)
        self.unit_forget_bias = check_bool(unit_forget_bias, "unit_forget_bias")

    def build(self, input_shape):
        """Declare the weights for inputs of `input_shape`; return the output shape.

        The weights, in Keras' layout and gate order (i, f, c, o): kernel (features,
        4 units), recurrent_kernel (units, 4 units) and, with `use_bias`, bias (4 units,),
        its forget gate's part starting at 1 with `unit_forget_bias`.

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
        self.add_weight("kernel", (input_shape[1], 4 * H), self.kernel_initializer)
        self.add_weight("recurrent_kernel", (H, 4 * H), self.recurrent_initializer)
        if self.use_bias:
            init = _UnitForgetBias(self.bias_initializer) if self.unit_forget_bias \
                else self.bias_initializer
            self.add_weight("bias", (4 * H,), init)
        return out

    def _run(self, x, lengths, states, training, recurrent_mask):
        h0, c0 = (None, None) if states is None else states
        bias = self.weights[2] if self.use_bias else None
        y, h, c, self._cache = lstm_forward(
            x, self.weights[0], self.weights[1], bias, h0, c0, lengths, reverse=self.go_backwards,
            return_sequences=self.return_sequences, training=training,
            recurrent_mask=recurrent_mask, workspace=self._workspace)
        return y, [h, c]

    def _run_backward(self, dy_seq, d_finals, need_dx, need_d0):
        out = (self.grads[0], self.grads[1], self.grads[2] if self.use_bias else None)
        dx, dh0, dc0 = lstm_backward(self._cache, dy_seq, d_finals[0], d_finals[1],
                                     need_dx=need_dx, need_dh0=need_d0,
                                     workspace=self._workspace, out=out)[:3]
        return dx, [dh0, dc0]

    def _plan_weights(self):
        bias = self.weights[2] if self.use_bias else np.zeros(4 * self.units, self.weights[0].dtype)
        return "lstm", self.weights[0], self.weights[1], bias, False

    def get_config(self):
        """Return the layer's configuration, from which `from_config` makes it again.

        Returns
        -------
        dict
            The constructor's arguments (``name``, ``units``, ..., ``unit_forget_bias``).
        """
        return dict(super().get_config(), unit_forget_bias=self.unit_forget_bias)
