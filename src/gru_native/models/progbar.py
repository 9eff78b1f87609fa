"""The progress bar of `fit`, in the format of keras.utils.Progbar:

    12/50 [=====>........................] - ETA: 3s - loss: 0.1234 - mae: 0.0567
    50/50 [==============================] 2s 40ms/step - loss: 0.1201 - val_loss: 0.1302
"""

import math
import os
import sys
import time


def _interactive_stdout():
    """Whether stdout redraws a line on a carriage return: a terminal, a notebook, or PyCharm's
    console. Files, pipes and CI logs would keep every redraw, so they get final lines only."""
    return (
        (hasattr(sys.stdout, "isatty") and sys.stdout.isatty())
        or "ipykernel" in sys.modules
        or "PYCHARM_HOSTED" in os.environ
    )


def _format_eta(seconds):
    whole = int(seconds)  # truncated, as Keras does
    if seconds > 3600:
        return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    if seconds > 60:
        return f"{whole // 60}:{whole % 60:02d}"
    return f"{whole}s"


def _format_step_time(seconds, unit_name):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


def _format_value(value):
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


class Progbar:
    """Progress through `target` steps (None if unknown), written to sys.stdout.

    verbose=1: where stdout is interactive, a bar with the ETA redrawn in place, at most every
    `interval` seconds; then, everywhere, a final line with the elapsed time and the time per
    step. verbose=2: the final line only, without the bar. verbose=0: nothing.

    The values passed to `update` are shown as given: the caller passes running means.
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, unit_name="step"):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self._interactive = _interactive_stdout()
        self._values = {}
        self._start = time.monotonic()
        self._time_after_first_step = None
        self._last_draw = -math.inf
        self._drawn_width = 0

    def update(self, current, values=None, finalize=None):
        """Show that `current` steps are done, with `values`: (name, value) pairs or a dict, which
        replace those of earlier updates by name. `finalize`, by default `current >= target`,
        ends the line with the totals."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if values:
            self._values.update(values)
        now = time.monotonic()
        if current == 1:
            self._time_after_first_step = now

        if self.verbose == 1:
            if finalize:
                elapsed = f" {now - self._start:.0f}s {self._step_time(current, now)}"
                self._write(self._bar(current) + elapsed + self._metrics(), finalize=True)
            elif self._interactive and now - self._last_draw >= self.interval:
                self._write(self._bar(current) + self._eta(current, now) + self._metrics(),
                            finalize=False)
                self._last_draw = now
        elif self.verbose == 2 and finalize:
            line = (f"{self._count(current)} - {now - self._start:.0f}s - "
                    f"{self._step_time(current, now)}{self._metrics()}")
            self._write(line, finalize=True)

    def _count(self, current):
        if not self.target:
            return f"{current:7d}/Unknown"
        return f"{current:{len(str(self.target))}d}/{self.target}"

    def _bar(self, current):
        if not self.target:
            return self._count(current)
        done = min(int(self.width * current / self.target), self.width)
        filled = "=" * done
        if 0 < done and current < self.target:
            filled = filled[:-1] + ">"
        return f"{self._count(current)} [{filled}{'.' * (self.width - done)}]"

    def _eta(self, current, now):
        if not self.target:
            return ""
        remaining = self._seconds_per_step(current, now) * (self.target - current)
        return f" - ETA: {_format_eta(remaining)}"

    def _step_time(self, current, now):
        return _format_step_time(self._seconds_per_step(current, now), self.unit_name)

    def _seconds_per_step(self, current, now):
        # The first step (warm-up, allocations) is left out of the estimate once there are others.
        if current <= 0:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            return (now - self._time_after_first_step) / (current - 1)
        return (now - self._start) / current

    def _metrics(self):
        return "".join(f" - {name}: {_format_value(value)}" for name, value in self._values.items())

    def _write(self, line, finalize):
        text = line
        if self._drawn_width:
            # Over the live line: back to its start, and blank the tail it would leave if longer.
            text = "\r" + line + " " * (self._drawn_width - len(line))
        if finalize:
            text += "\n"
        sys.stdout.write(text)
        sys.stdout.flush()
        self._drawn_width = 0 if finalize else len(line)
