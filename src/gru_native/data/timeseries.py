"""keras.utils.timeseries_dataset_from_array over views of the series: no copy of every
window, only the windows of the batch being read."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .py_dataset import PyDataset


def _as_array(a: Any) -> np.ndarray:
    """`a` as an array, an ndarray (np.memmap included) as it is: read only where indexed."""
    return a if isinstance(a, np.ndarray) else np.asarray(a)


class TimeseriesDataset(PyDataset):
    """The windows of timeseries_dataset_from_array: batch i gathers its windows (and
    targets) from the series when read, so memory is the series plus one batch."""

    def __init__(self, data: np.ndarray, targets: Optional[np.ndarray], positions: Any,
                 sequence_length: int, sampling_rate: int, batch_size: Optional[int]) -> None:
        super().__init__()
        self.data, self.targets = data, targets
        # start of every window, relative to start_index: a range, or the shuffled array
        self.positions = positions
        self.steps = np.arange(sequence_length) * sampling_rate
        self.batch_size = batch_size

    def __len__(self) -> int:
        if self.batch_size is None:
            return len(self.positions)
        return -(-len(self.positions) // self.batch_size)

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        if self.batch_size is None:  # one window, as Keras' unbatched dataset
            starts = np.asarray(self.positions[index])
        else:
            starts = np.asarray(self.positions[index * self.batch_size:(index + 1) * self.batch_size])
        x = self.data[starts[..., None] + self.steps]
        if self.targets is None:
            return x
        return x, self.targets[starts]


def timeseries_dataset_from_array(data: Any, targets: Any, sequence_length: int,
                                  sequence_stride: int = 1, sampling_rate: int = 1,
                                  batch_size: Optional[int] = 128, shuffle: bool = False,
                                  seed: Optional[int] = None, start_index: Optional[int] = None,
                                  end_index: Optional[int] = None) -> TimeseriesDataset:
    """Make sliding windows over a series, as keras.utils.timeseries_dataset_from_array.

    Window j starts at step ``start_index + p_j``, ``p_j = j * sequence_stride``, and takes
    `sequence_length` steps `sampling_rate` apart; its target is
    ``targets[start_index + p_j]``. Windows stop before end_index (exclusive) and, with
    targets, at len(targets) windows, as in Keras. The same argument checks and messages as
    Keras.

    Parameters
    ----------
    data : array-like
        The series, time on axis 0 (an np.memmap is read only where a batch falls).
    targets : array-like or None
        The target of each step, or None for windows alone.
    sequence_length : int
        Steps per window, > 0.
    sequence_stride : int, default=1
        Steps between the starts of two windows, > 0.
    sampling_rate : int, default=1
        Steps between two steps of a window, > 0.
    batch_size : int or None, default=128
        Windows per batch; None for one window per item.
    shuffle : bool, default=False
        Shuffle the window start positions once, with ``np.random.default_rng(seed)``, as
        Keras does with its own generator (a seeded order differs from Keras'); Keras'
        tf.data also reshuffles within a buffer of 8 batches each epoch, which this dataset
        does not (fit's shuffle reorders its batches each epoch instead).
    seed : int, optional
        The seed of the shuffle.
    start_index : int, optional
        The first step windows start at (default 0).
    end_index : int, optional
        The step windows stop before (exclusive); by default the end of `data`.

    Returns
    -------
    PyDataset
        A dataset whose batches are (windows, targets), or windows alone when `targets` is
        None. It gathers a batch's windows from `data` when the batch is read: memory is the
        series plus one batch, never every window.

    Raises
    ------
    ValueError
        For arguments out of range (Keras' checks and messages), or targets too short for
        the last window.
    """
    data = _as_array(data)
    if sequence_length <= 0:  # Keras does not check: its windows come out empty
        raise ValueError("`sequence_length` must be higher than 0. Received: "
                         f"sequence_length={sequence_length}")
    if start_index:
        if start_index < 0:
            raise ValueError("`start_index` must be 0 or greater. Received: "
                             f"start_index={start_index}")
        if start_index >= len(data):
            raise ValueError("`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length {len(data)}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError("`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index} ")
        if end_index >= len(data):
            raise ValueError("`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {len(data)}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    if sampling_rate <= 0:
        raise ValueError("`sampling_rate` must be higher than 0. Received: "
                         f"sampling_rate={sampling_rate}")
    if sampling_rate >= len(data):
        raise ValueError("`sampling_rate` must be lower than the length of the data. Received: "
                         f"sampling_rate={sampling_rate}, for data of length {len(data)}")
    if sequence_stride <= 0:
        raise ValueError("`sequence_stride` must be higher than 0. Received: "
                         f"sequence_stride={sequence_stride}")
    if sequence_stride >= len(data):
        raise ValueError("`sequence_stride` must be lower than the length of the data. "
                         f"Received: sequence_stride={sequence_stride}, for data of length {len(data)}")

    start = start_index or 0
    end = len(data) if end_index is None else end_index
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = _as_array(targets)
        num_seqs = min(num_seqs, len(targets))
    positions = range(0, max(num_seqs, 0), sequence_stride)
    if targets is not None and positions and start + positions[-1] >= len(targets):
        # Keras fails here only when the batch is read
        raise ValueError(f"targets has {len(targets)} steps: too few for the window starting "
                         f"at step {start + positions[-1]}, which needs targets[{start + positions[-1]}]")
    if shuffle:
        # the narrowest integers for the start positions, as Keras (memory)
        order = np.arange(len(positions), dtype=np.int32 if num_seqs < 2**31 - 1 else np.int64)
        np.random.default_rng(seed).shuffle(order)
        positions = order * sequence_stride if sequence_stride > 1 else order
    data = data[start:end]  # a view: windows index from start_index
    if targets is not None:
        targets = targets[start:]
    return TimeseriesDataset(data, targets, positions, sequence_length, sampling_rate, batch_size)
