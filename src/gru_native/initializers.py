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
    """The base of the initialisers: `initializer(shape, rng)` returns an array of `shape`
    drawn with the NumPy generator `rng`."""

    name = None

    def __call__(self, shape, rng):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
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
    """Uniform in [minval, maxval)."""

    name = "random_uniform"

    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval}


class RandomNormal(Initializer):
    """Normal with `mean` and `stddev`."""

    name = "random_normal"

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, rng):
        return rng.normal(self.mean, self.stddev, shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


class VarianceScaling(Initializer):
    """Uniform or truncated-normal with variance scale / fan, as keras.initializers."""

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
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution}


class GlorotUniform(VarianceScaling):
    """Glorot (Xavier) uniform: variance 1 / the mean of fan-in and fan-out."""

    name = "glorot_uniform"

    def __init__(self):
        super().__init__(1.0, "fan_avg", "uniform")

    def get_config(self):
        return {}


class GlorotNormal(VarianceScaling):
    """Glorot (Xavier) truncated normal: variance 1 / the mean of fan-in and fan-out."""

    name = "glorot_normal"

    def __init__(self):
        super().__init__(1.0, "fan_avg", "truncated_normal")

    def get_config(self):
        return {}


class HeUniform(VarianceScaling):
    """He uniform: variance 2 / fan-in."""

    name = "he_uniform"

    def __init__(self):
        super().__init__(2.0, "fan_in", "uniform")

    def get_config(self):
        return {}


class HeNormal(VarianceScaling):
    """He truncated normal: variance 2 / fan-in."""

    name = "he_normal"

    def __init__(self):
        super().__init__(2.0, "fan_in", "truncated_normal")

    def get_config(self):
        return {}


class Orthogonal(Initializer):
    """An orthogonal matrix (Keras' QR recipe): orthonormal rows for a wide shape such as a
    recurrent kernel's (H, 3H), orthonormal columns for a tall one."""

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
        return {"gain": self.gain}


REGISTRY = Registry("initializer", lambda obj: isinstance(obj, Initializer),
                    hint="a name, a config dict or an Initializer")
for _cls in (Zeros, Ones, RandomUniform, RandomNormal, GlorotUniform, GlorotNormal, HeUniform,
             HeNormal, Orthogonal):
    REGISTRY.register(_cls.name, _cls)
REGISTRY.register("uniform", RandomUniform)  # Keras' short names
REGISTRY.register("normal", RandomNormal)


def get(identifier):
    """An Initializer from a name ('glorot_uniform', ...), a config dict or an instance."""
    return REGISTRY.get(identifier)


def to_config(identifier):
    """What a layer's config stores for an initializer argument: its name, or a config dict."""
    if isinstance(identifier, str):
        return identifier
    initializer = get(identifier)
    return {"class_name": initializer.name, "config": initializer.get_config()}
