"""Flatten, Reshape and Permute: the same values laid out in another shape (the batch axis kept).
As in Keras 3 they do not support masking: a mask stops at them (their output mask is None)."""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from ..validation import check_int
from .arguments import standardize_data_format
from .base import Layer



class Flatten(Layer):
    """Flatten each input to a vector, as ``keras.layers.Flatten``.

    ``(batch, d1, d2, ...) -> (batch, d1 * d2 * ...)``; ``(batch,) -> (batch, 1)``. As in
    Keras 3, the layer does not support masking: a mask stops here (the output mask is None).

    Parameters
    ----------
    data_format : {'channels_last', 'channels_first'}, default=None
        The inputs' layout: with 'channels_first', the channel axis (1) moves last before
        flattening (on inputs of rank 3 or more), as Keras; None: 'channels_last' (Keras'
        ``image_data_format`` setting unless configured).
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        If `data_format` is not one of its choices.
    """

    def __init__(self, data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)

    def compute_output_shape(self, input_shape):
        """Return the output shape for inputs of `input_shape` (without the batch axis).

        Parameters
        ----------
        input_shape : tuple of int or None
            The inputs' shape without the batch axis (None for an unknown length).

        Returns
        -------
        tuple of int or None
            ``(d1 * d2 * ...,)``: the product of the dimensions (None if one is unknown);
            ``(1,)`` for inputs of shape (batch,).
        """
        if len(input_shape) == 0:
            return (1,)
        return (None,) if None in input_shape else (math.prod(input_shape),)

    def _axes(self, ndim):
        """channels_first: the channel axis (1) moves last before flattening, as Keras."""
        if self.data_format == "channels_first" and ndim > 2:
            return (0, *range(2, ndim), 1)
        return None

    def forward(self, x, mask=None, training=False):
        """Flatten each input of a batch.

        Parameters
        ----------
        x : ndarray of shape (batch, ...)
            The inputs.
        mask : ndarray of bool, default=None
            The inputs' mask (dropped: the layer does not support masking).
        training : bool, default=False
            Whether the call is a training step (the layer computes the same either way).

        Returns
        -------
        y : ndarray of shape (batch, size)
            Each input flattened (for 'channels_first', after its channel axis moves last).
        mask : None
            The mask stops here.
        """
        self._shape = x.shape
        axes = self._axes(x.ndim)
        if axes is not None:
            x = x.transpose(axes)
        return np.ascontiguousarray(x).reshape(x.shape[0], -1), None

    def backward(self, dy, need_dx=True):
        """Backpropagate a gradient through the last ``forward``.

        Parameters
        ----------
        dy : ndarray of shape (batch, size)
            The gradient with respect to the outputs.
        need_dx : bool, default=True
            Whether to compute the gradient with respect to the inputs.

        Returns
        -------
        ndarray of shape (batch, ...) or None
            The gradient with respect to the inputs (`dy` in the inputs' shape), or None when
            ``need_dx`` is False.
        """
        if not need_dx:
            return None
        axes = self._axes(len(self._shape))
        if axes is None:
            return dy.reshape(self._shape)
        moved = tuple(self._shape[a] for a in axes)
        return np.ascontiguousarray(dy.reshape(moved).transpose(np.argsort(axes)))

    def get_config(self):
        """Return the layer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            The Layer's entries (``name``, ``trainable``, ``input_shape`` if it was given) and
            the argument ``data_format``.
        """
        return dict(super().get_config(), data_format=self.data_format)


class Reshape(Layer):
    """Give each input another shape of the same size, as ``keras.layers.Reshape``.

    ``(batch, ...) -> (batch, *target_shape)``; one entry of `target_shape` may be -1,
    inferred from the input's size. As in Keras 3, the layer does not support masking: a mask
    stops here (the output mask is None).

    Parameters
    ----------
    target_shape : sequence of int
        The output shape without the batch axis: positive integers, one of them possibly -1
        (Keras also allows 0; shapes here are positive, as every layer's).
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.

    Raises
    ------
    TypeError
        If an entry of `target_shape` is not an integer (as Keras).
    ValueError
        If an entry is below 1 but not -1, or more than one entry is -1.
    """

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        target_shape = tuple(check_int(d, "each dimension of target_shape", wrong_type=TypeError)
                             for d in target_shape)  # Keras' TypeError
        # Keras also allows 0; our shapes are positive, as every layer's here.
        if any(d < 1 and d != -1 for d in target_shape):
            raise ValueError(f"Each dimension in `target_shape` must be a positive integer, or -1 "
                             f"for a single unknown dimension. Received: target_shape={target_shape}.")
        if target_shape.count(-1) > 1:
            raise ValueError(f"There must be at most one unknown dimension (-1) in `target_shape`. "
                             f"Received: target_shape={target_shape}.")
        self.target_shape = target_shape

    def _resolve(self, input_shape):
        """Keras' compute_reshape_output_shape: the -1 resolved, or None if the input's size is
        unknown."""
        if None in input_shape:
            return tuple(None if d == -1 else d for d in self.target_shape)
        size = math.prod(input_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 not in self.target_shape:
            if known != size:
                raise ValueError(f"layer {self.name!r} (Reshape): the total size must be unchanged; "
                                 f"input shape {tuple(input_shape)}, target_shape {self.target_shape}")
            return self.target_shape
        if size % known:
            raise ValueError(f"layer {self.name!r} (Reshape): input shape {tuple(input_shape)} has "
                             f"a size not divisible by the known dimensions of target_shape "
                             f"{self.target_shape}")
        return tuple(size // known if d == -1 else d for d in self.target_shape)

    def compute_output_shape(self, input_shape):
        """Return the output shape for inputs of `input_shape` (without the batch axis).

        Parameters
        ----------
        input_shape : tuple of int or None
            The inputs' shape without the batch axis (None for an unknown length).

        Returns
        -------
        tuple of int or None
            `target_shape` with its -1 resolved, as Keras' ``compute_reshape_output_shape``
            (None if the input's size is unknown).

        Raises
        ------
        ValueError
            If the input's size differs from the target's, or (with a -1) is not divisible by
            the product of its known dimensions.
        """
        return self._resolve(tuple(input_shape))

    def forward(self, x, mask=None, training=False):
        """Reshape each input of a batch to `target_shape`.

        Parameters
        ----------
        x : ndarray of shape (batch, ...)
            The inputs.
        mask : ndarray of bool, default=None
            The inputs' mask (dropped: the layer does not support masking).
        training : bool, default=False
            Whether the call is a training step (the layer computes the same either way).

        Returns
        -------
        y : ndarray of shape ``(batch, *target_shape)``
            Each input's values in the target shape (the -1 resolved).
        mask : None
            The mask stops here.

        Raises
        ------
        ValueError
            If an input's size does not fit `target_shape`.
        """
        self._shape = x.shape
        return np.ascontiguousarray(x).reshape((x.shape[0],) + self._resolve(x.shape[1:])), None

    def backward(self, dy, need_dx=True):
        """Backpropagate a gradient through the last ``forward``.

        Parameters
        ----------
        dy : ndarray of shape ``(batch, *target_shape)``
            The gradient with respect to the outputs.
        need_dx : bool, default=True
            Whether to compute the gradient with respect to the inputs.

        Returns
        -------
        ndarray of shape (batch, ...) or None
            The gradient with respect to the inputs (`dy` in the inputs' shape), or None when
            ``need_dx`` is False.
        """
        return dy.reshape(self._shape) if need_dx else None

    def get_config(self):
        """Return the layer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            The Layer's entries (``name``, ``trainable``, ``input_shape`` if it was given) and
            the argument ``target_shape`` (a list).
        """
        return dict(super().get_config(), target_shape=list(self.target_shape))


class Permute(Layer):
    """Reorder the non-batch axes of each input, as ``keras.layers.Permute``.

    As in Keras 3, the layer does not support masking: a mask stops here (the output mask is
    None).

    Parameters
    ----------
    dims : sequence of int
        The new order of the non-batch axes, 1-based (the batch axis is 0 and stays first):
        ``(2, 1)`` swaps time and features.
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        If `dims` is not a permutation of 1, ..., ``len(dims)``.
    """

    def __init__(self, dims: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        dims = tuple(dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of "
                             "indices in `dims` must be consecutive and start from 1. "
                             f"Received dims={dims}")
        self.dims = tuple(int(d) for d in dims)

    def compute_output_shape(self, input_shape):
        """Return the output shape for inputs of `input_shape` (without the batch axis).

        Parameters
        ----------
        input_shape : tuple of int or None
            The inputs' shape without the batch axis (None for an unknown length), of
            ``len(dims)`` entries.

        Returns
        -------
        tuple of int or None
            The input shape's entries in the order `dims` gives.

        Raises
        ------
        ValueError
            If the inputs' rank does not fit `dims`.
        """
        if len(input_shape) != len(self.dims):
            raise ValueError(f"layer {self.name!r} (Permute) with dims={self.dims} expects inputs "
                             f"of rank {len(self.dims) + 1}, got input shape {tuple(input_shape)} "
                             f"(batch excluded)")
        return tuple(input_shape[d - 1] for d in self.dims)

    def forward(self, x, mask=None, training=False):
        """Reorder the non-batch axes of each input of a batch.

        Parameters
        ----------
        x : ndarray of shape (batch, ...)
            The inputs, of rank ``len(dims) + 1``.
        mask : ndarray of bool, default=None
            The inputs' mask (dropped: the layer does not support masking).
        training : bool, default=False
            Whether the call is a training step (the layer computes the same either way).

        Returns
        -------
        y : ndarray of shape (batch, ...)
            The inputs with their axes permuted, as a C-contiguous array (the kernels
            downstream read rows).
        mask : None
            The mask stops here.

        Raises
        ------
        ValueError
            If `x` is not of rank ``len(dims) + 1``.
        """
        if x.ndim != len(self.dims) + 1:
            raise ValueError(f"layer {self.name!r} expects inputs of rank {len(self.dims) + 1}, "
                             f"got {x.shape}")
        # Contiguous, as the kernels downstream read rows.
        return np.ascontiguousarray(x.transpose((0,) + self.dims)), None

    def backward(self, dy, need_dx=True):
        """Backpropagate a gradient through the last ``forward``.

        Parameters
        ----------
        dy : ndarray of shape (batch, ...)
            The gradient with respect to the outputs.
        need_dx : bool, default=True
            Whether to compute the gradient with respect to the inputs.

        Returns
        -------
        ndarray of shape (batch, ...) or None
            The gradient with respect to the inputs (`dy` with the permutation undone), or None when
            ``need_dx`` is False.
        """
        if not need_dx:
            return None
        return np.ascontiguousarray(dy.transpose(np.argsort((0,) + self.dims)))

    def get_config(self):
        """Return the layer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            The Layer's entries (``name``, ``trainable``, ``input_shape`` if it was given) and
            the argument ``dims`` (a list).
        """
        return dict(super().get_config(), dims=list(self.dims))
