"""TimeDistributed: one inner layer (Dense, Activation, Dropout, ...) applied to every timestep,
with the same weights at each step."""

from __future__ import annotations

from typing import Any

from .base import Layer, deserialize, serialize


class TimeDistributed(Layer):
    """Apply one inner layer (Dense, Activation, Dropout, ...) to every timestep of (batch,
    timesteps, ...) inputs, with the same weights at each step, as keras.layers.TimeDistributed."""

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `TimeDistributed` layer with a layer instance. "
                             f"Received: {layer!r}")
        if getattr(layer, "multi_input", False):
            raise ValueError(f"TimeDistributed wraps a single-input layer, got {type(layer).__name__}")
        super().__init__(**kwargs)
        self.layer = layer

    def _step_shape(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"layer {self.name!r} (TimeDistributed) expects inputs of shape "
                             f"(batch, timesteps, ...), got input shape {tuple(input_shape)} "
                             f"(batch excluded)")
        return tuple(input_shape[1:])

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(self.layer.compute_output_shape(self._step_shape(input_shape)))

    def build(self, input_shape):
        self.layer.build(self._step_shape(input_shape))
        return super().build(input_shape)

    # The weights are the inner layer's: the model's buffers hold them once.
    def weight_specs(self):
        return self.layer.weight_specs()

    def bind(self, params, grads):
        params, grads = list(params), list(grads)
        self.layer.bind(params, grads)
        super().bind(params, grads)

    def forward(self, x, mask=None, training=False):
        # Time folded into batch: one inner call on (B*T, ...) rather than T calls, the same
        # result for a per-step layer (Dropout draws its mask per element either way). The
        # inner layer gets no mask: ours is over timesteps, which it does not see.
        if x.ndim < 3:
            raise ValueError(f"layer {self.name!r} expects inputs of shape (batch, timesteps, "
                             f"...), got {x.shape}")
        self._bt = x.shape[:2]
        y, _ = self.layer.forward(x.reshape((-1,) + x.shape[2:]), None, training)
        # Keras 3 (up to 3.15) passes the mask through (the default compute_mask).
        return y.reshape(self._bt + y.shape[1:]), mask

    def backward(self, dy, need_dx=True):
        dx = self.layer.backward(dy.reshape((-1,) + dy.shape[2:]), need_dx)
        return None if dx is None else dx.reshape(self._bt + dx.shape[1:])

    def inference_ops(self, inputs, new_slot):
        # Row-wise inner layers work on every step of a sequence slot as on rows.
        from .activation import Activation
        from .dense import Dense
        from .dropout import Dropout
        if type(self.layer) not in (Dense, Activation, Dropout) or len(self.input_shape) != 2:
            return None
        return self.layer.inference_ops(inputs, new_slot)

    def twin(self):
        twin = super().twin()
        twin.layer = self.layer.twin()
        return twin

    def get_config(self):
        return dict(super().get_config(), layer=serialize(self.layer))

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(deserialize(config.pop("layer")), **config)
