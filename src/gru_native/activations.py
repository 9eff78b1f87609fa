"""Output activations with their derivatives: `forward(z) -> a` and `backward(da, a, z) -> dz`,
each elementwise except softmax (over the last axis). `get` turns a name or None into one."""

import numpy as np


class Activation:
    name = None

    def __call__(self, z):
        return self.forward(z)

    def __repr__(self):
        return f"<activation {self.name}>"


class Linear(Activation):
    name = "linear"

    def forward(self, z):
        return z

    def backward(self, da, a, z):
        return da


class ReLU(Activation):
    name = "relu"

    def forward(self, z):
        return np.maximum(z, 0)

    def backward(self, da, a, z):
        return da * (z > 0)  # 0 at z = 0, as Keras and PyTorch


class Sigmoid(Activation):
    name = "sigmoid"

    def forward(self, z):
        # exp of -|z| only: never overflows, and keeps full precision for large negative z
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, da, a, z):
        return da * a * (1 - a)


class Tanh(Activation):
    name = "tanh"

    def forward(self, z):
        return np.tanh(z)

    def backward(self, da, a, z):
        return da * (1 - a * a)


class Softmax(Activation):
    name = "softmax"

    def forward(self, z):
        e = np.exp(z - np.max(z, axis=-1, keepdims=True))
        return e / np.sum(e, axis=-1, keepdims=True)

    def backward(self, da, a, z):
        # the Jacobian diag(a) - a a^T applied to da, without forming it
        return a * (da - np.sum(da * a, axis=-1, keepdims=True))


_BY_NAME = {cls.name: cls() for cls in (Linear, ReLU, Sigmoid, Tanh, Softmax)}


def get(identifier):
    """The activation named `identifier` (case-insensitive; None is 'linear'), or `identifier`
    itself if it already has `forward` and `backward`."""
    if identifier is None:
        return _BY_NAME["linear"]
    if isinstance(identifier, str):
        if identifier.lower() not in _BY_NAME:
            raise ValueError(f"unknown activation {identifier!r}; "
                             f"known: {', '.join(sorted(_BY_NAME))}")
        return _BY_NAME[identifier.lower()]
    if all(callable(getattr(identifier, method, None)) for method in ("forward", "backward")):
        return identifier
    raise TypeError(f"an activation must be a name, None or an object with forward(z) and "
                    f"backward(da, a, z); got {identifier!r}")
