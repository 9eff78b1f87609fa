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
    """The base of the elementwise merge layers, on 2 or more inputs whose shapes broadcast.

    The shapes broadcast by Keras' rule: the same dimensions, or 1, aligned from the last axis;
    a lower-rank input gains axes after the batch axis. A merge layer is called on a list of
    inputs: ``forward(xs, masks, training)`` returns ``(y, mask)`` and ``backward(dy)`` returns
    one gradient per input. Keras 3 accepts a single input (the identity); a merge layer here
    asks for 2 or more, a merge of one input being a wiring mistake in a graph.

    Masks follow Keras 3 (``keras/src/layers/merging/``): the output mask is the OR of the
    input masks, or None as soon as one input has none; :class:`~gru_native.layers.Multiply`,
    :class:`~gru_native.layers.Maximum` and :class:`~gru_native.layers.Minimum` also let a
    masked timestep of one input drop out of the value (:class:`~gru_native.layers.Add`,
    :class:`~gru_native.layers.Subtract` and :class:`~gru_native.layers.Average` do not look at
    the masks). :class:`~gru_native.layers.Concatenate` builds its own mask.

    Subclasses give ``_merge`` and ``_merge_backward``.

    Parameters
    ----------
    name : str, optional
        The layer's name. By default Keras' automatic name, the class name in snake case:
        'merge', then 'merge_1', 'merge_2', ...
    input_shape : tuple of int or None, optional
        The shape of the inputs without the batch axis, as every layer takes it; a merge layer
        takes its inputs' shapes from the tensors it is called on.
    trainable : bool, default=True
        Whether an optimizer moves the layer's weights (a merge layer has none).
    dtype : str or numpy dtype, optional
        The dtype of the layer's symbolic outputs (default float32).
    """

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
        """Return the output shape for inputs of `input_shapes`: their broadcast shape.

        Parameters
        ----------
        input_shapes : list of tuple of int or None
            The shape of each input without the batch axis (None for an unknown length).

        Returns
        -------
        tuple of int or None
            The inputs' shapes broadcast by Keras' rule, without the batch axis.

        Raises
        ------
        ValueError
            If `input_shapes` is not a list of shapes, holds fewer than 2 (Subtract: other than
            exactly 2), or holds shapes that do not broadcast.
        """
        shapes = self._check_shapes(input_shapes)
        out = shapes[0]
        for s in shapes[1:]:
            out = self._broadcast_shape(out, s)
        return out

    def build(self, input_shapes: Sequence[Shape]) -> Shape:  # type: ignore[override]
        """Check the inputs' shapes and set the layer's input and output shapes (no weights).

        Parameters
        ----------
        input_shapes : list of tuple of int or None
            The shape of each input without the batch axis (None for an unknown length).

        Returns
        -------
        tuple of int or None
            The output shape without the batch axis.

        Raises
        ------
        ValueError
            If `input_shapes` is not a list of shapes, holds fewer than 2 (Subtract: other than
            exactly 2), or holds shapes that do not merge.
        """
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
        """Merge a list of inputs elementwise, keeping what ``backward`` needs.

        Parameters
        ----------
        xs : list of ndarray
            The inputs, each of shape (batch, ...) as the layer was built for; a lower-rank
            input gains axes after the batch axis, then the shapes broadcast.
        masks : list of ndarray of bool or None, default=None
            A mask per input, of shape (batch, timesteps) (True at the steps to use), or None
            for an input without one; None: no masks.
        training : bool, default=False
            Whether the call is a training step (the merge is the same either way).

        Returns
        -------
        y : ndarray of shape (batch, ...)
            The merged inputs, of their broadcast shape.
        mask : ndarray of bool of shape (batch, timesteps) or None
            The output mask (see ``compute_mask``).

        Raises
        ------
        RuntimeError
            If the layer is not built.
        ValueError
            If `xs` is not a list, or has another number of inputs or other shapes than the
            layer was built for, inputs of different batch sizes or shapes that do not
            broadcast, or masks that do not fit them.
        """
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
        """Return the output mask: the OR of the inputs' masks, as Keras 3's Merge.compute_mask.

        Parameters
        ----------
        xs : list of ndarray
            The inputs (their masks alone decide).
        masks : list of ndarray of bool or None
            A mask per input (True at the steps to use), or None for an input without one;
            None: no masks.

        Returns
        -------
        ndarray of bool or None
            The elementwise OR of the masks; None if any input has none.
        """
        if masks is None or any(m is None for m in masks):
            return None
        out = np.asarray(masks[0], bool)
        for m in masks[1:]:
            out = np.logical_or(out, m)
        return out

    def backward(self, dy: np.ndarray,  # type: ignore[override]
                 need_dx: bool = True) -> list[Optional[np.ndarray]]:
        """Backpropagate a gradient through the last ``forward`` to each input.

        Parameters
        ----------
        dy : ndarray of shape (batch, ...)
            The gradient with respect to the output.
        need_dx : bool, default=True
            Whether to compute the gradients with respect to the inputs.

        Returns
        -------
        list of ndarray or None
            The gradient with respect to each input, of that input's shape (summed over the
            axes it was broadcast along), each an array of its own; a None per input when
            ``need_dx`` is False.
        """
        if not need_dx:
            return [None] * len(self._in_shapes)
        return _own([_unbroadcast(g, s) for g, s in zip(self._merge_backward(dy), self._in_shapes)],
                    dy)

    plan_kind: Optional[str] = None  # the MergeOp kind, for the elementwise merges

    def inference_ops(self, inputs, new_slot):
        """Describe what one call computes at prediction, as inference-plan ops over slots.

        Parameters
        ----------
        inputs : sequence of int
            The slot of each of the call's inputs, in order.
        new_slot : callable
            Called without arguments, it numbers a new slot (for the output).

        Returns
        -------
        LayerOps or None
            One ``MergeOp`` and the slot of its output, for inputs all of one shape (no
            broadcasting), as vectors (batch, features) or sequences
            (batch, timesteps, features); None otherwise, and for a merge without such an op,
            which the model then runs through ``forward``.
        """
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
    """Add its inputs elementwise, as ``keras.layers.Add``.

    The output is the elementwise sum of 2 or more inputs whose shapes broadcast (see
    :class:`~gru_native.layers.Merge`). The output mask is the OR of the input masks (None as
    soon as one input has none); the masks do not change the sum.

    Parameters
    ----------
    name : str, optional
        The layer's name. By default Keras' automatic name, the class name in snake case:
        'add', then 'add_1', 'add_2', ...
    input_shape : tuple of int or None, optional
        The shape of the inputs without the batch axis, as every layer takes it; a merge layer
        takes its inputs' shapes from the tensors it is called on.
    trainable : bool, default=True
        Whether an optimizer moves the layer's weights (a merge layer has none).
    dtype : str or numpy dtype, optional
        The dtype of the layer's symbolic outputs (default float32).
    """

    plan_kind = "add"

    def _merge(self, xs, masks, shape):
        self._n = len(xs)
        return np.broadcast_to(_sum(xs), shape).copy()

    def _merge_backward(self, dy):
        return [dy] * self._n


class Subtract(Merge):
    """Subtract its second input from its first, as ``keras.layers.Subtract``.

    The output is ``inputs[0] - inputs[1]``, of exactly two inputs whose shapes broadcast (see
    :class:`~gru_native.layers.Merge`); called on another number of inputs, it raises
    ValueError. The output mask is the OR of the input masks (None as soon as one input has
    none); the masks do not change the difference.

    Parameters
    ----------
    name : str, optional
        The layer's name. By default Keras' automatic name, the class name in snake case:
        'subtract', then 'subtract_1', 'subtract_2', ...
    input_shape : tuple of int or None, optional
        The shape of the inputs without the batch axis, as every layer takes it; a merge layer
        takes its inputs' shapes from the tensors it is called on.
    trainable : bool, default=True
        Whether an optimizer moves the layer's weights (a merge layer has none).
    dtype : str or numpy dtype, optional
        The dtype of the layer's symbolic outputs (default float32).
    """

    plan_kind = "subtract"
    _exactly = 2

    def _merge(self, xs, masks, shape):
        return np.broadcast_to(xs[0] - xs[1], shape).copy()

    def _merge_backward(self, dy):
        return [dy, -dy]


class Average(Merge):
    """Average its inputs elementwise, as ``keras.layers.Average``.

    The output is the elementwise mean of 2 or more inputs whose shapes broadcast (see
    :class:`~gru_native.layers.Merge`). The output mask is the OR of the input masks (None as
    soon as one input has none); the masks do not change the mean.

    Parameters
    ----------
    name : str, optional
        The layer's name. By default Keras' automatic name, the class name in snake case:
        'average', then 'average_1', 'average_2', ...
    input_shape : tuple of int or None, optional
        The shape of the inputs without the batch axis, as every layer takes it; a merge layer
        takes its inputs' shapes from the tensors it is called on.
    trainable : bool, default=True
        Whether an optimizer moves the layer's weights (a merge layer has none).
    dtype : str or numpy dtype, optional
        The dtype of the layer's symbolic outputs (default float32).
    """

    plan_kind = "average"

    def _merge(self, xs, masks, shape):
        self._n = len(xs)
        return np.broadcast_to(_sum(xs) / self._n, shape).copy()  # a Python int keeps float32

    def _merge_backward(self, dy):
        return [dy / self._n] * self._n


class Multiply(Merge):
    """Multiply its inputs elementwise, as ``keras.layers.Multiply``.

    The output is the elementwise product of 2 or more inputs whose shapes broadcast (see
    :class:`~gru_native.layers.Merge`). As Keras 3: a masked input counts as 1 at its masked
    steps, and when every input has a mask, steps masked in all of them are 0. The output mask
    is the OR of the input masks (None as soon as one input has none).

    Parameters
    ----------
    name : str, optional
        The layer's name. By default Keras' automatic name, the class name in snake case:
        'multiply', then 'multiply_1', 'multiply_2', ...
    input_shape : tuple of int or None, optional
        The shape of the inputs without the batch axis, as every layer takes it; a merge layer
        takes its inputs' shapes from the tensors it is called on.
    trainable : bool, default=True
        Whether an optimizer moves the layer's weights (a merge layer has none).
    dtype : str or numpy dtype, optional
        The dtype of the layer's symbolic outputs (default float32).
    """

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
    """Take the elementwise maximum of its inputs, as ``keras.layers.Maximum``.

    The inputs are 2 or more whose shapes broadcast (see :class:`~gru_native.layers.Merge`).
    Masked steps drop out, as Keras 3: input by input, a masked element of the new input is
    replaced by the running result and a masked element of the running result by the new
    input, so masked steps drop out wherever another input has them. The gradient goes to the
    input each output element came from alone; ties go to the earlier input. The output mask
    is the OR of the input masks (None as soon as one input has none).

    Parameters
    ----------
    name : str, optional
        The layer's name. By default Keras' automatic name, the class name in snake case:
        'maximum', then 'maximum_1', 'maximum_2', ...
    input_shape : tuple of int or None, optional
        The shape of the inputs without the batch axis, as every layer takes it; a merge layer
        takes its inputs' shapes from the tensors it is called on.
    trainable : bool, default=True
        Whether an optimizer moves the layer's weights (a merge layer has none).
    dtype : str or numpy dtype, optional
        The dtype of the layer's symbolic outputs (default float32).
    """

    plan_kind = "maximum"
    _better = staticmethod(np.greater)


class Minimum(_Extremum):
    """Take the elementwise minimum of its inputs, as ``keras.layers.Minimum``.

    The inputs are 2 or more whose shapes broadcast (see :class:`~gru_native.layers.Merge`).
    Masked steps drop out, as Keras 3: input by input, a masked element of the new input is
    replaced by the running result and a masked element of the running result by the new
    input, so masked steps drop out wherever another input has them. The gradient goes to the
    input each output element came from alone; ties go to the earlier input. The output mask
    is the OR of the input masks (None as soon as one input has none).

    Parameters
    ----------
    name : str, optional
        The layer's name. By default Keras' automatic name, the class name in snake case:
        'minimum', then 'minimum_1', 'minimum_2', ...
    input_shape : tuple of int or None, optional
        The shape of the inputs without the batch axis, as every layer takes it; a merge layer
        takes its inputs' shapes from the tensors it is called on.
    trainable : bool, default=True
        Whether an optimizer moves the layer's weights (a merge layer has none).
    dtype : str or numpy dtype, optional
        The dtype of the layer's symbolic outputs (default float32).
    """

    plan_kind = "minimum"
    _better = staticmethod(np.less)


class Concatenate(Merge):
    """Concatenate its inputs along an axis, as ``keras.layers.Concatenate``.

    The inputs, 2 or more, have one rank and one shape but along `axis` (counted as Keras does,
    with the batch axis 0). The output mask is Keras 3's (see ``compute_mask``): on the feature
    axis, the OR of the masks; on the time axis, the masks concatenated in time.

    Parameters
    ----------
    axis : int, default=-1
        The axis to concatenate along, counted with the batch axis as 0 (-1: the last, the
        features); it must be a non-batch axis of the inputs.
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.

    Raises
    ------
    TypeError
        If `axis` is not an integer (as Keras).
    """

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
        """Return the output shape for inputs of `input_shapes`.

        Parameters
        ----------
        input_shapes : list of tuple of int or None
            The shape of each input without the batch axis (None for an unknown length).

        Returns
        -------
        tuple of int or None
            The inputs' shape with the sizes along `axis` summed (None if one is unknown),
            without the batch axis.

        Raises
        ------
        ValueError
            If `input_shapes` is not a list of 2 or more shapes, the shapes have different
            ranks or differ off the concatenation axis, or `axis` is not a non-batch axis.
        """
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
        """Concatenate a list of inputs along `axis`, keeping what ``backward`` needs.

        Parameters
        ----------
        xs : list of ndarray
            The inputs, each of shape (batch, ...) as the layer was built for.
        masks : list of ndarray of bool or None, default=None
            A mask per input, of shape (batch, timesteps) (True at the steps to use), or None
            for an input without one; None: no masks.
        training : bool, default=False
            Whether the call is a training step (the concatenation is the same either way).

        Returns
        -------
        y : ndarray of shape (batch, ...)
            The inputs concatenated along `axis`.
        mask : ndarray of bool or None
            The output mask (see ``compute_mask``).

        Raises
        ------
        RuntimeError
            If the layer is not built.
        ValueError
            If `xs` is not a list, or has another number of inputs or other shapes than the
            layer was built for, or inputs that do not concatenate.
        """
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
        """Return the output mask, as Keras 3's Concatenate.compute_mask.

        Each mask is broadcast to its input's shape (an input without one: all True), the
        results are concatenated on the axis, then ``any()`` is taken over the last axis. On
        the feature axis that is the OR of the masks, all True as soon as one input has none;
        on the time axis, the masks concatenated in time.

        Parameters
        ----------
        xs : list of ndarray
            The inputs, each of shape (batch, ...).
        masks : list of ndarray of bool or None
            A mask per input (True at the steps to use), or None for an input without one;
            None: no masks.

        Returns
        -------
        ndarray of bool or None
            The output mask; None when no input has a mask.
        """
        if masks is None or all(m is None for m in masks):
            return None
        full = [np.ones(x.shape, bool) if m is None else
                (_expand_mask(m, x.shape) if np.ndim(m) < x.ndim else np.asarray(m, bool))
                for x, m in zip(xs, masks)]
        return np.any(np.concatenate(full, axis=self._non_batch_axis(xs[0].ndim - 1) + 1), axis=-1)

    def backward(self, dy, need_dx=True):
        """Backpropagate a gradient through the last ``forward`` to each input.

        Parameters
        ----------
        dy : ndarray of shape (batch, ...)
            The gradient with respect to the output.
        need_dx : bool, default=True
            Whether to compute the gradients with respect to the inputs.

        Returns
        -------
        list of ndarray or None
            The gradient with respect to each input (its part of `dy` along `axis`), each an
            array of its own; a None per input when ``need_dx`` is False.
        """
        if not need_dx:
            return [None] * self._n
        return _own([np.ascontiguousarray(g) for g in np.split(dy, self._splits, axis=self._k)], dy)

    def inference_ops(self, inputs, new_slot):
        """Describe what one call computes at prediction, as inference-plan ops over slots.

        Parameters
        ----------
        inputs : sequence of int
            The slot of each of the call's inputs, in order.
        new_slot : callable
            Called without arguments, it numbers a new slot (for the output).

        Returns
        -------
        LayerOps or None
            One ``MergeOp`` and the slot of its output, for inputs all vectors
            (batch, features) or all sequences (batch, timesteps, features); None otherwise
            (the model then runs the layer through ``forward``).
        """
        rank = len(self.input_shape[0])
        if rank not in (1, 2) or any(len(s) != rank for s in self.input_shape):
            return None
        k = self._non_batch_axis(rank)
        axis = -1 if k == rank - 1 else 1  # the features, or the time axis of sequences
        out = new_slot()
        return LayerOps([MergeOp("concat", tuple(inputs), out, axis)], [out])

    def get_config(self):
        """Return the layer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            The Layer's entries (``name``, ``trainable``, ``input_shape`` if it was given) and
            the argument ``axis``.
        """
        return dict(super().get_config(), axis=self.axis)
