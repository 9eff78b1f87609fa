"""Streaming: one timestep in, the model's output for it out, with the recurrent states kept
between calls. For real-time use: each step is one call into C (the model's inference plan)
with the states passed in place, so nothing is recomputed and no scratch is allocated."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..validation import c_array
from .plan import why_no_plan

if TYPE_CHECKING:
    from .model import Model


class Stream:
    """Made by `model.stream(batch_size, precision)`. Successive `step` outputs equal what
    `predict` gives on the whole sequence: at every step when the last GRU returns sequences,
    else for the sequence so far. Chains and graphs with one sequence input whose recurrent
    layers all read it step by step (no RepeatVector, initial_state or go_backwards) can stream.

    A float32 stream reads the weights themselves, so it sees every change at once. A bfloat16
    or int8 stream reads packed copies: it packs them again at the first step after the
    package changed the weights (fit and train_on_batch, set_weights, load_weights) or after
    `reset()`; a write you make straight into a weight array reaches it at the next `reset()`
    (comparing every weight at every step would cost more than the step)."""

    def __init__(self, model: Model, batch_size: int, precision: str = "float32"):
        stateful = [layer.name for layer in model.layers if getattr(layer, "stateful", False)]
        if stateful:  # it carries its own states: the plan, which carries the stream's, has no op for it
            raise ValueError(
                f"model {model.name!r} cannot stream: layer {stateful[0]!r} is stateful, and "
                "streaming a stateful model is not supported (a stream carries the recurrent "
                "states itself, from step to step). Stream the same layers built with "
                "stateful=False (copy the weights with set_weights), or call predict_on_batch on "
                "this model one step at a time")
        plan = model.inference_plan(precision)
        if plan is None:
            raise ValueError(f"model {model.name!r} cannot stream: "
                             f"{why_no_plan(model, precision)}")
        if plan.stream_error is not None:
            raise ValueError(f"model {model.name!r} cannot stream: {plan.stream_error}")
        self.model, self.batch_size = model, batch_size
        self._params = model.parameters.params  # the plan points into this buffer
        self._writes = model.parameters.writes  # the package's writes into it, counted
        self._checked = -1  # the count when the reduced weights were last checked
        self._plan = plan
        self._single = len(model.graph.outputs) == 1 and model._output_keys is None
        self._shape = (batch_size, model.graph.inputs[0].shape[-1])
        self._dtype = model.dtype
        self._states = self._plan.new_states(batch_size)  # updated in place by every step

    def step(self, x_t) -> Any:
        """The output for one timestep x_t of shape (batch_size, features): an array (several
        outputs: as the model gives them, each without its time axis)."""
        if self.model.parameters.params is not self._params:
            raise RuntimeError("the model was rebuilt (a layer was added) since this stream was "
                               "made: make a new one with model.stream()")
        if type(x_t) is not np.ndarray or x_t.dtype != self._dtype \
                or not x_t.flags.c_contiguous or not x_t.flags.aligned or x_t.shape != self._shape:
            x_t = self._converted(x_t)
        writes = int(self._writes[0])
        if writes != self._checked and self._plan.precision == "int8":
            self.model.inference_plan("int8")  # after a fit: its calibration, into this plan
        # checks x for NaN and infinity; updates the states
        ys = self._plan.step([x_t], self._states, check_weights=writes != self._checked)
        self._checked = writes
        return ys[0] if self._single else self.model._structured_outputs(ys)

    def _converted(self, x_t) -> np.ndarray:
        """x_t as the plan takes it, or a clear error."""
        x = np.asarray(x_t)
        if x.shape != self._shape:
            raise ValueError(f"x_t must have shape (batch_size, features) = {self._shape}, got "
                             f"{x.shape}")
        if x.dtype.kind not in "biuf":
            raise TypeError(f"x_t must be numeric, got dtype {x.dtype}")
        return c_array(x, self._dtype)

    def reset(self) -> None:
        """Start again from zero states (and, in reduced precision, from the weights as they
        are now, whatever wrote them)."""
        self._states.reset()
        self._checked = -1

    @property
    def states(self) -> list[np.ndarray]:
        """Copies of the current states, (batch_size, units) each: h of every GRU, h and c of
        every LSTM, in the plan's op order."""
        return [a.copy() for a in self._states.arrays]
