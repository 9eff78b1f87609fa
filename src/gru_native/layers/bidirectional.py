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
    """Run a recurrent layer forwards and a copy of it backwards, and merge their outputs, as
    keras.layers.Bidirectional; `merge_mode` is 'concat', 'sum', 'ave' or 'mul', and
    `backward_layer` replaces the copy."""

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
        shape = self.forward_layer.compute_output_shape(input_shape)
        return shape[:-1] + (2 * shape[-1],) if self.merge_mode == "concat" else shape

    def build(self, input_shape):
        self.forward_layer.build(input_shape)
        self.backward_layer.build(input_shape)
        return super().build(input_shape)

    def weight_specs(self):
        return self.forward_layer.weight_specs() + self.backward_layer.weight_specs()

    def bind(self, params, grads):
        k = len(self.forward_layer.weight_specs())
        self.forward_layer.bind(params[:k], grads[:k])
        self.backward_layer.bind(params[k:], grads[k:])
        super().bind(params, grads)

    def forward(self, x, mask=None, training=False):
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
        twin = super().twin()
        twin.forward_layer, twin.backward_layer = self.forward_layer.twin(), self.backward_layer.twin()
        return twin

    def reset_states(self) -> None:
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def get_config(self):
        config = dict(super().get_config(), layer=serialize(self.forward_layer),
                      merge_mode=self.merge_mode)
        config["backward_layer"] = serialize(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        layer = deserialize(config.pop("layer"))
        backward = deserialize(config.pop("backward_layer"))
        return cls(layer, backward_layer=backward, **config)
