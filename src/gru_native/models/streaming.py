"""Streaming: one timestep in, the model's output for it out, with the recurrent states kept
between calls. For real-time use: each step is one call into C (the model's inference plan)
with the states passed in place, so nothing is recomputed and no scratch is allocated."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .model import Model


class Stream:
    """Made by `model.stream(batch_size)`. Successive `step` outputs equal what `predict`
    gives on the whole sequence: at every step when the last GRU returns sequences, else for
    the sequence so far."""

    def __init__(self, model: Model, batch_size: int):
        plan = model.inference_plan()
        unsupported = [layer.name for layer in model.layers if layer.inference_ops() is None]
        if plan is None or unsupported:
            raise ValueError(f"model {model.name!r} cannot stream: its layers {unsupported or ''} "
                             "are not GRU, LSTM, Dense, Dropout or Activation layers in that order")
        recurrent = [op for op in plan[2] if op[0] in ("gru", "lstm")]
        if any(op[5] if op[0] == "gru" else op[4] for op in recurrent):
            raise ValueError("a recurrent layer with go_backwards=True needs the whole sequence: "
                             "it cannot stream")
        self.model, self.batch_size = model, batch_size
        self._params = model.parameters.params  # the plan points into this buffer
        self._plan, self._post = plan[0], plan[1]
        self._shape, self._dtype = (batch_size, model.input_shape[-1]), model.dtype
        self._states = self._plan.new_states(batch_size)  # updated in place by every step

    def step(self, x_t) -> np.ndarray:
        """The output for one timestep x_t of shape (batch_size, features)."""
        if self.model.parameters.params is not self._params:
            raise RuntimeError("the model was rebuilt (a layer was added) since this stream was "
                               "made: make a new one with model.stream()")
        if type(x_t) is not np.ndarray or x_t.dtype != self._dtype \
                or not x_t.flags.c_contiguous or x_t.shape != self._shape:
            x_t = self._converted(x_t)
        y = self._plan.step(x_t, self._states)  # checks x for NaN and infinity; updates the states
        for f in self._post:
            y = f(y)
        return y

    def _converted(self, x_t) -> np.ndarray:
        """x_t as the plan takes it, or a clear error."""
        x = np.asarray(x_t)
        if x.shape != self._shape:
            raise ValueError(f"x_t must have shape (batch_size, features) = {self._shape}, got "
                             f"{x.shape}")
        if x.dtype.kind not in "biuf":
            raise TypeError(f"x_t must be numeric, got dtype {x.dtype}")
        return np.ascontiguousarray(x, dtype=self._dtype)

    def reset(self) -> None:
        """Start again from zero states."""
        self._states.reset()

    @property
    def states(self) -> list[np.ndarray]:
        """Copies of the current states, (batch_size, units) each: h of every GRU, h and c of
        every LSTM, in layer order."""
        return [a.copy() for a in self._states.arrays]
