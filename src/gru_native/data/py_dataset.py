"""keras.utils.PyDataset: a dataset written in Python, one batch per index."""

from __future__ import annotations

import itertools
import warnings
from typing import Any, Iterator, Optional


class PyDataset:
    """Base class of a dataset that returns whole batches by index, as keras.utils.PyDataset.

    A subclass implements `__len__` (the number of batches) and `__getitem__(index)` (batch
    `index`: `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`), and may override
    `on_epoch_begin` / `on_epoch_end`, or `num_batches` (None for an endless dataset).
    Its `__init__` must call `super().__init__(**kwargs)`: `workers`, `use_multiprocessing`
    and `max_queue_size` configure how fit / evaluate / predict read it (here: `workers`
    threads call `__getitem__`, at most `max_queue_size` batches ahead of training;
    `use_multiprocessing=True` is accepted and uses threads too). A subclass that skips the
    call gets Keras' defaults and Keras' warning when these attributes are first read.
    Iterating a PyDataset by hand reads its batches in order, in the calling thread.

    Parameters
    ----------
    workers : int, default=1
        Threads that call ``__getitem__`` during fit / evaluate / predict.
    use_multiprocessing : bool, default=False
        Accepted for Keras' sake; threads are used too.
    max_queue_size : int, default=10
        The most batches read ahead of training.
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10) -> None:
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _warn_if_super_not_called(self) -> None:
        warn = False
        for name, default in (("_workers", 1), ("_use_multiprocessing", False),
                              ("_max_queue_size", 10)):
            if not hasattr(self, name):
                setattr(self, name, default)
                warn = True
        if warn:
            warnings.warn(
                "Your `PyDataset` class should call `super().__init__(**kwargs)` in its "
                "constructor. `**kwargs` can include `workers`, `use_multiprocessing`, "
                "`max_queue_size`. Do not pass these arguments to `fit()`, as they will be "
                "ignored.", stacklevel=3)

    @property
    def workers(self) -> int:
        """Threads that read batches (settable)."""
        self._warn_if_super_not_called()
        return self._workers

    @workers.setter
    def workers(self, value: int) -> None:
        self._workers = value

    @property
    def use_multiprocessing(self) -> bool:
        """Keras' flag, accepted; threads are used either way (settable)."""
        self._warn_if_super_not_called()
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value: bool) -> None:
        self._use_multiprocessing = value

    @property
    def max_queue_size(self) -> int:
        """The most batches read ahead of training (settable)."""
        self._warn_if_super_not_called()
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value: int) -> None:
        self._max_queue_size = value

    def __getitem__(self, index: int) -> Any:
        """Batch `index`."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[Any]:
        """The batches in order; endlessly when num_batches is None or not implemented."""
        try:
            count = self.num_batches
        except NotImplementedError:
            count = None
        for index in (itertools.count() if count is None else range(count)):
            yield self[index]

    @property
    def num_batches(self) -> Optional[int]:
        """The number of batches, len(self); None for an endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            "You need to implement the `num_batches` property:\n\n"
            "@property\ndef num_batches(self):\n  return ...")

    def on_epoch_begin(self) -> None:
        """Called at the beginning of every epoch."""

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch."""
