"""Optimizers with Keras 3's update formulas, over one flat parameter buffer.

A model keeps all its parameters in one contiguous 1-D array (float32 or float64) and all their
gradients in another of the same layout; `build(params, segments)` tells the optimizer where each
variable lies, and every `apply(params, grads)` is one C call that updates the whole buffer in
place (plus one for the norm when clipping by norm).

    opt = gru_native.optimizers.get("adam")
    opt.build(params, [(0, 12), (12, 48)])   # (offset, size) of each variable
    opt.apply(params, grads)                 # one step; opt.iterations == 1

The learning rate is a float or a `schedules.LearningRateSchedule`, which each step evaluates
once at `iterations`, as Keras does.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Union

import numpy as np

from ..kernels import optim as optim_kernels
from ..registry import Registry
from ..validation import all_finite, check_bool, check_real
from . import schedules
from .schedules import LearningRateSchedule

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "REGISTRY", "get", "serialize",
           "deserialize", "schedules"]

# a float, or a schedule of the step count
LearningRate = Union[float, LearningRateSchedule]

# Keras arguments we accept only at the values that leave Keras' update unchanged, so that a
# Keras optimizer config loads as it is.
_KERAS_INERT = {"use_ema": False, "ema_overwrite_frequency": None, "loss_scale_factor": None,
                "gradient_accumulation_steps": None}
_KERAS_IGNORED = ("ema_momentum",)  # meaningful only with use_ema


# The most steps a restored state may count: far beyond any training, and far from 2**63, past
# which the step counter of the kernels overflows (a state loaded near it breaks the next fit).
MAX_ITERATIONS = 2**53


def _optional_positive(name, value):
    return None if value is None else check_real(value, name, 0, low_open=True)


class Optimizer:
    """The base class of the optimizers: what every optimizer shares.

    The learning rate (a float or a schedule), Keras' clipping (clipnorm per variable,
    global_clipnorm over all, clipvalue per element; at most one of them, as Keras) and weight
    decay (``p -= p * weight_decay * learning_rate`` before the update), the step count, the
    slots, config and state. Subclasses name their slots and run their kernel in ``_update``.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule
        The learning rate, or a schedule evaluated once per step at `iterations`.
    weight_decay : float, optional
        Weight decay: each step first does ``p -= p * weight_decay * learning_rate``.
    clipnorm : float, optional
        Clip each variable's gradient to this norm.
    clipvalue : float, optional
        Clip each gradient element to [-clipvalue, clipvalue].
    global_clipnorm : float, optional
        Clip the gradients to this norm over all variables together. At most one of
        `clipnorm`, `clipvalue` and `global_clipnorm` can be set, as Keras.
    name : str, optional
        The optimizer's name; by default the class name in lower case.
    **kwargs
        Keras arguments accepted for a Keras config to load: ``ema_momentum``, and
        ``use_ema``, ``ema_overwrite_frequency``, ``loss_scale_factor`` and
        ``gradient_accumulation_steps`` at their defaults only.

    Raises
    ------
    ValueError
        For an out-of-range value, more than one clipping argument, or an unknown or
        unsupported keyword argument.
    """

    def __init__(self, learning_rate: LearningRate, weight_decay: Optional[float] = None,
                 clipnorm: Optional[float] = None, clipvalue: Optional[float] = None,
                 global_clipnorm: Optional[float] = None, name: Optional[str] = None,
                 **kwargs: Any) -> None:
        for key, value in kwargs.items():
            if key in _KERAS_IGNORED or (key in _KERAS_INERT and value == _KERAS_INERT[key]):
                continue
            if key in _KERAS_INERT:
                raise ValueError(f"{key}={value!r} is not supported by gru_native optimizers")
            raise ValueError(f"Argument(s) not recognized: {key}={value!r}")
        self._learning_rate = None
        self.learning_rate = learning_rate
        self.weight_decay = (None if weight_decay is None
                             else check_real(weight_decay, "weight_decay", 0))
        self.clipnorm = _optional_positive("clipnorm", clipnorm)
        self.clipvalue = _optional_positive("clipvalue", clipvalue)
        self.global_clipnorm = _optional_positive("global_clipnorm", global_clipnorm)
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of clipnorm, clipvalue and global_clipnorm can be set. "
                             f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        self.name = type(self).__name__.lower() if name is None else str(name)
        self.iterations = 0
        self._slots = None
        self._size = self._dtype = self._segments = None
        self._saved_slots: dict = {}  # the copies `save_step_state` keeps for `undo_step`
        self._saved_iterations = 0

    # -- learning rate: a settable float (ReduceLROnPlateau), or a schedule -------------------

    @property
    def learning_rate(self):
        """The rate of the next step: the float set, or the schedule's value at `iterations`."""
        schedule = self._learning_rate
        if not isinstance(schedule, LearningRateSchedule):
            return schedule
        rate = np.asarray(schedule(self.iterations))  # a Python, NumPy or backend scalar
        return check_real(rate.item() if rate.shape == () else rate,
                          f"learning rate {type(schedule).__name__}(step={self.iterations})", 0)

    @learning_rate.setter
    def learning_rate(self, value):
        """A schedule replaces the rate; a float replaces a float only, as in Keras."""
        if isinstance(value, LearningRateSchedule):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as "
                            "its `learning_rate` constructor argument, hence its learning rate "
                            "is not settable. If you need the learning rate to be settable, you "
                            "should instantiate the optimizer with a float `learning_rate` "
                            "argument.")
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value.item()
        self._learning_rate = check_real(value, "learning_rate", 0)

    # -- building ----------------------------------------------------------------------------

    # the slots that average squared gradients: negative values would make the step NaN
    _non_negative_slots: tuple[str, ...] = ()

    def _slot_names(self):
        """Names of the state arrays this configuration keeps (Keras' names)."""
        return ()

    @property
    def built(self):
        """Whether `build` has made the slots."""
        return self._slots is not None

    def build(self, params, segments=None):
        """Make zeroed slots for a flat buffer laid out like `params`.

        Building again starts afresh (new slots, iterations 0).

        Parameters
        ----------
        params : ndarray of shape (n_params,)
            The flat parameter buffer: 1-D float32 or float64, in native byte order.
        segments : list of (int, int), optional
            The (offset, size) of each variable in `params`; None for one variable over the
            whole buffer.

        Raises
        ------
        TypeError
            If `params` is not a float32 or float64 NumPy array in native byte order.
        ValueError
            If `params` is not 1-D, or for segments that do not fit it.
        """
        if not isinstance(params, np.ndarray):
            raise TypeError(f"params must be a NumPy array, got {type(params).__name__}")
        if params.dtype not in (np.float32, np.float64):  # in native byte order: updated in place
            raise TypeError(f"params must be float32 or float64 in native byte order, got dtype "
                            f"{params.dtype.str}")
        if params.ndim != 1:
            raise ValueError(f"params must be 1-D (one flat buffer), got shape {params.shape}")
        n = params.shape[0]
        self._segments = optim_kernels.check_segments(segments, n)
        self._size, self._dtype = n, params.dtype
        self._slots = {name: np.zeros(n, params.dtype) for name in self._slot_names()}
        self.iterations = 0

    # -- one step ------------------------------------------------------------------------------

    def apply(self, params, grads):
        """Take one step over the whole buffer, in place, at the learning rate of this step.

        Increments `iterations`. With clipnorm the gradients are clipped in place.

        Parameters
        ----------
        params : ndarray of shape (n_params,)
            The parameter buffer, updated in place; laid out as at `build`.
        grads : ndarray of shape (n_params,)
            The gradients, in the same layout and dtype.

        Raises
        ------
        ValueError
            If the optimizer is not built, or for arrays whose shape or dtype differ from the
            buffer's it was built for.
        """
        if not self.built:
            raise ValueError(f"{type(self).__name__} is not built: call build(params, segments) "
                             "before apply")
        for name, a in (("params", params), ("grads", grads)):
            if isinstance(a, np.ndarray) and (a.shape != (self._size,) or a.dtype != self._dtype):
                raise ValueError(f"{name} has shape {a.shape} and dtype {a.dtype}, but the "
                                 f"optimizer was built for ({self._size},) {self._dtype}")
        learning_rate = self.learning_rate  # before any change: a schedule may raise
        scale, clipvalue = 1.0, self.clipvalue or 0.0
        if self.clipnorm is not None:
            optim_kernels.clip_by_norm(grads, self._segments, self.clipnorm)
        elif self.global_clipnorm is not None:
            norm = math.sqrt(float(optim_kernels.sum_squares(grads)[0]))
            c = self.global_clipnorm
            # Keras: c * min(1 / norm, 1 / c), NaN when the norm is not finite
            scale = (c * min(1.0 / norm, 1.0 / c) if norm > 0 else 1.0) if math.isfinite(norm) else math.nan
        self._update(params, grads, dict(learning_rate=learning_rate,
                                         weight_decay=self.weight_decay or 0.0,
                                         grad_scale=scale, clipvalue=clipvalue))
        self.iterations += 1

    def _update(self, params, grads, common):
        """Run the kernel; `common` holds the arguments every kernel takes (learning_rate,
        weight_decay, grad_scale, clipvalue)."""
        raise NotImplementedError

    # -- undoing a step --------------------------------------------------------------------
    # A model undoes a step that made a weight or a slot NaN or infinite: its weights and the
    # optimizer's state both go back, so that what it saves stays loadable and training can
    # resume from the last finite step.

    def save_step_state(self):
        """Copy the slots and the step count aside, for `undo_step`.

        The copies go into buffers kept between steps.
        """
        for name, a in self._slots.items():
            saved = self._saved_slots.get(name)
            if saved is None or saved.shape != a.shape or saved.dtype != a.dtype:
                saved = self._saved_slots[name] = np.empty_like(a)
            np.copyto(saved, a)
        self._saved_iterations = self.iterations

    def undo_step(self):
        """Restore the slots and the step count of the last `save_step_state`."""
        for name, a in self._slots.items():
            np.copyto(a, self._saved_slots[name])
        self.iterations = self._saved_iterations

    def slots_are_finite(self):
        """Tell whether every slot holds only finite values.

        An overflowing gradient can make Adam's velocity infinite while the weights stay
        finite.

        Returns
        -------
        bool
            True when no slot holds NaN or infinity (also before `build`).
        """
        return all(all_finite(a) for a in (self._slots or {}).values())

    # -- config and state ------------------------------------------------------------------

    def get_config(self):
        """Return the hyper-parameters, enough to make the same optimizer afresh.

        Returns
        -------
        dict
            The hyper-parameters (JSON-friendly); a schedule as its config
            {"class_name": ..., "config": ...}.
        """
        learning_rate = self._learning_rate
        if isinstance(learning_rate, LearningRateSchedule):
            learning_rate = schedules.serialize(learning_rate)
        return {"name": self.name, "learning_rate": learning_rate,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}

    @classmethod
    def from_config(cls, config):
        """Create the optimizer of `config`, as Keras' from_config.

        Parameters
        ----------
        config : dict
            The hyper-parameters, as `get_config` returns them; a learning_rate dict is a
            schedule's config, as Keras.

        Returns
        -------
        Optimizer
            A new optimizer (unbuilt).
        """
        if isinstance(config.get("learning_rate"), dict):
            config = {**config, "learning_rate": schedules.deserialize(config["learning_rate"])}
        return cls(**config)

    def get_state(self):
        """Return copies of what training changes: iterations, learning_rate and the slots.

        Returns
        -------
        dict of ndarray
            ``iterations``, ``learning_rate`` and the slots by name (none before `build`).
            With a schedule, learning_rate is its current value, which `set_state` ignores:
            the schedule and iterations give it.
        """
        state = {"iterations": np.array(self.iterations, np.int64),
                 "learning_rate": np.array(self.learning_rate, np.float64)}
        state.update((k, v.copy()) for k, v in (self._slots or {}).items())
        return state

    def state_names(self):
        """Return the keys of `get_state`.

        Returns
        -------
        tuple of str
            'iterations', 'learning_rate' and the slots' names (once built).
        """
        return ("iterations", "learning_rate") + (tuple(self._slots) if self.built else ())

    def set_state(self, state):
        """Restore what `get_state` returned, so that training resumes exactly where it stopped.

        Call it after `build` with the same layout.

        Parameters
        ----------
        state : dict of array-like
            ``iterations``, the slots by name and optionally ``learning_rate`` (ignored with
            a schedule).

        Raises
        ------
        ValueError
            If the optimizer is not built while `state` holds slots, or for missing or
            unexpected keys, an iterations count out of range, or slots of the wrong shape,
            not finite, or negative where they average squared gradients.
        TypeError
            For a slot whose dtype cannot be cast to the buffer's.
        """
        slots = self._slots if self.built else {}
        want = set(slots) | {"iterations"}
        got = set(state)
        if not self.built and got - want - {"learning_rate"}:
            raise ValueError(f"{type(self).__name__} is not built: call build(params, segments) "
                             "before restoring its slots")
        if not want <= got or not got <= want | {"learning_rate"}:
            raise ValueError(f"state must have the keys {sorted(want)} (and optionally "
                             f"'learning_rate'), got {sorted(got)}")
        iterations = np.asarray(state["iterations"])
        if iterations.shape != () or iterations.dtype.kind not in "iu" \
                or not 0 <= iterations <= MAX_ITERATIONS:
            raise ValueError(f"state['iterations'] must be an integer in [0, {MAX_ITERATIONS}], "
                             f"got {state['iterations']!r}")
        arrays = {}
        for name in slots:
            a = np.asarray(state[name])
            if a.shape != (self._size,):
                raise ValueError(f"state[{name!r}] must have shape ({self._size},), got {a.shape}")
            if not np.can_cast(a.dtype, self._dtype, "same_kind"):
                raise TypeError(f"state[{name!r}] has dtype {a.dtype}, which cannot be used as "
                                f"{self._dtype}")
            if not all_finite(a):
                raise ValueError(f"state[{name!r}] holds NaN or infinite values")
            if name in self._non_negative_slots and np.any(a < 0):
                raise ValueError(f"state[{name!r}] holds negative values: it is a running mean "
                                 "of squared gradients")
            arrays[name] = a
        if "learning_rate" in state and not isinstance(self._learning_rate, LearningRateSchedule):
            self.learning_rate = state["learning_rate"]
        for name, a in arrays.items():
            np.copyto(slots[name], a, casting="same_kind")
        self.iterations = int(iterations)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum, as keras.optimizers.SGD.

    Keras' form: ``m = momentum * m - lr * g; p += m`` (nesterov:
    ``p += momentum * m - lr * g``).

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default=0.01
        The learning rate, or a schedule evaluated once per step at `iterations`.
    momentum : float, default=0.0
        The momentum, in [0, 1]; 0 keeps no momentum slot.
    nesterov : bool, default=False
        Use Nesterov momentum.
    weight_decay : float, optional
        Weight decay: each step first does ``p -= p * weight_decay * learning_rate``.
    clipnorm : float, optional
        Clip each variable's gradient to this norm.
    clipvalue : float, optional
        Clip each gradient element to [-clipvalue, clipvalue].
    global_clipnorm : float, optional
        Clip the gradients to this norm over all variables together. At most one of
        `clipnorm`, `clipvalue` and `global_clipnorm` can be set, as Keras.
    name : str, default='SGD'
        The optimizer's name.
    **kwargs
        Keras arguments accepted for a Keras config to load: ``ema_momentum``, and
        ``use_ema``, ``ema_overwrite_frequency``, ``loss_scale_factor`` and
        ``gradient_accumulation_steps`` at their defaults only.

    Raises
    ------
    ValueError
        For an out-of-range value, more than one clipping argument, or an unknown or
        unsupported keyword argument.
    """

    def __init__(self, learning_rate: LearningRate = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: Optional[float] = None,
                 clipnorm: Optional[float] = None, clipvalue: Optional[float] = None,
                 global_clipnorm: Optional[float] = None, name: str = "SGD", **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)
        self.momentum = check_real(momentum, "momentum", 0, 1)
        self.nesterov = check_bool(nesterov, "nesterov")

    def _slot_names(self):
        return ("momentum",) if self.momentum != 0 else ()

    def _update(self, params, grads, common):
        optim_kernels.sgd_update(params, grads, self._slots.get("momentum"), momentum=self.momentum,
                                 nesterov=self.nesterov, **common)

    def get_config(self):
        """Return the hyper-parameters, enough to make the same optimizer afresh.

        Returns
        -------
        dict
            The base hyper-parameters, with momentum and nesterov.
        """
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam, as keras.optimizers.Adam.

    Keras' form (epsilon added to sqrt(v), bias correction in the step size):
    ``lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t); m += (g - m)(1 - beta_1);
    v += (g^2 - v)(1 - beta_2); p -= lr_t m / (sqrt(v) + epsilon)``. amsgrad uses max(v) so
    far.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default=0.001
        The learning rate, or a schedule evaluated once per step at `iterations`.
    beta_1 : float, default=0.9
        The decay rate of the first moment, in [0, 1).
    beta_2 : float, default=0.999
        The decay rate of the second moment, in [0, 1).
    epsilon : float, default=1e-7
        Added to sqrt(v), for numerical stability.
    amsgrad : bool, default=False
        Use the maximum of v so far (AMSGrad).
    weight_decay : float, optional
        Weight decay: each step first does ``p -= p * weight_decay * learning_rate``.
    clipnorm : float, optional
        Clip each variable's gradient to this norm.
    clipvalue : float, optional
        Clip each gradient element to [-clipvalue, clipvalue].
    global_clipnorm : float, optional
        Clip the gradients to this norm over all variables together. At most one of
        `clipnorm`, `clipvalue` and `global_clipnorm` can be set, as Keras.
    name : str, default='adam'
        The optimizer's name.
    **kwargs
        Keras arguments accepted for a Keras config to load: ``ema_momentum``, and
        ``use_ema``, ``ema_overwrite_frequency``, ``loss_scale_factor`` and
        ``gradient_accumulation_steps`` at their defaults only.

    Raises
    ------
    ValueError
        For an out-of-range value, more than one clipping argument, or an unknown or
        unsupported keyword argument.
    """

    def __init__(self, learning_rate: LearningRate = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 weight_decay: Optional[float] = None, clipnorm: Optional[float] = None,
                 clipvalue: Optional[float] = None, global_clipnorm: Optional[float] = None,
                 name: str = "adam", **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)
        self.beta_1 = check_real(beta_1, "beta_1", 0, 1, high_open=True)
        self.beta_2 = check_real(beta_2, "beta_2", 0, 1, high_open=True)
        self.epsilon = check_real(epsilon, "epsilon", 0)
        self.amsgrad = check_bool(amsgrad, "amsgrad")

    _non_negative_slots = ("velocity", "velocity_hat")

    def _slot_names(self):
        return ("momentum", "velocity") + (("velocity_hat",) if self.amsgrad else ())

    def _update(self, params, grads, common):
        s = self._slots
        optim_kernels.adam_update(params, grads, s["momentum"], s["velocity"], s.get("velocity_hat"),
                                  beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
                                  step=self.iterations + 1, **common)

    def get_config(self):
        """Return the hyper-parameters, enough to make the same optimizer afresh.

        Returns
        -------
        dict
            The base hyper-parameters, with beta_1, beta_2, epsilon and amsgrad.
        """
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as keras.optimizers.AdamW.

    Every parameter first decays by ``p * weight_decay * lr``, then takes the Adam step.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default=0.001
        The learning rate, or a schedule evaluated once per step at `iterations`.
    weight_decay : float, default=0.004
        The decoupled weight decay, >= 0 (not None).
    beta_1 : float, default=0.9
        The decay rate of the first moment, in [0, 1).
    beta_2 : float, default=0.999
        The decay rate of the second moment, in [0, 1).
    epsilon : float, default=1e-7
        Added to sqrt(v), for numerical stability.
    amsgrad : bool, default=False
        Use the maximum of v so far (AMSGrad).
    clipnorm : float, optional
        Clip each variable's gradient to this norm.
    clipvalue : float, optional
        Clip each gradient element to [-clipvalue, clipvalue].
    global_clipnorm : float, optional
        Clip the gradients to this norm over all variables together. At most one of
        `clipnorm`, `clipvalue` and `global_clipnorm` can be set, as Keras.
    name : str, default='adamw'
        The optimizer's name.
    **kwargs
        Keras arguments accepted for a Keras config to load: ``ema_momentum``, and
        ``use_ema``, ``ema_overwrite_frequency``, ``loss_scale_factor`` and
        ``gradient_accumulation_steps`` at their defaults only.

    Raises
    ------
    ValueError
        For a weight_decay of None, an out-of-range value, more than one clipping argument,
        or an unknown or unsupported keyword argument.
    """

    def __init__(self, learning_rate: LearningRate = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, clipnorm: Optional[float] = None,
                 clipvalue: Optional[float] = None, global_clipnorm: Optional[float] = None,
                 name: str = "adamw", **kwargs: Any) -> None:
        if weight_decay is None:
            raise ValueError("weight_decay must be a number >= 0 for AdamW, got None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
                         clipnorm, clipvalue, global_clipnorm, name, **kwargs)


class RMSprop(Optimizer):
    """RMSprop, as keras.optimizers.RMSprop.

    Keras' form (epsilon inside the square root): ``v = rho v + (1 - rho) g^2;
    inc = lr g / sqrt(v + epsilon)`` (centered: ``v - avg^2 + epsilon``, with
    ``avg = rho avg + (1 - rho) g``); with momentum > 0: ``mom = momentum mom + inc;
    p -= mom``, else ``p -= inc``.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default=0.001
        The learning rate, or a schedule evaluated once per step at `iterations`.
    rho : float, default=0.9
        The decay rate of the running mean of squared gradients, in [0, 1).
    momentum : float, default=0.0
        The momentum, in [0, 1]; 0 keeps no momentum slot.
    epsilon : float, default=1e-7
        Added to v inside the square root, for numerical stability.
    centered : bool, default=False
        Normalise by the variance of the gradient (its running mean subtracted).
    weight_decay : float, optional
        Weight decay: each step first does ``p -= p * weight_decay * learning_rate``.
    clipnorm : float, optional
        Clip each variable's gradient to this norm.
    clipvalue : float, optional
        Clip each gradient element to [-clipvalue, clipvalue].
    global_clipnorm : float, optional
        Clip the gradients to this norm over all variables together. At most one of
        `clipnorm`, `clipvalue` and `global_clipnorm` can be set, as Keras.
    name : str, default='rmsprop'
        The optimizer's name.
    **kwargs
        Keras arguments accepted for a Keras config to load: ``ema_momentum``, and
        ``use_ema``, ``ema_overwrite_frequency``, ``loss_scale_factor`` and
        ``gradient_accumulation_steps`` at their defaults only.

    Raises
    ------
    ValueError
        For an out-of-range value, more than one clipping argument, or an unknown or
        unsupported keyword argument.
    """

    def __init__(self, learning_rate: LearningRate = 0.001, rho: float = 0.9,
                 momentum: float = 0.0, epsilon: float = 1e-7, centered: bool = False,
                 weight_decay: Optional[float] = None, clipnorm: Optional[float] = None,
                 clipvalue: Optional[float] = None, global_clipnorm: Optional[float] = None,
                 name: str = "rmsprop", **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name,
                         **kwargs)
        self.rho = check_real(rho, "rho", 0, 1, high_open=True)
        self.momentum = check_real(momentum, "momentum", 0, 1)
        self.epsilon = check_real(epsilon, "epsilon", 0)
        self.centered = check_bool(centered, "centered")

    _non_negative_slots = ("velocity",)

    def _slot_names(self):
        return (("velocity",) + (("momentum",) if self.momentum > 0 else ())
                + (("average_gradient",) if self.centered else ()))

    def _update(self, params, grads, common):
        s = self._slots
        optim_kernels.rmsprop_update(params, grads, s["velocity"], s.get("momentum"),
                                     s.get("average_gradient"), rho=self.rho,
                                     momentum=self.momentum, epsilon=self.epsilon, **common)

    def get_config(self):
        """Return the hyper-parameters, enough to make the same optimizer afresh.

        Returns
        -------
        dict
            The base hyper-parameters, with rho, momentum, epsilon and centered.
        """
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


#: The optimizers by name ('sgd', 'adam', 'adamw', 'rmsprop'), for `get` and `deserialize`.
REGISTRY = Registry("optimizer", lambda obj: isinstance(obj, Optimizer),
                    hint="a name, a config dict or an Optimizer")
for _cls in (SGD, Adam, AdamW, RMSprop):
    REGISTRY.register(_cls.__name__.lower(), _cls)


def serialize(optimizer):
    """Return an optimizer's config with its class name.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer.

    Returns
    -------
    dict
        {"class_name": ..., "config": ...}, which `get` and `deserialize` turn back into it.
    """
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    """Create the optimizer of a config with its class name.

    Parameters
    ----------
    config : dict
        {"class_name": ..., "config": ...}, as `serialize` writes it.

    Returns
    -------
    Optimizer
        A new optimizer.

    Raises
    ------
    ValueError
        For a config that is not such a dict, or an unknown class name.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"an optimizer config must be a dict with 'class_name' and 'config', "
                         f"got {config!r}")
    return REGISTRY.get(config)


def get(identifier: Union[str, dict[str, Any], Optimizer]) -> Optimizer:
    """Return an optimizer from a name, a config dict or an optimizer.

    Parameters
    ----------
    identifier : str, dict or Optimizer
        A name ('sgd', 'adam', 'adamw', 'rmsprop', any case; default settings), a config
        dict {"class_name": ..., "config": ...}, or an Optimizer (returned as is).

    Returns
    -------
    Optimizer
        The optimizer.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    TypeError
        For an identifier of another kind.
    """
    return REGISTRY.get(identifier)
