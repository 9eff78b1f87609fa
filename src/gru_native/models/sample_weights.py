"""Sample weights as Keras 3 applies them: checked per output, made from `class_weight`, and
merged with the timestep mask of a sequence output.

A loss divides its weighted sum by the number of entries (Keras' 'sum_over_batch_size'); under
a mask Keras 3 gives each valid entry the weight total/valid, so the masked loss is the weighted
sum over valid entries divided by their count. Metrics take the plain 0/1 mask.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np


def check_sample_weight(weights: Any, n: int, output_shape: tuple, dtype) -> np.ndarray:
    """One output's sample_weight as a float array: (samples,) or, for a sequence output
    (samples, timesteps, ...), (samples, timesteps); a trailing axis of 1 is dropped. Weights
    must be finite and non-negative."""
    try:
        w = np.asarray(weights)
    except ValueError:
        raise ValueError("sample_weight is ragged: give one array") from None
    if w.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must be numeric, got dtype {w.dtype}")
    sequence = len(output_shape) > 2
    if w.ndim == 2 + sequence and w.shape[-1] == 1:
        w = w[..., 0]
    if w.ndim == 0 or w.ndim > 1 + sequence or len(w) != n:
        want = f"({n},)" + (f" or ({n}, {output_shape[1]})" if sequence else "")
        raise ValueError(f"sample_weight must have shape {want} (one weight per sample"
                         f"{', or per timestep' if sequence else ''}), got {w.shape}")
    if w.ndim == 2 and output_shape[1] is not None and w.shape[1] != output_shape[1]:
        raise ValueError(f"per-timestep sample_weight must have shape ({n}, {output_shape[1]}), "
                         f"got {w.shape}")
    w = np.ascontiguousarray(w, dtype)
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinite values")
    if (w < 0).any():
        raise ValueError("sample_weight contains negative values")
    return w


def class_sample_weights(y: np.ndarray, class_weight: dict, output_ndim: int, dtype) -> np.ndarray:
    """The weight of each sample's class (each timestep's, for a sequence output): labels are
    integer ids, 0/1 for one binary output, or one-hot rows (their argmax). Every class in y
    must have a weight."""
    if not isinstance(class_weight, dict) or not class_weight:
        raise TypeError(f"class_weight must be a non-empty dict {{class: weight}}, got "
                        f"{class_weight!r:.100}")
    labels = np.asarray(y)
    if labels.ndim == output_ndim:  # one-hot rows, or a class axis of 1
        labels = labels[..., 0] if labels.shape[-1] == 1 else np.argmax(labels, axis=-1)
    labels = np.round(labels).astype(np.int64)
    keys, values = [], []
    for key, value in class_weight.items():
        if not isinstance(key, (int, np.integer)) or isinstance(key, bool):
            raise TypeError(f"class_weight keys must be integer class ids, got {key!r}")
        value = float(value)
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"class_weight[{key}] must be finite and non-negative, got {value}")
        keys.append(int(key))
        values.append(value)
    present = np.unique(labels)
    missing = sorted(set(present.tolist()) - set(keys))
    if missing:
        raise ValueError(f"class_weight has no weight for the classes {missing} found in y "
                         f"(it has {sorted(keys)})")
    order = np.argsort(keys)
    sorted_keys = np.asarray(keys)[order]
    return np.asarray(values, dtype)[order][np.searchsorted(sorted_keys, labels)]


def loss_weights(sample_weight: Optional[np.ndarray], mask: Optional[np.ndarray],
                 y_pred: np.ndarray, dtype) -> Optional[np.ndarray]:
    """The per-entry weights a loss takes: the sample weights, times the mask scaled by
    total/valid on a masked sequence output (Keras 3's apply_mask)."""
    float_mask = None
    if mask is not None and y_pred.ndim == 3:
        valid = int(np.count_nonzero(mask))
        scale = mask.size / valid if valid else 0.0
        float_mask = np.asarray(mask, dtype) * dtype.type(scale)
    return _merged(sample_weight, float_mask)


def metric_weights(sample_weight: Optional[np.ndarray], mask: Optional[np.ndarray],
                   y_pred: np.ndarray, dtype) -> Optional[np.ndarray]:
    """The per-entry weights a metric takes: the sample weights times the 0/1 mask."""
    float_mask = np.asarray(mask, dtype) if mask is not None and y_pred.ndim == 3 else None
    return _merged(sample_weight, float_mask)


def _merged(sample_weight, float_mask):
    if sample_weight is None or float_mask is None:
        return float_mask if sample_weight is None else sample_weight
    if sample_weight.ndim == 1:
        return sample_weight[:, None] * float_mask
    return sample_weight * float_mask
