"""Output activations with their derivatives: `forward(z) -> a` and `backward(da, a, z) -> dz`,
each elementwise except softmax (over the last axis). `get` turns a name or None into one
(from REGISTRY, where other activations can be registered)."""

import numpy as np

from .registry import Registry


class Activation:
    """The base of the activations: `forward(z) -> a` and `backward(da, a, z) -> dz`."""

    name = None

    def __call__(self, z):
        return self.forward(z)

    def __repr__(self):
        return f"<activation {self.name}>"


class Linear(Activation):
    """The identity: a = z."""

    name = "linear"

    def forward(self, z):
        return z

    def backward(self, da, a, z):
        return da


class ReLU(Activation):
    """max(z, 0); its derivative at 0 is 0, as in Keras and PyTorch."""

    name = "relu"

    def forward(self, z):
        return np.maximum(z, 0)

    def backward(self, da, a, z):
        return da * (z > 0)  # 0 at z = 0, as Keras and PyTorch


class Sigmoid(Activation):
    """1 / (1 + exp(-z)), computed without overflow."""

    name = "sigmoid"

    def forward(self, z):
        # exp of -|z| only: never overflows, and keeps full precision for large negative z
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, da, a, z):
        return da * a * (1 - a)


class Tanh(Activation):
    """The hyperbolic tangent."""

    name = "tanh"

    def forward(self, z):
        return np.tanh(z)

    def backward(self, da, a, z):
        return da * (1 - a * a)


class Softmax(Activation):
    """exp(z) normalised to sum to 1 over the last axis."""

    name = "softmax"

    def forward(self, z):
        e = np.exp(z - np.max(z, axis=-1, keepdims=True))
        return e / np.sum(e, axis=-1, keepdims=True)

    def backward(self, da, a, z):
        # the Jacobian diag(a) - a a^T applied to da, without forming it
        return a * (da - np.sum(da * a, axis=-1, keepdims=True))


def _is_activation(obj):
    return all(callable(getattr(obj, method, None)) for method in ("forward", "backward"))


# One shared instance of each: activations keep no state.
REGISTRY = Registry("activation", _is_activation, default="linear",
                    hint="a name, None or an object with forward(z) and backward(da, a, z)")
for _cls in (Linear, ReLU, Sigmoid, Tanh, Softmax):
    REGISTRY.register(_cls.name, _cls())


def get(identifier):
    """The activation named `identifier` (case-insensitive; None is 'linear'), or `identifier`
    itself if it already has `forward` and `backward`."""
    return REGISTRY.get(identifier)
