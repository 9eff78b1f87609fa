"""Merge layers, as keras.layers in Keras 3: Concatenate, Add, Subtract, Multiply, Average,
Maximum, Minimum. They take a list of inputs: `forward(xs, masks, training)` returns (y, mask)
and `backward(dy)` returns one gradient per input.

Masks follow Keras 3 (keras/src/layers/merging/): the elementwise layers' output mask is the OR
of the input masks, or None as soon as one input has none; Multiply, Maximum and Minimum also
let a masked timestep of one input drop out of the value (Add, Subtract and Average do not look
at the masks). Concatenate builds its own mask (see there).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from ..kernels.plan_ops import LayerOps, MergeOp
from ..validation import check_int
from .base import Layer, Shape, as_shape


def _expand_mask(mask, shape):
    """A (batch, timesteps) mask broadcast to an array of `shape` (batch, timesteps, ...), as
    Keras' broadcast_to(expand_dims(mask, -1), shape)."""
    mask = np.asarray(mask, bool)
    return np.broadcast_to(mask.reshape(mask.shape + (1,) * (len(shape) - mask.ndim)), shape)


def _unbroadcast(g, shape):
    """Sum the gradient `g` of a broadcast result back onto an input of `shape` (same rank,
    or lower: Keras expands lower-rank inputs after the batch axis, where NumPy does too)."""
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(axis=tuple(range(1, 1 + lead)))
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return np.ascontiguousarray(g)


def _own(grads, dy):
    """Gradients that are views of dy (Add's is dy itself, once per input) copied: each input
    gets an array of its own, which a caller may accumulate into in place."""
    return [g.copy() if np.may_share_memory(g, dy) else g for g in grads]


class Merge(Layer):
    """The elementwise merge of 2 or more inputs whose shapes broadcast (Keras' rule: same
    dimensions, or 1, aligned from the last axis; a lower-rank input gains axes after the batch
    axis). Subclasses give `_merge` and `_merge_backward`."""

    multi_input = True
    _exactly: Optional[int] = None  # the one number of inputs a subclass takes (Subtract: 2)

    # ---- shapes -------------------------------------------------------------------------
    def _check_shapes(self, input_shapes) -> list[Shape]:
        if not isinstance(input_shapes, (list, tuple)) or not all(
                isinstance(s, (list, tuple)) for s in input_shapes):
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}) must be called on a "
                             f"list of inputs, got input shapes {input_shapes!r}")
        n = len(input_shapes)
        if self._exactly is not None and n != self._exactly:
            raise ValueError(f"layer {self.name!r}: a `{type(self).__name__}` layer should be "
                             f"called on exactly {self._exactly} inputs, got {n}: {list(input_shapes)}")
        # Keras 3 accepts a single input (the identity); we ask for 2, a merge of one input
        # being a wiring mistake in a graph.
        if n < 2:
            raise ValueError(f"layer {self.name!r}: a `{type(self).__name__}` layer should be "
                             f"called on a list of at least 2 inputs, got {n}: {list(input_shapes)}")
        return [as_shape(s, f"layer {self.name!r}: input shape") for s in input_shapes]

    def _broadcast_shape(self, a, b):
        """Keras' _compute_elemwise_op_output_shape, without the batch axis."""
        if len(a) < len(b):
            a, b = b, a
        out = list(a[:len(a) - len(b)])
        for i, j in zip(a[len(a) - len(b):], b):
            if i is None or j is None:
                out.append(None)
            elif i == 1 or j == 1:
                out.append(max(i, j))
            elif i != j:
                raise ValueError(f"layer {self.name!r} ({type(self).__name__}): inputs have "
                                 f"incompatible shapes {a} and {b}")
            else:
                out.append(i)
        return tuple(out)

    def compute_output_shape(self, input_shapes: Sequence[Shape]) -> Shape:  # type: ignore[override]
        shapes = self._check_shapes(input_shapes)
        out = shapes[0]
        for s in shapes[1:]:
            out = self._broadcast_shape(out, s)
        return out

    def build(self, input_shapes: Sequence[Shape]) -> Shape:  # type: ignore[override]
        return super().build(self._check_shapes(input_shapes))

    # ---- running ------------------------------------------------------------------------
    def _check_inputs(self, xs, masks):
        if not isinstance(xs, (list, tuple)):
            raise ValueError(f"layer {self.name!r} must be called on a list of inputs, "
                             f"got {type(xs).__name__}")
        if not self.built:
            raise RuntimeError(f"layer {self.name!r} is not built: call build(input_shapes) first")
        if len(xs) != len(self.input_shape):
            raise ValueError(f"layer {self.name!r} was built for {len(self.input_shape)} inputs, "
                             f"got {len(xs)}")
        for i, (x, shape) in enumerate(zip(xs, self.input_shape)):
            if x.ndim != len(shape) + 1 or any(d is not None and d != n
                                               for d, n in zip(shape, x.shape[1:])):
                raise ValueError(f"layer {self.name!r} expects input {i} of shape (batch, "
                                 f"{', '.join(map(str, shape))}), got {x.shape}")
        if len({x.shape[0] for x in xs}) > 1:
            raise ValueError(f"layer {self.name!r}: inputs have different batch sizes: "
                             f"{[x.shape for x in xs]}")
        if masks is None:
            return [None] * len(xs)
        masks = list(masks)
        if len(masks) != len(xs):
            raise ValueError(f"layer {self.name!r}: {len(xs)} inputs but {len(masks)} masks")
        return masks

    def forward(self, xs: Sequence[np.ndarray],  # type: ignore[override]
                masks: Optional[Sequence[Optional[np.ndarray]]] = None,
                training: bool = False) -> tuple[np.ndarray, Optional[np.ndarray]]:
        masks = self._check_inputs(xs, masks)
        self._in_shapes = [x.shape for x in xs]
        # Lower-rank inputs gain axes after the batch axis (Keras' expand_dims(x, 1)); then
        # NumPy broadcasting does the rest.
        rank = max(x.ndim for x in xs)
        xs = [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs]
        try:
            shape = np.broadcast_shapes(*(x.shape for x in xs))
        except ValueError:
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}): inputs have "
                             f"incompatible shapes {self._in_shapes}") from None
        try:
            dense = [None if m is None else _expand_mask(m, shape) for m in masks]
        except ValueError:
            raise ValueError(f"layer {self.name!r}: masks of shapes "
                             f"{[None if m is None else np.shape(m) for m in masks]} do not fit "
                             f"the output's shape {shape}") from None
        y = self._merge(xs, dense, shape)
        return y, self.compute_mask(xs, masks)

    def compute_mask(self, xs: Sequence[np.ndarray],
                     masks: Optional[Sequence[Optional[np.ndarray]]]) -> Optional[np.ndarray]:
        """Keras 3's Merge.compute_mask: the OR of the masks; None if any input has none."""
        if masks is None or any(m is None for m in masks):
            return None
        out = np.asarray(masks[0], bool)
        for m in masks[1:]:
            out = np.logical_or(out, m)
        return out

    def backward(self, dy: np.ndarray,  # type: ignore[override]
                 need_dx: bool = True) -> list[Optional[np.ndarray]]:
        if not need_dx:
            return [None] * len(self._in_shapes)
        return _own([_unbroadcast(g, s) for g, s in zip(self._merge_backward(dy), self._in_shapes)],
                    dy)

    plan_kind: Optional[str] = None  # the MergeOp kind, for the elementwise merges

    def inference_ops(self, inputs, new_slot):
        # Inputs of one shape only (no broadcasting), as vectors or sequences.
        shapes = {tuple(s) for s in self.input_shape}
        if self.plan_kind is None or len(shapes) != 1 or len(next(iter(shapes))) not in (1, 2):
            return None
        out = new_slot()
        return LayerOps([MergeOp(self.plan_kind, tuple(inputs), out, -1)], [out])

    def _merge(self, xs, masks, shape):
        """The output from inputs of one rank, and their masks expanded to the output's shape."""
        raise NotImplementedError

    def _merge_backward(self, dy):
        """The gradient w.r.t. each (rank-expanded) input, of the output's shape or broadcastable to it."""
        raise NotImplementedError


def _sum(xs):
    """The broadcast sum of the inputs, in order (Add's value, Average's numerator)."""
    y = xs[0]
    for x in xs[1:]:
        y = y + x
    return y


class Add(Merge):
    """The elementwise sum of the inputs."""

    plan_kind = "add"

    def _merge(self, xs, masks, shape):
        self._n = len(xs)
        return np.broadcast_to(_sum(xs), shape).copy()

    def _merge_backward(self, dy):
        return [dy] * self._n


class Subtract(Merge):
    """inputs[0] - inputs[1], of exactly two inputs."""

    plan_kind = "subtract"
    _exactly = 2

    def _merge(self, xs, masks, shape):
        return np.broadcast_to(xs[0] - xs[1], shape).copy()

    def _merge_backward(self, dy):
        return [dy, -dy]


class Average(Merge):
    """The elementwise mean of the inputs."""

    plan_kind = "average"

    def _merge(self, xs, masks, shape):
        self._n = len(xs)
        return np.broadcast_to(_sum(xs) / self._n, shape).copy()  # a Python int keeps float32

    def _merge_backward(self, dy):
        return [dy / self._n] * self._n


class Multiply(Merge):
    """The product. As Keras 3: a masked input counts as 1 at its masked steps, and when every
    input has a mask, steps masked in all of them are 0."""

    plan_kind = "multiply"
    def _merge(self, xs, masks, shape):
        dtype = np.result_type(*xs)
        one, zero = dtype.type(1), dtype.type(0)
        self._masks = masks
        factors = [x if m is None else np.where(m, x, one) for x, m in zip(xs, masks)]
        self._out_mask = None
        if all(m is not None for m in masks):
            self._out_mask = np.logical_or.reduce(masks)
        # Products of all factors but one, from prefix and suffix products: no division, so
        # zeros in the inputs are fine.
        prefix = [np.broadcast_to(one, shape)]
        for f in factors[:-1]:
            prefix.append(prefix[-1] * f)
        suffix = [np.broadcast_to(one, shape)]
        for f in factors[:0:-1]:
            suffix.append(suffix[-1] * f)
        self._others = [p * s for p, s in zip(prefix, suffix[::-1])]
        y = np.broadcast_to(prefix[-1] * factors[-1], shape)
        return np.where(self._out_mask, y, zero) if self._out_mask is not None else y.copy()

    def _merge_backward(self, dy):
        if self._out_mask is not None:
            dy = np.where(self._out_mask, dy, dy.dtype.type(0))
        return [dy * o if m is None else np.where(m, dy * o, dy.dtype.type(0))
                for o, m in zip(self._others, self._masks)]


class _Extremum(Merge):
    """Maximum or Minimum, as Keras 3's _apply_merge_op_and_or_mask: input by input, a masked
    element of the new input is replaced by the running result and a masked element of the
    running result by the new input, so masked steps drop out wherever another input has them.
    We track which input each output element came from; the gradient goes to that input alone.
    Ties go to the earlier input (the running result wins unless strictly beaten)."""

    _better: Any  # np.greater or np.less

    def _merge(self, xs, masks, shape):
        out = np.broadcast_to(xs[0], shape)
        src = np.zeros(shape, np.intp)
        out_mask = masks[0]
        for i, (x, m) in enumerate(zip(xs[1:], masks[1:]), start=1):
            x = np.broadcast_to(x, shape)
            x_src = np.full(shape, i, np.intp)
            if m is not None:
                x, x_src = np.where(m, x, out), np.where(m, x_src, src)
            if out_mask is not None:
                out, src = np.where(out_mask, out, x), np.where(out_mask, src, x_src)
            out_mask = None if m is None or out_mask is None else out_mask | m
            take = self._better(x, out)
            out, src = np.where(take, x, out), np.where(take, x_src, src)
        self._src, self._n = src, len(xs)
        return np.ascontiguousarray(out)

    def _merge_backward(self, dy):
        zero = dy.dtype.type(0)
        return [np.where(self._src == i, dy, zero) for i in range(self._n)]


class Maximum(_Extremum):
    """The elementwise maximum of the inputs (masked steps drop out, as Keras 3)."""

    plan_kind = "maximum"
    _better = staticmethod(np.greater)


class Minimum(_Extremum):
    """The elementwise minimum of the inputs (masked steps drop out, as Keras 3)."""

    plan_kind = "minimum"
    _better = staticmethod(np.less)


class Concatenate(Merge):
    """Inputs of one shape but along `axis` (counted as Keras does, with the batch axis 0)."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = check_int(axis, "axis", wrong_type=TypeError)  # Keras' TypeError

    def _non_batch_axis(self, rank):
        """self.axis as an index into a shape without the batch axis."""
        axis = self.axis + rank + 1 if self.axis < 0 else self.axis
        if not 1 <= axis <= rank:
            raise ValueError(f"layer {self.name!r}: axis={self.axis} is not a non-batch axis of "
                             f"inputs of rank {rank + 1} (batch included)")
        return axis - 1

    def compute_output_shape(self, input_shapes):
        shapes = self._check_shapes(input_shapes)
        if len({len(s) for s in shapes}) != 1:
            raise ValueError(f"layer {self.name!r}: a `Concatenate` layer requires inputs of one "
                             f"rank, got input shapes {shapes}")
        k = self._non_batch_axis(len(shapes[0]))
        out = []
        for i, dims in enumerate(zip(*shapes)):
            if i == k:
                out.append(None if None in dims else sum(dims))
                continue
            known = {d for d in dims if d is not None}
            if len(known) > 1:
                raise ValueError(f"layer {self.name!r}: a `Concatenate` layer requires inputs with "
                                 f"matching shapes except for the concatenation axis "
                                 f"{self.axis}, got input shapes {shapes}")
            out.append(known.pop() if known else None)
        return tuple(out)

    def forward(self, xs, masks=None, training=False):
        masks = self._check_inputs(xs, masks)
        k = self._non_batch_axis(len(self.input_shape[0])) + 1
        try:
            y = np.concatenate(xs, axis=k)
        except ValueError:
            raise ValueError(f"layer {self.name!r} cannot concatenate inputs of shapes "
                             f"{[x.shape for x in xs]} on axis {self.axis}") from None
        self._splits = np.cumsum([x.shape[k] for x in xs])[:-1]
        self._k, self._n = k, len(xs)
        return y, self.compute_mask(xs, masks)

    def compute_mask(self, xs, masks):
        """Keras 3's Concatenate.compute_mask: each mask broadcast to its input's shape (an input
        without one: all True), concatenated on the axis, then any() over the last axis. On the
        feature axis that is the OR of the masks, all True as soon as one input has none; on
        the time axis, the masks concatenated in time."""
        if masks is None or all(m is None for m in masks):
            return None
        full = [np.ones(x.shape, bool) if m is None else
                (_expand_mask(m, x.shape) if np.ndim(m) < x.ndim else np.asarray(m, bool))
                for x, m in zip(xs, masks)]
        return np.any(np.concatenate(full, axis=self._non_batch_axis(xs[0].ndim - 1) + 1), axis=-1)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return [None] * self._n
        return _own([np.ascontiguousarray(g) for g in np.split(dy, self._splits, axis=self._k)], dy)

    def inference_ops(self, inputs, new_slot):
        rank = len(self.input_shape[0])
        if rank not in (1, 2) or any(len(s) != rank for s in self.input_shape):
            return None
        k = self._non_batch_axis(rank)
        axis = -1 if k == rank - 1 else 1  # the features, or the time axis of sequences
        out = new_slot()
        return LayerOps([MergeOp("concat", tuple(inputs), out, axis)], [out])

    def get_config(self):
        return dict(super().get_config(), axis=self.axis)
