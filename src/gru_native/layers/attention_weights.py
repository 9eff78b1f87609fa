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
    """The pairs that count, broadcastable to (batch, Tq, Tv), or None (all): the AND of the
    query steps' mask (batch, Tq), the key steps' masks (batch, Tv), the causal mask (query
    step i sees key steps up to i) and `pairs` (batch, Tq, Tv)."""
    parts = [] if query_mask is None else [query_mask[:, :, None]]
    parts += [m[:, None, :] for m in key_masks if m is not None]
    if causal:
        parts.append(np.tril(np.ones((tq, tv), bool))[None])
    if pairs is not None:
        parts.append(pairs)
    return reduce(np.logical_and, parts) if parts else None


def softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, computed in place: `scores` must be the caller's own array."""
    scores -= scores.max(-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(-1, keepdims=True)
    return scores


def softmax_backward(weights: np.ndarray, d_weights: np.ndarray) -> np.ndarray:
    """The gradient of the scores from that of their softmax `weights` (zero where a weight is)."""
    return weights * (d_weights - (d_weights * weights).sum(-1, keepdims=True))
