"""TimeDistributed: one inner layer (Dense, Activation, Dropout, ...) applied to every timestep,
with the same weights at each step."""

from __future__ import annotations

from typing import Any

from .base import Layer, deserialize, serialize


class TimeDistributed(Layer):
    """Apply one inner layer to every timestep, as ``keras.layers.TimeDistributed``.

    The inner layer (Dense, Activation, Dropout, ...) runs on every timestep of
    ``(batch, timesteps, ...)`` inputs with the same weights at each step: once on the
    timesteps folded into the batch. Its weights are the inner layer's. The mask passes on
    unchanged, as in Keras 3 (up to 3.15); the inner layer sees none.

    Parameters
    ----------
    layer : Layer
        The inner layer, a single-input layer.
    **kwargs
        The arguments of :class:`~gru_native.layers.Layer`: ``name``, ``input_shape``
        (without the batch axis), ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        When `layer` is not a layer, or is a layer of several inputs (a merge layer).
    """

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
        """Return the output shape: the timesteps, then the inner layer's output shape.

        Parameters
        ----------
        input_shape : tuple of int or None
            The shape of the inputs without the batch axis, ``(timesteps, ...)``.

        Returns
        -------
        tuple of int or None
            ``(timesteps, *inner output shape)``, without the batch axis.

        Raises
        ------
        ValueError
            For inputs without a timesteps axis.
        """
        return (input_shape[0],) + tuple(self.layer.compute_output_shape(self._step_shape(input_shape)))

    def build(self, input_shape):
        """Build the inner layer for one timestep of `input_shape`; return the output shape.

        Parameters
        ----------
        input_shape : tuple of int or None
            The shape of the inputs without the batch axis, ``(timesteps, ...)``.

        Returns
        -------
        tuple of int or None
            The shape of the output, without the batch axis.

        Raises
        ------
        ValueError
            For inputs without a timesteps axis.
        """
        self.layer.build(self._step_shape(input_shape))
        return super().build(input_shape)

    # The weights are the inner layer's: the model's buffers hold them once.
    def weight_specs(self):
        """Return the declarations of the inner layer's weights, which are this layer's.

        The model's buffers hold them once.

        Returns
        -------
        list of WeightSpec
            The inner layer's weight specs.
        """
        return self.layer.weight_specs()

    def bind(self, params, grads):
        """Take views into the model's buffers for the inner layer's weights.

        Parameters
        ----------
        params : iterable of ndarray
            The views holding the inner layer's weights, in the order of `weight_specs`.
        grads : iterable of ndarray
            The views holding their gradients, in the same order.
        """
        params, grads = list(params), list(grads)
        self.layer.bind(params, grads)
        super().bind(params, grads)

    def forward(self, x, mask=None, training=False):
        """Run the inner layer on every timestep of a batch.

        Parameters
        ----------
        x : ndarray of shape (batch, timesteps, ...)
            The input batch.
        mask : ndarray of bool of shape (batch, timesteps), optional
            True where a step is valid; passed on, not to the inner layer.
        training : bool, default=False
            Whether the call is a training step (the inner layer's dropout applies).

        Returns
        -------
        y : ndarray of shape (batch, timesteps, ...)
            The inner layer's output at every step.
        mask : ndarray of bool or None
            The input's mask.

        Raises
        ------
        ValueError
            For inputs of fewer than 3 axes.
        """
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
        """Run the inner layer's backward on every timestep's gradient at once.

        Parameters
        ----------
        dy : ndarray of shape (batch, timesteps, ...)
            The gradient of the loss w.r.t. the output of the last `forward`.
        need_dx : bool, default=True
            Whether the input's gradient is needed.

        Returns
        -------
        ndarray or None
            The gradient w.r.t. the input, None when `need_dx` is False.
        """
        dx = self.layer.backward(dy.reshape((-1,) + dy.shape[2:]), need_dx)
        return None if dx is None else dx.reshape(self._bt + dx.shape[1:])

    def inference_ops(self, inputs, new_slot):
        """Return the inner layer's inference-plan ops, which run on every step as on rows.

        Parameters
        ----------
        inputs : sequence of int
            The slot of the input sequence.
        new_slot : callable
            ``new_slot()`` numbers a new slot.

        Returns
        -------
        LayerOps or None
            The inner layer's ops for a Dense, Activation or Dropout layer on
            ``(batch, timesteps, features)`` inputs; None otherwise (the model then predicts
            through `forward`).
        """
        # Row-wise inner layers work on every step of a sequence slot as on rows.
        from .activation import Activation
        from .dense import Dense
        from .dropout import Dropout
        if type(self.layer) not in (Dense, Activation, Dropout) or len(self.input_shape) != 2:
            return None
        return self.layer.inference_ops(inputs, new_slot)

    def twin(self):
        """Return this layer for another node of a graph (a layer called twice).

        Returns
        -------
        TimeDistributed
            A copy with a twin of the inner layer: the same weight and gradient views, its
            own per-call state.
        """
        twin = super().twin()
        twin.layer = self.layer.twin()
        return twin

    def get_config(self):
        """Return the configuration, from which `from_config` makes the layer again.

        Returns
        -------
        dict
            The Layer's configuration, with ``layer``, the inner layer as
            :func:`~gru_native.layers.serialize` describes it.
        """
        return dict(super().get_config(), layer=serialize(self.layer))

    @classmethod
    def from_config(cls, config):
        """Make a TimeDistributed layer from the configuration `get_config` returns.

        Parameters
        ----------
        config : dict
            The configuration, its ``layer`` as :func:`~gru_native.layers.serialize`
            describes it.

        Returns
        -------
        TimeDistributed
            A new layer (unbuilt).
        """
        config = dict(config)
        return cls(deserialize(config.pop("layer")), **config)
