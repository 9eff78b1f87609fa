"""Keras 3's learning-rate schedules: the learning rate as a function of the optimizer's step
count. An optimizer given one as `learning_rate` evaluates it once per step, in Python, at its
`iterations` (the steps taken before this one), and hands that float to its fused update.

    lr = ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.96)
    opt = gru_native.optimizers.SGD(learning_rate=lr)   # steps use lr(0), lr(1), ...

The formulas, arguments and defaults are Keras' (keras/src/optimizers/schedules/
learning_rate_schedule.py); the values are computed in float64, where Keras computes in the
dtype of initial_learning_rate (float32)."""

from __future__ import annotations

import bisect
import math
import numbers
from typing import Any, Optional, Union

from ..registry import Registry
from ..validation import check_bool, check_real

__all__ = ["LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay",
           "PiecewiseConstantDecay", "PolynomialDecay", "CosineDecay", "CosineDecayRestarts",
           "REGISTRY", "serialize", "deserialize", "get"]

Steps = Union[int, float]


def _steps(value, name, positive=True):
    """A step count (> 0, or >= 0 unless positive), kept an int when given one (a float is
    allowed, as in Keras: its InverseTimeDecay example decays every 1.0 steps)."""
    real = check_real(value, name, 0, low_open=positive)
    return int(value) if isinstance(value, numbers.Integral) else real


def _rate(value, name):
    return check_real(value, name, 0)


class LearningRateSchedule:
    """The base class of the learning-rate schedules.

    A subclass returns the rate after `step` steps from ``__call__(step)`` and, to be saved
    with its optimizer, its arguments from `get_config` (registered in `REGISTRY` under its
    class name, so that loading finds it).
    """

    def __call__(self, step: int) -> float:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override "
                                  "`__call__(self, step)`.")

    def get_config(self) -> dict[str, Any]:
        """Return the schedule's arguments, enough to make the same schedule afresh.

        Returns
        -------
        dict
            The arguments by name.

        Raises
        ------
        NotImplementedError
            Unless a subclass overrides it (a schedule without it cannot be saved).
        """
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override "
                                  "`get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        """Create the schedule of `config`, as Keras' from_config.

        Parameters
        ----------
        config : dict
            The arguments, as `get_config` returns them.

        Returns
        -------
        LearningRateSchedule
            A new schedule.
        """
        return cls(**config)

    def __repr__(self):
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            return object.__repr__(self)
        return f"{type(self).__name__}({args})"


class _StepDecay(LearningRateSchedule):
    """What ExponentialDecay and InverseTimeDecay share: their arguments, and the progress
    step / decay_steps, floored with staircase."""

    def __init__(self, initial_learning_rate: float, decay_steps: Steps, decay_rate: float,
                 staircase: bool = False, name: Optional[str] = None) -> None:
        self.initial_learning_rate = _rate(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _steps(decay_steps, "decay_steps")
        self.decay_rate = check_real(decay_rate, "decay_rate", 0)
        self.staircase = check_bool(staircase, "staircase")
        self.name = type(self).__name__ if name is None else name

    def _progress(self, step: int) -> float:
        p = step / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self) -> dict[str, Any]:
        """Return the schedule's arguments, enough to make the same schedule afresh.

        Returns
        -------
        dict
            The arguments: initial_learning_rate, decay_steps, decay_rate, staircase and name.
        """
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_StepDecay):
    """An exponential decay of the learning rate, as keras.optimizers.schedules.ExponentialDecay.

    The rate is ``initial_learning_rate * decay_rate ** (step / decay_steps)``, the exponent
    floored with `staircase` (a decay every `decay_steps` steps).

    Parameters
    ----------
    initial_learning_rate : float
        The rate at step 0, >= 0.
    decay_steps : int or float
        The steps over which the rate decays by `decay_rate`, > 0.
    decay_rate : float
        The decay factor, >= 0.
    staircase : bool, default=False
        Floor the exponent: a decay every `decay_steps` steps.
    name : str, optional
        The schedule's name; by default the class name.
    """

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate * self.decay_rate ** self._progress(step)


class InverseTimeDecay(_StepDecay):
    """An inverse time decay of the learning rate, as keras.optimizers.schedules.InverseTimeDecay.

    The rate is ``initial_learning_rate / (1 + decay_rate * step / decay_steps)``, the
    quotient ``step / decay_steps`` floored with `staircase`.

    Parameters
    ----------
    initial_learning_rate : float
        The rate at step 0, >= 0.
    decay_steps : int or float
        The steps the decay is counted in, > 0 (a float is allowed, as in Keras).
    decay_rate : float
        The decay rate, >= 0.
    staircase : bool, default=False
        Floor the quotient ``step / decay_steps``.
    name : str, optional
        The schedule's name; by default the class name.
    """

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate / (1 + self.decay_rate * self._progress(step))


class PiecewiseConstantDecay(LearningRateSchedule):
    """A piecewise constant learning rate, as keras.optimizers.schedules.PiecewiseConstantDecay.

    The rate is ``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i - 1] < step <= boundaries[i]``, and ``values[-1]`` past
    ``boundaries[-1]``.

    Parameters
    ----------
    boundaries : list of int or float
        The steps where the rate changes: at least one, >= 0, strictly increasing.
    values : list of float
        The rates, >= 0: one more than `boundaries`.
    name : str, default='PiecewiseConstant'
        The schedule's name.

    Raises
    ------
    ValueError
        If `values` does not hold one more entry than `boundaries`, `boundaries` is empty or
        not strictly increasing, or for a negative boundary or value.
    """

    def __init__(self, boundaries: list[Steps], values: list[float],
                 name: Optional[str] = "PiecewiseConstant") -> None:
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of "
                             f"values. Received: boundaries={boundaries} of length "
                             f"{len(boundaries)}, and values={values} of length {len(values)}.")
        if not boundaries:
            raise ValueError("boundaries must hold at least one step, got []")
        for i, b in enumerate(boundaries):
            check_real(b, f"boundaries[{i}]", 0)
        if any(a >= b for a, b in zip(boundaries, boundaries[1:])):
            raise ValueError(f"boundaries must be strictly increasing, got {boundaries}")
        self.boundaries = [int(b) if isinstance(b, numbers.Integral) else float(b)
                           for b in boundaries]
        self.values = [_rate(v, f"values[{i}]") for i, v in enumerate(values)]
        self.name = name

    def __call__(self, step: int) -> float:
        return self.values[bisect.bisect_left(self.boundaries, step)]

    def get_config(self) -> dict[str, Any]:
        """Return the schedule's arguments, enough to make the same schedule afresh.

        Returns
        -------
        dict
            The arguments: boundaries, values and name.
        """
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """A polynomial decay of the learning rate, as keras.optimizers.schedules.PolynomialDecay.

    From `initial_learning_rate` to `end_learning_rate` in `decay_steps` steps:
    ``(initial - end) * (1 - step / decay_steps) ** power + end``, constant at end
    afterwards; with `cycle`, decay_steps grows to the first multiple of itself not below
    step (a new, slower decay from initial at each multiple passed).

    Parameters
    ----------
    initial_learning_rate : float
        The rate at step 0, >= 0.
    decay_steps : int or float
        The steps the decay takes, > 0.
    end_learning_rate : float, default=0.0001
        The rate at the end of the decay, >= 0.
    power : float, default=1.0
        The power of the polynomial, >= 0 (1: a linear decay).
    cycle : bool, default=False
        Decay again, more slowly, past `decay_steps` (see above).
    name : str, default='PolynomialDecay'
        The schedule's name.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: Steps,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: Optional[str] = "PolynomialDecay") -> None:
        self.initial_learning_rate = _rate(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _steps(decay_steps, "decay_steps")
        self.end_learning_rate = _rate(end_learning_rate, "end_learning_rate")
        self.power = check_real(power, "power", 0)
        self.cycle = check_bool(cycle, "cycle")
        self.name = name

    def __call__(self, step: int) -> float:
        decay_steps = self.decay_steps
        if self.cycle:
            decay_steps *= math.ceil(step / decay_steps) if step > 0 else 1
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        return ((self.initial_learning_rate - self.end_learning_rate) * (1 - p) ** self.power
                + self.end_learning_rate)

    def get_config(self) -> dict[str, Any]:
        """Return the schedule's arguments, enough to make the same schedule afresh.

        Returns
        -------
        dict
            The arguments: initial_learning_rate, decay_steps, end_learning_rate, power,
            cycle and name.
        """
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


def _cosine(fraction, alpha):
    """The cosine decay factor, from 1 at fraction 0 to alpha at fraction 1."""
    return (1 - alpha) * 0.5 * (1 + math.cos(math.pi * fraction)) + alpha


class CosineDecay(LearningRateSchedule):
    """A cosine decay of the learning rate, as keras.optimizers.schedules.CosineDecay.

    A cosine decay (Loshchilov & Hutter, SGDR) over `decay_steps` steps, from its start rate
    to `alpha` times it. Without `warmup_target` it starts at `initial_learning_rate`; with
    one, the rate first rises linearly from `initial_learning_rate` to `warmup_target` over
    `warmup_steps` steps (Goyal et al.), then decays from `warmup_target`.

    Parameters
    ----------
    initial_learning_rate : float
        The rate at step 0, >= 0.
    decay_steps : int or float
        The steps the cosine decay takes, > 0.
    alpha : float, default=0.0
        The final rate as a fraction of the start rate, in [0, 1].
    name : str, default='CosineDecay'
        The schedule's name.
    warmup_target : float, optional
        The rate the warmup rises to, >= 0; None for no warmup.
    warmup_steps : int or float, default=0
        The steps the warmup takes, >= 0.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: Steps, alpha: float = 0.0,
                 name: Optional[str] = "CosineDecay", warmup_target: Optional[float] = None,
                 warmup_steps: Steps = 0) -> None:
        self.initial_learning_rate = _rate(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _steps(decay_steps, "decay_steps")
        self.alpha = check_real(alpha, "alpha", 0, 1)
        self.name = name
        self.warmup_steps = _steps(warmup_steps, "warmup_steps", positive=False)
        self.warmup_target = (None if warmup_target is None
                              else _rate(warmup_target, "warmup_target"))

    def __call__(self, step: int) -> float:
        if self.warmup_target is None:
            return self.initial_learning_rate * _cosine(
                min(step, self.decay_steps) / self.decay_steps, self.alpha)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            return ((self.warmup_target - self.initial_learning_rate) * step / self.warmup_steps
                    + self.initial_learning_rate)
        return self.warmup_target * _cosine((step - self.warmup_steps) / self.decay_steps,
                                            self.alpha)

    def get_config(self) -> dict[str, Any]:
        """Return the schedule's arguments, enough to make the same schedule afresh.

        Returns
        -------
        dict
            The arguments: initial_learning_rate, decay_steps, alpha, name, warmup_target
            and warmup_steps.
        """
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decays with warm restarts (SGDR), as keras.optimizers.schedules.CosineDecayRestarts.

    The first period decays from `initial_learning_rate` to `alpha` times it over
    `first_decay_steps` steps; each next period is `t_mul` times longer and starts from
    `m_mul` times the previous start (`alpha` stays a fraction of `initial_learning_rate`, as
    in Keras).

    Parameters
    ----------
    initial_learning_rate : float
        The rate at step 0, >= 0.
    first_decay_steps : int or float
        The steps of the first period, > 0.
    t_mul : float, default=2.0
        How many times longer each period is than the one before; must be >= 1: shorter and
        shorter periods would end the schedule after ``first_decay_steps / (1 - t_mul)``
        steps.
    m_mul : float, default=1.0
        How many times the previous period's start rate each period starts from, >= 0.
    alpha : float, default=0.0
        The lowest rate as a fraction of `initial_learning_rate`, in [0, 1].
    name : str, default='SGDRDecay'
        The schedule's name.
    """

    def __init__(self, initial_learning_rate: float, first_decay_steps: Steps,
                 t_mul: float = 2.0, m_mul: float = 1.0, alpha: float = 0.0,
                 name: Optional[str] = "SGDRDecay") -> None:
        self.initial_learning_rate = _rate(initial_learning_rate, "initial_learning_rate")
        self.first_decay_steps = _steps(first_decay_steps, "first_decay_steps")
        self.t_mul = check_real(t_mul, "t_mul", 1)
        self.m_mul = check_real(m_mul, "m_mul", 0)
        self.alpha = check_real(alpha, "alpha", 0, 1)
        self.name = name

    def _period(self, fraction):
        """(i, fraction of period i done) at `fraction` first periods from the start."""
        t = self.t_mul
        if t == 1:
            i = math.floor(fraction)
            return i, fraction - i
        start = lambda i: (t ** i - 1) / (t - 1)  # noqa: E731  (periods before period i)
        i = math.floor(math.log1p(fraction * (t - 1)) / math.log(t))
        # the logarithm may land a rounding error away from a period's first step
        if start(i) > fraction:
            i -= 1
        elif start(i + 1) <= fraction:
            i += 1
        return i, (fraction - start(i)) / t ** i

    def __call__(self, step: int) -> float:
        i, fraction = self._period(step / self.first_decay_steps)
        cosine = 0.5 * self.m_mul ** i * (1 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict[str, Any]:
        """Return the schedule's arguments, enough to make the same schedule afresh.

        Returns
        -------
        dict
            The arguments: initial_learning_rate, first_decay_steps, t_mul, m_mul, alpha and name.
        """
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


#: The schedules by class name, for `get` and `deserialize`.
REGISTRY = Registry("learning rate schedule", lambda obj: isinstance(obj, LearningRateSchedule),
                    hint="a config dict or a LearningRateSchedule")
for _cls in (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, PolynomialDecay,
             CosineDecay, CosineDecayRestarts):
    REGISTRY.register(_cls.__name__, _cls)


def serialize(learning_rate_schedule: LearningRateSchedule) -> dict[str, Any]:
    """Return a schedule's config with its class name.

    Parameters
    ----------
    learning_rate_schedule : LearningRateSchedule
        The schedule.

    Returns
    -------
    dict
        {"class_name": ..., "config": ...}, which `deserialize` turns back into it.
    """
    return {"class_name": type(learning_rate_schedule).__name__,
            "config": learning_rate_schedule.get_config()}


def deserialize(config: dict[str, Any]) -> LearningRateSchedule:
    """Create the schedule a config with its class name describes.

    Parameters
    ----------
    config : dict
        {"class_name": ..., "config": ...}, as `serialize` writes it (Keras' form, with its
        "module" and "registered_name", loads as well).

    Returns
    -------
    LearningRateSchedule
        A new schedule.

    Raises
    ------
    ValueError
        For a config that is not such a dict, or an unknown class name.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"a learning rate schedule config must be a dict with 'class_name' and "
                         f"'config', got {config!r}")
    return REGISTRY.get(config)


def get(identifier: Union[dict[str, Any], LearningRateSchedule]) -> LearningRateSchedule:
    """Return a schedule from a config dict or a schedule.

    Parameters
    ----------
    identifier : dict or LearningRateSchedule
        A config dict {"class_name": ..., "config": ...}, or a LearningRateSchedule
        (returned as is).

    Returns
    -------
    LearningRateSchedule
        The schedule.

    Raises
    ------
    ValueError
        For an unknown class name.
    TypeError
        For an identifier of another kind.
    """
    return REGISTRY.get(identifier)
