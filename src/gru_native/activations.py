"""Output activations with their derivatives: `forward(z) -> a` and `backward(da, a, z) -> dz`,
each elementwise except softmax (over the last axis). `get` turns a name or None into one
(from REGISTRY, where other activations can be registered)."""

import numpy as np

from .registry import Registry


class Activation:
    """The base of the activations: `forward(z) -> a` and `backward(da, a, z) -> dz`.

    Each is elementwise except softmax (over the last axis); calling an activation,
    ``activation(z)``, returns ``forward(z)``.
    """

    name = None

    def __call__(self, z):
        return self.forward(z)

    def __repr__(self):
        return f"<activation {self.name}>"


class Linear(Activation):
    """The identity: a = z."""

    name = "linear"

    def forward(self, z):
        """Return `z` itself.

        Parameters
        ----------
        z : ndarray
            The pre-activation values (the logits).

        Returns
        -------
        ndarray
            `z`, unchanged.
        """
        return z

    def backward(self, da, a, z):
        """Return the gradient with respect to `z`, from the gradient with respect to the output.

        Parameters
        ----------
        da : ndarray
            The gradient with respect to the output ``a``.
        a : ndarray
            The output of ``forward(z)``.
        z : ndarray
            The input of ``forward``.

        Returns
        -------
        ndarray
            `da`, unchanged.
        """
        return da


class ReLU(Activation):
    """The rectified linear unit, ``max(z, 0)``.

    Its derivative at 0 is 0, as in Keras and PyTorch.
    """

    name = "relu"

    def forward(self, z):
        """Return ``max(z, 0)``, elementwise.

        Parameters
        ----------
        z : ndarray
            The pre-activation values (the logits).

        Returns
        -------
        ndarray
            ``max(z, 0)``, of the shape of `z`.
        """
        return np.maximum(z, 0)

    def backward(self, da, a, z):
        """Return the gradient with respect to `z`, from the gradient with respect to the output.

        Parameters
        ----------
        da : ndarray
            The gradient with respect to the output ``a``.
        a : ndarray
            The output of ``forward(z)``.
        z : ndarray
            The input of ``forward``.

        Returns
        -------
        ndarray
            ``da * (z > 0)``, of the shape of `z`: the derivative at 0 is 0, as in
            Keras and PyTorch.
        """
        return da * (z > 0)  # 0 at z = 0, as Keras and PyTorch


class Sigmoid(Activation):
    """1 / (1 + exp(-z)), computed without overflow."""

    name = "sigmoid"

    def forward(self, z):
        """Return ``1 / (1 + exp(-z))``, elementwise, without overflow.

        Parameters
        ----------
        z : ndarray
            The pre-activation values (the logits).

        Returns
        -------
        ndarray
            ``1 / (1 + exp(-z))``, of the shape of `z`; computed from ``exp(-|z|)`` only,
            which never overflows and keeps full precision for large negative `z`.
        """
        # exp of -|z| only: never overflows, and keeps full precision for large negative z
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, da, a, z):
        """Return the gradient with respect to `z`, from the gradient with respect to the output.

        Parameters
        ----------
        da : ndarray
            The gradient with respect to the output ``a``.
        a : ndarray
            The output of ``forward(z)``.
        z : ndarray
            The input of ``forward``.

        Returns
        -------
        ndarray
            ``da * a * (1 - a)``, of the shape of `z`.
        """
        return da * a * (1 - a)


class Tanh(Activation):
    """The hyperbolic tangent."""

    name = "tanh"

    def forward(self, z):
        """Return ``tanh(z)``, elementwise.

        Parameters
        ----------
        z : ndarray
            The pre-activation values (the logits).

        Returns
        -------
        ndarray
            ``tanh(z)``, of the shape of `z`.
        """
        return np.tanh(z)

    def backward(self, da, a, z):
        """Return the gradient with respect to `z`, from the gradient with respect to the output.

        Parameters
        ----------
        da : ndarray
            The gradient with respect to the output ``a``.
        a : ndarray
            The output of ``forward(z)``.
        z : ndarray
            The input of ``forward``.

        Returns
        -------
        ndarray
            ``da * (1 - a * a)``, of the shape of `z`.
        """
        return da * (1 - a * a)


class Softmax(Activation):
    """The softmax: ``exp(z)`` normalised to sum to 1 over the last axis."""

    name = "softmax"

    def forward(self, z):
        """Return ``exp(z)`` normalised to sum to 1 over the last axis.

        Parameters
        ----------
        z : ndarray
            The pre-activation values (the logits).

        Returns
        -------
        ndarray
            ``exp(z) / sum(exp(z))`` over the last axis, of the shape of `z` (computed from
            ``z - max(z)``, which does not overflow).
        """
        e = np.exp(z - np.max(z, axis=-1, keepdims=True))
        return e / np.sum(e, axis=-1, keepdims=True)

    def backward(self, da, a, z):
        """Return the gradient with respect to `z`, from the gradient with respect to the output.

        Parameters
        ----------
        da : ndarray
            The gradient with respect to the output ``a``.
        a : ndarray
            The output of ``forward(z)``.
        z : ndarray
            The input of ``forward``.

        Returns
        -------
        ndarray
            ``a * (da - sum(da * a))``, the sum over the last axis: the Jacobian
            ``diag(a) - a a^T`` applied to `da` (without forming it).
        """
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
    """Return the activation named `identifier`, or `identifier` itself if it is one.

    Parameters
    ----------
    identifier : str, object or None
        A name, in any case: 'linear', 'relu', 'sigmoid', 'tanh', 'softmax' or another one
        registered in ``REGISTRY``; None for 'linear'; or an object with ``forward(z)`` and
        ``backward(da, a, z)`` methods, returned as it is.

    Returns
    -------
    object
        The activation: for a name, the one shared instance registered under it
        (activations keep no state), such as a :class:`~gru_native.activations.ReLU`.

    Raises
    ------
    ValueError
        If `identifier` is a name no activation is registered under (the message lists the
        known names).
    TypeError
        If `identifier` is neither a name, None, nor an object with ``forward`` and
        ``backward``.
    """
    return REGISTRY.get(identifier)
