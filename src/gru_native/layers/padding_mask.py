"""PaddingMask: keeps the padding of variable-length sequences out of a convolutional front end
(the estimators'). Not a Keras layer, and not in gru_native.layers' public names.

Keras' Conv1D and pooling layers drop a mask (ours too), so behind them a recurrent layer would
read padded steps as data, and the padding a sequence gets from the longer ones in its batch
would change its prediction. Called as PaddingMask(pool_size)([x, inputs]), where x has been
shortened by poolings of `pool_size` in all since the model's `inputs`, it sets the steps of x
that hold no real step of the input to zero and carries that mask on. Behind each convolution
(before the normalisation, whose training statistics then leave the padding out) and before each
max pooling (whose window over the last real step then sees zeros, as a sequence alone sees
nothing, and ReLU outputs are never below zero) it makes the front end's output on real steps
what each sequence gives alone. Exact for poolings of size 2 (TensorFlow's 'same' pooling then
pads only at the end; a larger size may pad the start too, by an amount that depends on the
batch's length); with no mask it is the identity, and so at prediction in the inference plan
(which runs only without one). `fill_value=-inf` instead of zero, before a max pooling over
values that may be negative (an Inception module's pooling branch over the input series), makes
the window over the last real step see nothing beyond it, as TensorFlow's 'same' padding does.
"""

from typing import Any

import numpy as np

from ..kernels.plan_ops import LayerOps
from ..validation import check_int
from .base import Layer


class PaddingMask(Layer):
    multi_input = True

    def __init__(self, pool_size: int = 1, fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_size = check_int(pool_size, "pool_size", 1)
        self.fill_value = float(fill_value)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def forward(self, xs, masks, training=False):
        x, mask = xs[0], masks[1]
        if mask is None:
            self._keep = None
            return x, None
        steps = x.shape[1]
        edges = np.arange(steps) * self.pool_size
        # a step of x is real when the input steps it pools hold a real one
        keep = np.logical_or.reduceat(mask, edges[edges < mask.shape[1]], axis=1)[:, :steps]
        self._keep = keep[:, :, None]
        return np.where(self._keep, x, x.dtype.type(self.fill_value)), keep

    def backward(self, dy, need_dx=True):
        return [dy if self._keep is None else np.where(self._keep, dy, dy.dtype.type(0)), None]

    def inference_ops(self, inputs, new_slot):
        return LayerOps([], [inputs[0]])

    def get_config(self):
        return dict(super().get_config(), pool_size=self.pool_size, fill_value=self.fill_value)
