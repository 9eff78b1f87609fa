"""Weight initialisers with Keras' names and formulas. Each fills an array of a given shape from
a NumPy generator; `get` turns a name, a config dict or an instance into one."""

import numpy as np
import threadpoolctl

from .registry import Registry


def _fans(shape):
    """Keras' fan-in and fan-out: the last axis is the output, the rest the input."""
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """The base of the initialisers, which make the initial values of a weight.

    ``initializer(shape, rng)`` returns an array of `shape` drawn with the NumPy generator
    `rng` (a ``numpy.random.Generator``). A subclass registered under a ``name`` can be given
    to a layer by that name (see :func:`~gru_native.initializers.get`).
    """

    name = None

    def __call__(self, shape, rng):
        raise NotImplementedError

    def get_config(self):
        """Return the initializer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            The arguments of its constructor by name (empty for an initializer without
            arguments).
        """
        return {}

    @classmethod
    def from_config(cls, config):
        """Make an initializer from its configuration.

        Parameters
        ----------
        config : dict
            The arguments of the constructor by name, as ``get_config`` returns them.

        Returns
        -------
        Initializer
            ``cls(**config)``.
        """
        return cls(**config)


class Zeros(Initializer):
    """All zeros."""

    name = "zeros"

    def __call__(self, shape, rng):
        return np.zeros(shape)


class Ones(Initializer):
    """All ones."""

    name = "ones"

    def __call__(self, shape, rng):
        return np.ones(shape)


class RandomUniform(Initializer):
    """Draw the values uniformly in [minval, maxval), as ``keras.initializers.RandomUniform``.

    Registered as 'random_uniform' and, as in Keras, 'uniform'.

    Parameters
    ----------
    minval : float, default=-0.05
        The lower bound (included).
    maxval : float, default=0.05
        The upper bound (excluded).
    """

    name = "random_uniform"

    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, shape)

    def get_config(self):
        """Return the initializer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            ``{'minval': ..., 'maxval': ...}``.
        """
        return {"minval": self.minval, "maxval": self.maxval}


class RandomNormal(Initializer):
    """Draw the values from a normal distribution, as ``keras.initializers.RandomNormal``.

    Registered as 'random_normal' and, as in Keras, 'normal'.

    Parameters
    ----------
    mean : float, default=0.0
        The mean of the distribution.
    stddev : float, default=0.05
        The standard deviation of the distribution.
    """

    name = "random_normal"

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, rng):
        return rng.normal(self.mean, self.stddev, shape)

    def get_config(self):
        """Return the initializer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            ``{'mean': ..., 'stddev': ...}``.
        """
        return {"mean": self.mean, "stddev": self.stddev}


class VarianceScaling(Initializer):
    """Draw values of variance ``scale / fan``, as ``keras.initializers.VarianceScaling``.

    The fans are Keras': the last axis of the shape is the output, the rest the input (for a
    shape of more than 2 axes, the leading ones are a receptive field that multiplies both
    fans); a fan below 1 counts as 1. The values are uniform in ``[-limit, limit)`` with
    ``limit = sqrt(3 * scale / fan)``, or normal truncated at two standard deviations and
    rescaled to that variance.

    Parameters
    ----------
    scale : float, default=1.0
        The variance times the fan.
    mode : {'fan_in', 'fan_out', 'fan_avg'}, default='fan_in'
        The fan: the input's, the output's, or their mean.
    distribution : {'truncated_normal', 'uniform'}, default='truncated_normal'
        'uniform', or (any other value) the truncated normal.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal"):
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, rng):
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            limit = np.sqrt(3 * variance)
            return rng.uniform(-limit, limit, shape)
        # a normal truncated at two standard deviations; 0.8796... is its standard deviation
        stddev = np.sqrt(variance) / 0.87962566103423978
        values = rng.normal(0, 1, shape)
        bad = np.abs(values) > 2
        while bad.any():
            values[bad] = rng.normal(0, 1, int(bad.sum()))
            bad = np.abs(values) > 2
        return values * stddev

    def get_config(self):
        """Return the initializer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            ``{'scale': ..., 'mode': ..., 'distribution': ...}``.
        """
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution}


class GlorotUniform(VarianceScaling):
    """Glorot (Xavier) uniform: variance 1 / the mean of fan-in and fan-out."""

    name = "glorot_uniform"

    def __init__(self):
        super().__init__(1.0, "fan_avg", "uniform")

    def get_config(self):
        """Return the initializer's configuration: empty, as it takes no arguments.

        Returns
        -------
        dict
            An empty dict: the scale, the mode and the distribution of Glorot uniform are
            fixed.
        """
        return {}


class GlorotNormal(VarianceScaling):
    """Glorot (Xavier) truncated normal: variance 1 / the mean of fan-in and fan-out."""

    name = "glorot_normal"

    def __init__(self):
        super().__init__(1.0, "fan_avg", "truncated_normal")

    def get_config(self):
        """Return the initializer's configuration: empty, as it takes no arguments.

        Returns
        -------
        dict
            An empty dict: the scale, the mode and the distribution of Glorot normal are
            fixed.
        """
        return {}


class HeUniform(VarianceScaling):
    """He uniform: variance 2 / fan-in."""

    name = "he_uniform"

    def __init__(self):
        super().__init__(2.0, "fan_in", "uniform")

    def get_config(self):
        """Return the initializer's configuration: empty, as it takes no arguments.

        Returns
        -------
        dict
            An empty dict: the scale, the mode and the distribution of He uniform are
            fixed.
        """
        return {}


class HeNormal(VarianceScaling):
    """He truncated normal: variance 2 / fan-in."""

    name = "he_normal"

    def __init__(self):
        super().__init__(2.0, "fan_in", "truncated_normal")

    def get_config(self):
        """Return the initializer's configuration: empty, as it takes no arguments.

        Returns
        -------
        dict
            An empty dict: the scale, the mode and the distribution of He normal are
            fixed.
        """
        return {}


class Orthogonal(Initializer):
    """Draw an orthogonal matrix, as ``keras.initializers.Orthogonal``.

    Keras' QR recipe: the QR decomposition of a normal random matrix gives orthonormal rows
    for a wide shape such as a recurrent kernel's (H, 3H), orthonormal columns for a tall one.
    A shape of more than 2 axes is drawn as a matrix of (the product of the leading axes,
    the last axis).

    Parameters
    ----------
    gain : float, default=1.0
        The factor the orthogonal matrix is multiplied by.
    """

    name = "orthogonal"

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, rng):
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = rng.normal(0, 1, (max(rows, cols), min(rows, cols)))
        # On one thread: after a threaded call NumPy's OpenBLAS threads spin for a while and
        # take cores from the kernels the model then runs (bench/compare.py's first steps).
        with threadpoolctl.threadpool_limits(1, user_api="blas"):
            q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        """Return the initializer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            ``{'gain': ...}``.
        """
        return {"gain": self.gain}


REGISTRY = Registry("initializer", lambda obj: isinstance(obj, Initializer),
                    hint="a name, a config dict or an Initializer")
for _cls in (Zeros, Ones, RandomUniform, RandomNormal, GlorotUniform, GlorotNormal, HeUniform,
             HeNormal, Orthogonal):
    REGISTRY.register(_cls.name, _cls)
REGISTRY.register("uniform", RandomUniform)  # Keras' short names
REGISTRY.register("normal", RandomNormal)


def get(identifier):
    """Return an Initializer from a name, a config dict or an instance.

    Parameters
    ----------
    identifier : str, dict or Initializer
        A name, in any case ('zeros', 'ones', 'random_uniform' or 'uniform', 'random_normal'
        or 'normal', 'glorot_uniform', 'glorot_normal', 'he_uniform', 'he_normal',
        'orthogonal', or another one registered in ``REGISTRY``): a new instance with the
        default settings; a config dict ``{"class_name": name, "config": {...}}``: that
        class's ``from_config(config)``; an :class:`~gru_native.initializers.Initializer`,
        returned as it is.

    Returns
    -------
    Initializer
        The initializer.

    Raises
    ------
    ValueError
        If a name (or a config's ``class_name``) is not registered (the message lists the
        known names).
    TypeError
        If `identifier` is neither a name, a config dict nor an Initializer.
    """
    return REGISTRY.get(identifier)


def to_config(identifier):
    """Return what a layer's config stores for an initializer argument.

    Parameters
    ----------
    identifier : str, dict or Initializer
        The initializer argument, as :func:`~gru_native.initializers.get` takes it.

    Returns
    -------
    str or dict
        A name as it is; otherwise a config dict ``{"class_name": name, "config": {...}}``
        (the initializer's registered name and its ``get_config()``), which
        :func:`~gru_native.initializers.get` turns back into it.

    Raises
    ------
    ValueError
        If a config's ``class_name`` is not registered.
    TypeError
        If `identifier` is neither a name, a config dict nor an Initializer.
    """
    if isinstance(identifier, str):
        return identifier
    initializer = get(identifier)
    return {"class_name": initializer.name, "config": initializer.get_config()}
