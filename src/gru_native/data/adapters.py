"""The batches of fit / evaluate / predict from arrays, a PyDataset or a generator, as Keras 3's
data adapters and epoch iterator, read in a background thread while the caller trains.

Every adapter yields (x, y, sample_weight) tuples, y and sample_weight None when absent; x
(and y, sample_weight) an array, or a list / tuple / dict of arrays for several inputs.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import itertools
import math
import statistics
import time
import warnings
from typing import Any, Callable, Iterable, Iterator, Optional, Union

import numpy as np

from .py_dataset import PyDataset

Batch = tuple[Any, Any, Any]
Shuffle = Union[bool, str]

_END = object()  # what a read past the end of a generator returns
# Batches that read faster than this (the median of the first few reads) are read in the
# caller's thread: handing each to a background thread costs more than that (a wake-up per
# batch, and a third busy thread beside the kernels' OpenMP team on a small machine).
_INLINE_READ_SECONDS = 1e-4
_TIMED_READS = 5


def _map(fn: Callable[[Any], Any], tree: Any) -> Any:
    """`fn` on every array of a structure (None, an array, a list / tuple / dict of them)."""
    if tree is None:
        return None
    if isinstance(tree, dict):
        return {k: _map(fn, v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_map(fn, v) for v in tree)
    return fn(tree)


def _leaves(tree: Any, path: str) -> list[tuple[str, Any]]:
    """(name, array) of every array of a structure, named like x, x[0], x['a']."""
    if tree is None:
        return []
    if isinstance(tree, dict):
        return [leaf for k, v in tree.items() for leaf in _leaves(v, f"{path}[{k!r}]")]
    if isinstance(tree, (list, tuple)):
        return [leaf for i, v in enumerate(tree) for leaf in _leaves(v, f"{path}[{i}]")]
    return [(path, tree)]


def _as_array(a: Any) -> np.ndarray:
    return a if isinstance(a, np.ndarray) else np.asarray(a)


def _interrupted_warning() -> None:
    warnings.warn(
        "Your input ran out of data; interrupting training. Make sure that your dataset or "
        "generator can generate at least `steps_per_epoch * epochs` batches. You may need to "
        "use the `.repeat()` function when building your dataset.", stacklevel=3)


def _unsupported(arg: str, description: str, kind: str) -> ValueError:
    return ValueError(f"When providing `x` as a {kind}, `{arg}` should not be passed. Instead, "
                      f"{description} should be included as part of the {kind}.")


class DataAdapter:
    """Batches epoch after epoch, as Keras' DataAdapter and EpochIterator together.

    An epoch reads `steps_per_epoch` batches, or one pass over the data when it is None. With
    steps_per_epoch, as in Keras, an epoch resumes the pass where the previous one stopped (a
    generator is consumed across epochs) and a new pass (reshuffled) starts once one is
    used up; a pass that runs out within an epoch ends the epoch early with Keras' warning
    "Your input ran out of data", and so does an epoch that finds no batch at all (a
    generator used up in an earlier epoch).

    Batches are read by `workers` background threads (one for a generator), at most
    `max_queue_size` ahead of the caller, and come out in the data's order; batches that read
    in under ``_INLINE_READ_SECONDS`` (slices of arrays in memory: the first reads are timed in
    the caller's thread) are read by the caller, just before it takes them. An exception
    raised reading a batch is raised again, with its traceback, where the caller takes that
    batch. A caller that stops early (break, an exception, KeyboardInterrupt) stops the
    threads as the iterator closes (use contextlib.closing(...) to close it at once);
    batches read ahead stay for the next epoch.

    Parameters
    ----------
    steps_per_epoch : int, optional
        Batches per epoch; None for one pass over the data.
    workers : int, default=1
        Background threads that read batches (at least 1).
    max_queue_size : int, default=10
        The most batches read ahead of the caller (at least 1).
    """

    def __init__(self, steps_per_epoch: Optional[int] = None, workers: int = 1,
                 max_queue_size: int = 10) -> None:
        self.steps_per_epoch = steps_per_epoch
        self._workers = max(1, workers)
        self._max_queue_size = max(1, max_queue_size)
        self._pass: Optional[Iterator[tuple[int, Callable[[], Any]]]] = None
        # of the current pass, read ahead but not taken: (label, reader, finished future)
        self._ahead: collections.deque = collections.deque()
        self._taken_in_pass = 0
        self._x_shapes: Optional[dict[str, tuple[int, ...]]] = None
        self._within_epoch = False
        self._read_seconds: list[float] = []  # of the first reads, timed in the caller's thread
        self._inline: Optional[bool] = None  # whether the caller reads; None: still timing

    @property
    def num_batches(self) -> Optional[int]:
        """Batches in an epoch: steps_per_epoch, or those of one pass (None: unknown)."""
        return self.steps_per_epoch or self._pass_size()

    def epoch_batches(self, rng: Optional[np.random.Generator] = None) -> Iterator[Batch]:
        """Yield the (x, y, sample_weight) batches of one epoch.

        Call `on_epoch_end` after the epoch.

        Parameters
        ----------
        rng : numpy.random.Generator, optional
            Shuffles a new pass; by default a fresh ``np.random.default_rng()``.

        Yields
        ------
        tuple
            (x, y, sample_weight), y and sample_weight None when absent.

        Raises
        ------
        ValueError
            If the previous epoch was not ended with `on_epoch_end`, for a batch that does
            not fit the earlier ones, or for an empty generator.
        """
        if self._within_epoch:
            raise ValueError("`on_epoch_begin` was called twice without `on_epoch_end` "
                             "having been called.")
        self._within_epoch = True
        self._on_epoch_begin()
        if self.steps_per_epoch is None or self._pass is None:
            if not self._resumes():
                self._ahead.clear()
            self._pass = self._new_pass(np.random.default_rng() if rng is None else rng)
            self._taken_in_pass = 0
        limit = self.steps_per_epoch
        taken, ran_out = 0, False
        queued: collections.deque = collections.deque()
        pool = None
        try:
            while limit is None or taken < limit:
                # the caller reads one batch at a time: a generator is never read by two threads
                ahead = self._max_queue_size if self._inline is False else 1
                while len(queued) < ahead and (limit is None or taken + len(queued) < limit):
                    if self._ahead:
                        label, read, future = self._ahead.popleft()
                    else:
                        label, read = next(self._pass, (None, None))
                        if read is None:
                            break
                        future = None
                    if future is None and self._inline is False:
                        if pool is None:
                            pool = concurrent.futures.ThreadPoolExecutor(self._workers,
                                                                         "gru_native_data")
                        future = pool.submit(read)
                    queued.append((label, read, future))
                if not queued:
                    ran_out = True
                    break
                label, read, future = queued.popleft()
                # raises the reader's exception here, in order
                raw = self._timed_read(read) if future is None else future.result()
                if raw is _END:
                    ran_out = True
                    break
                taken += 1
                self._taken_in_pass += 1
                yield self._standardize(raw, label)
        finally:
            # cancel what is queued but not started, finish what is: both stay for later
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            if not ran_out:
                self._ahead.extendleft(reversed([(label, read, None if f is None or f.cancelled() else f)
                                                 for label, read, f in queued]))
        size = self._pass_size()
        if ran_out or (size is not None and self._taken_in_pass >= size and not self._ahead):
            self._pass = None  # the next epoch starts a new pass
        if ran_out:
            error = self._empty_error() if taken == 0 else None
            if error is not None:
                raise error
            if taken == 0 or (limit is not None and taken < limit):
                _interrupted_warning()

    def on_epoch_end(self) -> None:
        """End the epoch begun by `epoch_batches` (a PyDataset's on_epoch_end is called)."""
        self._within_epoch = False

    def _timed_read(self, read: Callable[[], Any]) -> Any:
        """read() in the caller's thread; the first _TIMED_READS decide who reads the rest."""
        if self._inline is not None:
            return read()
        start = time.perf_counter()
        raw = read()
        self._read_seconds.append(time.perf_counter() - start)
        if len(self._read_seconds) == _TIMED_READS:
            self._inline = statistics.median(self._read_seconds) < _INLINE_READ_SECONDS
        return raw

    # ---- what each kind of data defines -------------------------------------------------
    def _on_epoch_begin(self) -> None:
        pass

    def _pass_size(self) -> Optional[int]:
        raise NotImplementedError

    def _resumes(self) -> bool:
        """Whether a new pass continues the last one (an iterator): what it read ahead stays."""
        return False

    def _new_pass(self, rng: np.random.Generator) -> Iterator[tuple[int, Callable[[], Any]]]:
        """(label, reader) of each batch of a pass, in order: reader() returns the batch."""
        raise NotImplementedError

    def _standardize(self, raw: Any, label: int) -> Batch:
        return raw

    def _empty_error(self) -> Optional[ValueError]:
        """The error of a pass without a batch, None for Keras' warning instead."""
        return None

    def _checked(self, batch: tuple, label: int) -> Batch:
        """(x, y, sample_weight) of a user's batch as arrays, checked: every array of the batch
        has one length, and x's arrays keep the shape after the batch axis of earlier batches."""
        x, y, sw = (tuple(batch) + (None, None))[:3]
        x, y, sw = (_map(_as_array, part) for part in (x, y, sw))
        parts = _leaves(x, "x") + _leaves(y, "y") + _leaves(sw, "sample_weight")
        if not _leaves(x, "x"):
            raise ValueError(f"batch {label} has no input array: {str(batch)[:100]}")
        for name, a in parts:
            if a.ndim == 0:
                raise ValueError(f"batch {label}: {name} is a scalar; every array of a batch "
                                 "needs a batch axis")
        name0, a0 = parts[0]
        for name, a in parts[1:]:
            if len(a) != len(a0):
                raise ValueError(f"batch {label}: {name0} has {len(a0)} samples but {name} has "
                                 f"{len(a)}; the arrays of a batch need one length")
        shapes = {name: a.shape[1:] for name, a in _leaves(x, "x")}
        if self._x_shapes is None:
            self._x_shapes = shapes
        elif shapes.keys() != self._x_shapes.keys():
            raise ValueError(f"batch {label} has inputs {sorted(shapes)}, earlier batches had "
                             f"{sorted(self._x_shapes)}")
        else:
            for name, shape in shapes.items():
                before = self._x_shapes[name]
                if shape == before:
                    continue
                if len(shape) == len(before) and shape[:-1] == before[:-1]:
                    raise ValueError(f"batch {label} has {shape[-1]} features in {name}, "
                                     f"earlier batches had {before[-1]}")
                raise ValueError(f"batch {label}: {name} has shape {shape} after the batch "
                                 f"axis, earlier batches had {before}")
        return x, y, sw


class ArrayDataAdapter(DataAdapter):
    """The batches of arrays, as Keras' ArrayDataAdapter.

    Arrays: an array, or a list / tuple / dict of arrays for several inputs or outputs, cut
    into batches of `batch_size` samples, the last one smaller.

    Parameters
    ----------
    x : array-like, or list, tuple or dict of array-like
        The inputs.
    y : array-like, or list, tuple or dict of array-like, optional
        The targets.
    sample_weight : array-like, or list, tuple or dict of array-like, optional
        The sample weights.
    batch_size : int, optional
        Samples per batch; by default ceil(samples / steps_per_epoch) with
        `steps_per_epoch`, else 32.
    steps_per_epoch : int, optional
        Batches per epoch; None for one pass over the data.
    shuffle : bool or 'batch', default=False
        True takes a new permutation of the samples every pass; 'batch' shuffles within
        each batch only (cheap for an np.memmap, read a batch at a time: an array is indexed
        per batch, never loaded whole).

    Raises
    ------
    ValueError
        For another `shuffle`, no array in x, or arrays with different numbers of samples.
    """

    def __init__(self, x: Any, y: Any = None, sample_weight: Any = None,
                 batch_size: Optional[int] = None, steps_per_epoch: Optional[int] = None,
                 shuffle: Shuffle = False) -> None:
        super().__init__(steps_per_epoch)
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"shuffle must be True, False or 'batch', got {shuffle!r}")
        self._data = tuple(_map(_as_array, part) for part in (x, y, sample_weight))
        sizes = {name: len(a) if a.ndim else None
                 for name, a in _leaves(self._data[0], "x") + _leaves(self._data[1], "y")
                 + _leaves(self._data[2], "sample_weight")}
        if not sizes:
            raise ValueError("x holds no array")
        if None in sizes.values() or len(set(sizes.values())) > 1:
            listed = ", ".join(f"{name}: {n}" for name, n in sizes.items())
            raise ValueError("Data cardinality is ambiguous. Make sure all arrays contain the "
                             f"same number of samples. Samples of each array: {listed}")
        self.num_samples = next(iter(sizes.values()))
        if not batch_size:
            batch_size = math.ceil(self.num_samples / steps_per_epoch) if steps_per_epoch else 32
        self.batch_size = batch_size
        self.shuffle = shuffle

    def _pass_size(self) -> int:
        return math.ceil(self.num_samples / self.batch_size)

    def _new_pass(self, rng: np.random.Generator) -> Iterator[tuple[int, Callable[[], Any]]]:
        order = rng.permutation(self.num_samples) if self.shuffle is True else None
        for i in range(self._pass_size()):
            start, stop = i * self.batch_size, min((i + 1) * self.batch_size, self.num_samples)
            if order is not None:
                rows = order[start:stop]
            elif self.shuffle == "batch":
                rows = rng.permutation(stop - start) + start
            else:
                rows = slice(start, stop)
            yield i, (lambda rows=rows: self._rows(rows))

    def _rows(self, rows: Union[slice, np.ndarray]) -> Batch:
        """The batch of `rows`: views of in-memory arrays, a read of an np.memmap's rows."""
        def take(a):
            part = a[rows]
            return np.array(part) if isinstance(a, np.memmap) else part
        return tuple(_map(take, part) for part in self._data)


class PyDatasetAdapter(DataAdapter):
    """The batches of a PyDataset, as Keras' PyDatasetAdapter.

    The dataset's `workers` threads read batches (threads also for
    use_multiprocessing=True), at most its `max_queue_size` ahead. on_epoch_begin /
    on_epoch_end of the dataset are called every epoch.

    Parameters
    ----------
    dataset : PyDataset
        The dataset.
    steps_per_epoch : int, optional
        Batches per epoch; None for one pass over the dataset.
    shuffle : bool, default=False
        Reorder a finite dataset's batches every pass, as Keras (an endless one: ignored,
        with Keras' warning).

    Raises
    ------
    ValueError
        For a dataset of length 0.
    """

    def __init__(self, dataset: PyDataset, steps_per_epoch: Optional[int] = None,
                 shuffle: bool = False) -> None:
        super().__init__(steps_per_epoch, dataset.workers, dataset.max_queue_size)
        self.dataset = dataset
        if dataset.num_batches == 0:
            raise ValueError("The PyDataset has length 0")
        if dataset.num_batches is None and shuffle:
            warnings.warn("`shuffle=True` was passed, but will be ignored since the data `x` was "
                          "provided as an infinite PyDataset. The PyDataset is expected to "
                          "already be shuffled.", stacklevel=3)
        self.shuffle = bool(shuffle)

    def _on_epoch_begin(self) -> None:
        self.dataset.on_epoch_begin()

    def on_epoch_end(self) -> None:
        """End the epoch begun by `epoch_batches`, calling the dataset's on_epoch_end."""
        self.dataset.on_epoch_end()
        super().on_epoch_end()

    def _pass_size(self) -> Optional[int]:
        return self.dataset.num_batches

    def _new_pass(self, rng: np.random.Generator) -> Iterator[tuple[int, Callable[[], Any]]]:
        count = self.dataset.num_batches
        if count is None:
            indices: Iterable[int] = itertools.count()
        else:
            indices = rng.permutation(count).tolist() if self.shuffle else range(count)
        for i in indices:
            yield i, (lambda i=i: self.dataset[i])

    def _standardize(self, raw: Any, label: int) -> Batch:
        """Keras' rule: a dict or an array is x; a list, a tuple; of 1 to 3 elements."""
        if isinstance(raw, (dict, np.ndarray)):
            raw = (raw,)
        if isinstance(raw, list):
            raw = tuple(raw)
        if not isinstance(raw, tuple) or len(raw) not in (1, 2, 3):
            raise ValueError(
                "PyDataset.__getitem__() must return a tuple or a dict. If a tuple, it must be "
                "ordered either (input,) or (inputs, targets) or (inputs, targets, "
                f"sample_weights). Received: {str(raw)[:100]}... of type {type(raw)} "
                f"(batch {label})")
        return self._checked(raw, label)


class GeneratorDataAdapter(DataAdapter):
    """The batches of a generator or another iterable, as Keras' GeneratorDataAdapter.

    One background thread reads it, batch after batch.

    Parameters
    ----------
    source : iterable
        A Python generator or iterator (consumed across epochs, as Keras), or an iterable
        that is not an iterator, e.g. a list of batches (read anew every epoch), of (x,),
        (x, y) or (x, y, sample_weight) tuples.
    steps_per_epoch : int, optional
        Batches per epoch; None for one pass (until the iterator ends).
    """

    def __init__(self, source: Iterable[Any], steps_per_epoch: Optional[int] = None) -> None:
        super().__init__(steps_per_epoch)
        self.source = source
        self._count = 0  # batches read from the current iterator: the labels of errors
        self._fresh = True  # the current pass is the first read of its iterator

    def _pass_size(self) -> Optional[int]:
        return None

    def _resumes(self) -> bool:
        return iter(self.source) is self.source

    def _new_pass(self, rng: np.random.Generator) -> Iterator[tuple[int, Callable[[], Any]]]:
        iterator = iter(self.source)
        if iterator is not self.source:  # an iterable read anew
            self._count = 0
        self._fresh = self._count == 0
        return self._reads(functools.partial(next, iterator, _END))

    def _reads(self, read: Callable[[], Any]) -> Iterator[tuple[int, Callable[[], Any]]]:
        while True:
            self._count += 1
            yield self._count - 1, read

    def _empty_error(self) -> Optional[ValueError]:
        if not self._fresh:
            return None
        return ValueError("When passing a Python generator to a Keras model, the generator must "
                          "yield at least one batch. Received an empty generator.")

    def _standardize(self, raw: Any, label: int) -> Batch:
        if not isinstance(raw, tuple) or len(raw) not in (1, 2, 3):
            raise ValueError(
                "When passing a Python generator to a Keras model, the generator must return a "
                "tuple, either (input,) or (inputs, targets) or (inputs, targets, "
                f"sample_weights). Received: {str(raw)[:100]} (batch {label})")
        return self._checked(raw, label)


def _is_batch_list(x: Any) -> bool:
    """A list of (x, ...) tuples: batches, not the inputs of a multi-input model."""
    return isinstance(x, list) and bool(x) and all(isinstance(b, tuple) for b in x)


def get_data_adapter(x: Any, y: Any = None, sample_weight: Any = None,
                     batch_size: Optional[int] = None, steps_per_epoch: Optional[int] = None,
                     shuffle: Shuffle = False) -> DataAdapter:
    """Return the adapter for fit / evaluate / predict's data, chosen and checked as Keras does.

    Arrays (an array, a list / tuple / dict of them) give an `ArrayDataAdapter`; a PyDataset
    a `PyDatasetAdapter`; a generator or any other iterable of batches, a list of batch
    tuples included, a `GeneratorDataAdapter`; a DataAdapter is returned as it is.

    Parameters
    ----------
    x : array-like, list, tuple or dict of array-like, PyDataset, iterable or DataAdapter
        The data.
    y : array-like, or list, tuple or dict of array-like, optional
        The targets: with arrays only (a PyDataset or generator yields them in its batches).
    sample_weight : array-like, or list, tuple or dict of array-like, optional
        The sample weights: with arrays only, as `y`.
    batch_size : int, optional
        Samples per batch of arrays (see `ArrayDataAdapter`).
    steps_per_epoch : int, optional
        Batches per epoch; None for one pass over the data.
    shuffle : bool or 'batch', default=False
        As `ArrayDataAdapter` and `PyDatasetAdapter` take it; it does nothing for a
        generator (Keras' warning).

    Returns
    -------
    DataAdapter
        The adapter.

    Raises
    ------
    ValueError
        For x of an unrecognized type (None, a string), `y` or `sample_weight` with a
        PyDataset or generator, or arrays the adapter refuses.
    """
    if isinstance(x, DataAdapter):
        return x
    if x is None or isinstance(x, (str, bytes)):
        raise ValueError(f"Unrecognized data type: x={x!r} (of type {type(x)})")
    arrays = isinstance(x, (np.ndarray, list, tuple, dict)) or hasattr(x, "__array__")
    if not isinstance(x, PyDataset) and (arrays or not isinstance(x, Iterable)) \
            and not _is_batch_list(x):
        return ArrayDataAdapter(x, y, sample_weight, batch_size, steps_per_epoch, shuffle)
    kind = "PyDataset" if isinstance(x, PyDataset) else "generator"
    if y is not None:
        raise _unsupported("y", "the targets", kind)
    if sample_weight is not None:
        raise _unsupported("sample_weights", "the sample weights", kind)
    if kind == "PyDataset":
        return PyDatasetAdapter(x, steps_per_epoch, shuffle)
    if shuffle:
        warnings.warn("`shuffle=True` was passed, but will be ignored since the data `x` was "
                      "provided as a generator. The generator is expected to yield "
                      "already-shuffled data.", stacklevel=2)
    return GeneratorDataAdapter(x, steps_per_epoch)
