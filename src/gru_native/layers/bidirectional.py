"""Bidirectional: a recurrent layer run forwards and a copy run backwards, outputs merged."""

from __future__ import annotations

from typing import Any, Literal, Optional

import numpy as np

from ..kernels.plan_ops import LayerOps, MergeOp
from ..validation import check_choice
from .base import Layer, deserialize, serialize
from .recurrent import Recurrent

MERGE_MODES = ("concat", "sum", "ave", "mul")
MergeMode = Literal["concat", "sum", "ave", "mul"]


class Bidirectional(Layer):
    """Bidirectional wrapper of a recurrent layer, as ``keras.layers.Bidirectional``.

    It runs a recurrent layer forwards and a copy of it backwards over the same inputs, and
    merges their outputs; the backward layer's output sequence is put back in the input's
    order first. It returns sequences when the layer does. As in Keras 3, both layers output
    zeros, not repeats, at the masked steps of their sequences (it sets their
    ``zero_output_for_mask``). The weights are the forward layer's, then the backward
    layer's.

    Parameters
    ----------
    layer : GRU or LSTM
        The recurrent layer run forwards (not one with ``return_state=True``).
    merge_mode : {'concat', 'sum', 'ave', 'mul'}, default='concat'
        How the two outputs merge: concatenated along the features (twice the units),
        summed, averaged or multiplied.
    backward_layer : GRU or LSTM, optional
        The layer run backwards, which replaces the copy. By default a copy of `layer` (its
        config) named ``'backward_' + layer.name``, its ``go_backwards`` inverted.
    **kwargs
        The arguments of :class:`~gru_native.layers.Layer`: ``name``, ``input_shape``
        (without the batch axis; by default that of `layer`), ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        For another `merge_mode`, or a `layer` with ``return_state=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from gru_native.layers import GRU, LSTM, Bidirectional
    >>> from gru_native.utils import set_random_seed
    >>> set_random_seed(0)
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    >>> Bidirectional(GRU(4, return_sequences=True))(x).shape  # concatenated: 2 * 4 features
    (2, 5, 8)
    >>> Bidirectional(LSTM(4), merge_mode="sum")(x).shape
    (2, 4)
    """

    def __init__(self, layer: Recurrent, merge_mode: MergeMode = "concat",
                 backward_layer: Optional[Recurrent] = None, **kwargs: Any) -> None:
        check_choice(merge_mode, "merge_mode", MERGE_MODES)
        if getattr(layer, "return_state", False):
            raise ValueError("Bidirectional does not support return_state=True layers")
        kwargs.setdefault("input_shape", layer.input_shape_arg)
        super().__init__(**kwargs)
        self.forward_layer = layer
        if backward_layer is None:
            config = serialize(layer)
            config["config"] = dict(config["config"], name=f"backward_{layer.name}",
                                    go_backwards=not layer.go_backwards)
            backward_layer = deserialize(config)
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        # As Keras 3's Bidirectional: zeros at masked steps of the sequences, not repeats
        for sub in (self.forward_layer, self.backward_layer):
            sub.zero_output_for_mask = sub.return_sequences

    def compute_output_shape(self, input_shape):
        """Return the shape of the merged output for inputs of `input_shape`.

        Parameters
        ----------
        input_shape : tuple of int or None
            The shape of the inputs without the batch axis, ``(timesteps, features)``.

        Returns
        -------
        tuple of int or None
            The forward layer's output shape, with twice its features for 'concat'.
        """
        shape = self.forward_layer.compute_output_shape(input_shape)
        return shape[:-1] + (2 * shape[-1],) if self.merge_mode == "concat" else shape

    def build(self, input_shape):
        """Build both recurrent layers for inputs of `input_shape`; return the output shape.

        Parameters
        ----------
        input_shape : tuple of int or None
            The shape of the inputs without the batch axis, ``(timesteps, features)``.

        Returns
        -------
        tuple of int or None
            The shape of the merged output, without the batch axis.
        """
        self.forward_layer.build(input_shape)
        self.backward_layer.build(input_shape)
        return super().build(input_shape)

    def weight_specs(self):
        """Return the declarations of both layers' weights: the forward layer's, then the other's.

        Returns
        -------
        list of WeightSpec
            The forward layer's weight specs followed by the backward layer's.
        """
        return self.forward_layer.weight_specs() + self.backward_layer.weight_specs()

    def bind(self, params, grads):
        """Take views into the model's buffers: the forward layer's first, then the other's.

        Parameters
        ----------
        params : sequence of ndarray
            The views holding the weights, in the order of `weight_specs`.
        grads : sequence of ndarray
            The views holding their gradients, in the same order.
        """
        k = len(self.forward_layer.weight_specs())
        self.forward_layer.bind(params[:k], grads[:k])
        self.backward_layer.bind(params[k:], grads[k:])
        super().bind(params, grads)

    def forward(self, x, mask=None, training=False):
        """Run both layers on a batch and merge their outputs.

        Parameters
        ----------
        x : ndarray of shape (batch, timesteps, features)
            The input batch.
        mask : ndarray of bool of shape (batch, timesteps), optional
            True where a step is valid.
        training : bool, default=False
            Whether the call is a training step (dropout applies).

        Returns
        -------
        y : ndarray
            The merged output: ``(batch, timesteps, units)`` with return_sequences, else
            ``(batch, units)`` (twice the units for 'concat').
        mask : ndarray of bool or None
            The output's mask: the input's for sequences, else None.
        """
        yf, out_mask = self.forward_layer.forward(x, mask, training)
        yb, _ = self.backward_layer.forward(x, mask, training)
        if self.return_sequences:
            yb = yb[:, ::-1]  # the backward layer returns its sequence reversed
        self._yf, self._yb = yf, yb
        if self.merge_mode == "concat":
            y = np.concatenate([yf, yb], axis=-1)
        elif self.merge_mode == "sum":
            y = yf + yb
        elif self.merge_mode == "ave":
            y = (yf + yb) / 2
        else:
            y = yf * yb
        return y, out_mask

    def backward(self, dy, need_dx=True):
        """Split the output's gradient between the two layers and run their backwards.

        Parameters
        ----------
        dy : ndarray
            The gradient of the loss w.r.t. the merged output of the last `forward`.
        need_dx : bool, default=True
            Whether the input's gradient is needed.

        Returns
        -------
        ndarray or None
            The gradient w.r.t. the input (the sum of both layers'), None when `need_dx` is
            False.
        """
        if self.merge_mode == "concat":
            h = self._yf.shape[-1]
            dyf, dyb = dy[..., :h], dy[..., h:]
        elif self.merge_mode == "sum":
            dyf = dyb = dy
        elif self.merge_mode == "ave":
            dyf = dyb = dy / 2
        else:
            dyf, dyb = dy * self._yb, dy * self._yf
        if self.return_sequences:
            dyb = dyb[:, ::-1]
        dxf = self.forward_layer.backward(np.ascontiguousarray(dyf), need_dx)
        dxb = self.backward_layer.backward(np.ascontiguousarray(dyb), need_dx)
        return dxf + dxb if need_dx else None

    def inference_ops(self, inputs, new_slot):
        """Return the two layers' recurrent ops and their merge, as inference-plan ops.

        Parameters
        ----------
        inputs : sequence of int
            The slot of the input sequence.
        new_slot : callable
            ``new_slot()`` numbers a new slot.

        Returns
        -------
        LayerOps or None
            The ops and the merged output's slot; None (the model then predicts through
            `forward`) when a layer is stateful, the forward layer goes backwards or the
            backward layer does not, or the two differ in return_sequences.
        """
        f, b = self.forward_layer, self.backward_layer
        if f.stateful or b.stateful or f.go_backwards or not b.go_backwards \
                or f.return_sequences != b.return_sequences:
            return None
        # The backward layer's sequence comes out reversed and is reversed back here: its
        # kernel's output, in the input's order.
        ops = [f.plan_op(inputs[0], (), new_slot, False, False),
               b.plan_op(inputs[0], (), new_slot, True, False)]
        out = new_slot()
        kind = {"concat": "concat", "sum": "add", "ave": "average", "mul": "multiply"}[self.merge_mode]
        ops.append(MergeOp(kind, (ops[0].outputs[0], ops[1].outputs[0]), out, -1))
        return LayerOps(ops, [out])

    def twin(self):
        """Return this layer for another node of a graph (a layer called twice).

        Returns
        -------
        Bidirectional
            A copy with twins of both recurrent layers: the same weight and gradient views,
            their own per-call state.
        """
        twin = super().twin()
        twin.forward_layer, twin.backward_layer = self.forward_layer.twin(), self.backward_layer.twin()
        return twin

    def reset_states(self) -> None:
        """Forget the states both layers carry between batches (stateful layers)."""
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def get_config(self):
        """Return the configuration, from which `from_config` makes the layer again.

        Returns
        -------
        dict
            The Layer's configuration, with ``layer`` and ``backward_layer`` (each as
            :func:`~gru_native.layers.serialize` describes it) and ``merge_mode``.
        """
        config = dict(super().get_config(), layer=serialize(self.forward_layer),
                      merge_mode=self.merge_mode)
        config["backward_layer"] = serialize(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config):
        """Make a Bidirectional layer from the configuration `get_config` returns.

        Parameters
        ----------
        config : dict
            The configuration, its ``layer`` and ``backward_layer`` as
            :func:`~gru_native.layers.serialize` describes them.

        Returns
        -------
        Bidirectional
            A new layer (unbuilt).
        """
        config = dict(config)
        layer = deserialize(config.pop("layer"))
        backward = deserialize(config.pop("backward_layer"))
        return cls(layer, backward_layer=backward, **config)
