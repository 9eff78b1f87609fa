"""Activation: applies an activation function ('relu', 'sigmoid', 'tanh', 'softmax', ...)."""

from __future__ import annotations

from typing import Any

from .. import activations
from ..kernels.plan_ops import ActivationOp, LayerOps
from .base import ActivationLike, Layer, plan_activation


class Activation(Layer):
    """Apply an activation function ("relu", "sigmoid", "tanh", "softmax", ...) elementwise,
    as keras.layers.Activation; the mask passes on."""

    def __init__(self, activation: ActivationLike, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def forward(self, x, mask=None, training=False):
        self._z = x
        self._a = self.activation.forward(x)
        return self._a, mask

    def backward(self, dy, need_dx=True, dy_is_logits=False):
        if not need_dx:
            return None
        return dy if dy_is_logits else self.activation.backward(dy, self._a, self._z)

    def fused_logits(self, activation):
        return self._z if self.activation.name == activation else None

    def inference_ops(self, inputs, new_slot):
        name = plan_activation(self.activation)
        if name is None:
            return None  # a custom activation: through forward
        if name == "linear":
            return LayerOps([], [inputs[0]])
        out = new_slot()
        return LayerOps([ActivationOp(name, inputs[0], out)], [out])

    def get_config(self):
        return dict(super().get_config(), activation=self.activation.name)
