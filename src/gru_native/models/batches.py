"""The batches fit, evaluate and predict run on, each ready for the engine as (inputs, targets,
sample weights, mask): arrays converted once and sliced per batch (the fast path), or the
batches of a dataset (a PyDataset, a generator, arrays read with steps_per_epoch) converted one
by one as its background thread delivers them."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Optional

import numpy as np

from ..data import DataAdapter, PyDataset, get_data_adapter

# (inputs, targets, sample weights per output, step mask): targets and weights are None for
# predict, each weight and the mask None when absent
Prepared = tuple[list, Optional[list], Optional[list], Optional[np.ndarray]]


def is_dataset(x: Any) -> bool:
    """Whether x is a dataset (a PyDataset, a generator or another iterable of batches, a list
    of batch tuples) rather than arrays (an array, or a list / tuple / dict of them)."""
    if isinstance(x, (PyDataset, DataAdapter)):
        return True
    if isinstance(x, list):
        return bool(x) and all(isinstance(b, tuple) for b in x)
    if isinstance(x, (np.ndarray, tuple, dict, str, bytes)) or hasattr(x, "__array__"):
        return False
    return hasattr(x, "__iter__")


def read_in_batches(x: Any) -> bool:
    """Whether x is read batch by batch through a data adapter: a dataset, or np.memmap
    arrays (a batch's rows read from the file at a time, never the whole file)."""
    if is_dataset(x):
        return True
    leaves = x.values() if isinstance(x, dict) else x if isinstance(x, (list, tuple)) else [x]
    return any(isinstance(a, np.memmap) for a in leaves)


def sliced(idx, xs, ys, sws, mask) -> Prepared:
    """The batch `idx` (a slice or indices) of each input, target, sample weight and the mask."""
    return ([a[idx] for a in xs], [a[idx] for a in ys],
            [None if w is None else w[idx] for w in sws], None if mask is None else mask[idx])


class ArrayBatches:
    """Converted arrays in batches of batch_size, in a new random order every epoch when
    shuffled (one permutation of the samples, as Keras)."""

    def __init__(self, xs: list, ys: list, sws: list, mask: Optional[np.ndarray],
                 batch_size: int, shuffle: bool = False) -> None:
        self.arrays = (xs, ys, sws, mask)
        self.samples = len(xs[0])
        self.batch_size, self.shuffle = batch_size, shuffle
        self.num_batches = -(-self.samples // batch_size)

    def epoch(self, rng: np.random.Generator) -> Iterator[Prepared]:
        order = rng.permutation(self.samples) if self.shuffle else None
        for start in range(0, self.samples, self.batch_size):
            stop = start + self.batch_size
            yield sliced(slice(start, stop) if order is None else order[start:stop], *self.arrays)

    def on_epoch_end(self) -> None:
        pass


class DatasetBatches:
    """A data adapter's batches, each converted by `prepare(x, y, sample_weight)`."""

    def __init__(self, adapter: DataAdapter, prepare: Callable[[Any, Any, Any], Prepared]) -> None:
        self.adapter, self.prepare = adapter, prepare
        self.num_batches = adapter.num_batches

    def epoch(self, rng: np.random.Generator) -> Iterator[Prepared]:
        with contextlib.closing(self.adapter.epoch_batches(rng)) as batches:
            for x, y, sample_weight in batches:
                yield self.prepare(x, y, sample_weight)

    def on_epoch_end(self) -> None:
        self.adapter.on_epoch_end()


def dataset_batches(x, y, sample_weight, batch_size, steps, shuffle, prepare) -> DatasetBatches:
    return DatasetBatches(get_data_adapter(x, y, sample_weight, batch_size, steps, shuffle),
                          prepare)
