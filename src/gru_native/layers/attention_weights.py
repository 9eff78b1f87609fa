"""Attention weights, shared by Attention and MultiHeadAttention: which (query step, key step)
pairs may attend, the softmax over the key steps (the last axis) and its backward.

The two layers differ, as in Keras, in what a pair left out gets: Attention subtracts EXCLUDED
from its score; MultiHeadAttention (Keras' Softmax layer) replaces the score by -EXCLUDED and
zeroes the weight, so a query step with no pair left has all-zero weights.
"""

from __future__ import annotations

from functools import reduce
from typing import Optional, Sequence

import numpy as np

EXCLUDED = 1e9


def allowed_pairs(tq: int, tv: int, query_mask: Optional[np.ndarray] = None,
                  key_masks: Sequence[Optional[np.ndarray]] = (), causal: bool = False,
                  pairs: Optional[np.ndarray] = None) -> Optional[np.ndarray]:
    """Return the (query step, key step) pairs that count, or None for all of them.

    The pairs are the AND of the query steps' mask, the key steps' masks, the causal mask and
    `pairs`.

    Parameters
    ----------
    tq : int
        The number of query steps.
    tv : int
        The number of key steps.
    query_mask : ndarray of bool of shape (batch, Tq), optional
        True at the query steps that count.
    key_masks : sequence of ndarray of bool of shape (batch, Tv) or None, default=()
        True at the key steps that count (None: all), one mask per sequence of key steps
        (the value's, the key's).
    causal : bool, default=False
        Whether query step i sees only the key steps up to i.
    pairs : ndarray of bool of shape (batch, Tq, Tv), optional
        True at the pairs that count (an attention mask).

    Returns
    -------
    ndarray of bool or None
        The pairs that count, broadcastable to (batch, Tq, Tv); None when nothing excludes
        any.
    """
    parts = [] if query_mask is None else [query_mask[:, :, None]]
    parts += [m[:, None, :] for m in key_masks if m is not None]
    if causal:
        parts.append(np.tril(np.ones((tq, tv), bool))[None])
    if pairs is not None:
        parts.append(pairs)
    return reduce(np.logical_and, parts) if parts else None


def softmax(scores: np.ndarray) -> np.ndarray:
    """Return the softmax over the last axis, computed in place.

    Parameters
    ----------
    scores : ndarray
        The scores; overwritten, so it must be the caller's own array.

    Returns
    -------
    ndarray
        `scores`, holding their softmax.
    """
    scores -= scores.max(-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(-1, keepdims=True)
    return scores


def softmax_backward(weights: np.ndarray, d_weights: np.ndarray) -> np.ndarray:
    """Return the gradient of the scores from that of their softmax `weights`.

    Parameters
    ----------
    weights : ndarray
        The softmax's output.
    d_weights : ndarray
        The gradient w.r.t. `weights`.

    Returns
    -------
    ndarray
        The gradient w.r.t. the scores (zero where a weight is).
    """
    return weights * (d_weights - (d_weights * weights).sum(-1, keepdims=True))
