"""The estimators' X: a 3-D array (samples, timesteps, features), a 2-D array (samples, timesteps)
of one feature per step, or a list of sequences of different lengths, read into one zero-padded
float64 array and a mask of the valid steps (the kernels skip the padding exactly)."""

from typing import NamedTuple, Optional

import numpy as np


class SequenceBatch(NamedTuple):
    values: np.ndarray            # (samples, timesteps, features) float64, zero past each end
    mask: Optional[np.ndarray]    # (samples, timesteps) bool, None when no sequence is padded
    columns: Optional[int]        # a 2-D X's number of columns (scikit-learn's n_features), else None


def finite_float_array(a, name):
    """`a` as a float64 array, with scikit-learn's messages for complex, NaN and infinite values."""
    a = np.asarray(a)
    if np.iscomplexobj(a):
        raise ValueError(f"Complex data not supported: {name} has dtype {a.dtype}")
    if a.dtype.kind in "USVMm":  # numbers written as text, raw bytes and dates are not data
        raise TypeError(f"{name} must be numeric, got dtype {a.dtype}")
    a = a.astype(np.float64, copy=False)  # object arrays of numbers convert; others raise TypeError
    if np.isnan(a).any():
        raise ValueError(f"Input {name} contains NaN.")
    if not np.isfinite(a).all():
        raise ValueError(f"Input {name} contains infinity or a value too large for dtype('float64').")
    return a


def _is_ragged(X):
    """Whether X is a list of sequences of different lengths, which np.asarray cannot stack."""
    if not isinstance(X, (list, tuple)) or not all(hasattr(s, "__len__") for s in X):
        return False
    return len({len(s) for s in X}) > 1


def _ragged_batch(X):
    sequences = []
    for i, s in enumerate(X):
        s = finite_float_array(s, f"X[{i}]")
        if s.ndim not in (1, 2) or len(s) == 0:
            raise ValueError(f"X[{i}] must be a non-empty sequence of shape (timesteps,) or "
                             f"(timesteps, features), got shape {s.shape}")
        sequences.append(s.reshape(len(s), -1))
    widths = {s.shape[1] for s in sequences}
    if len(widths) > 1:
        raise ValueError(f"the sequences of X have different numbers of features: {sorted(widths)}")
    lengths = np.array([len(s) for s in sequences])
    values = np.zeros((len(sequences), lengths.max(), widths.pop()))
    for row, s in zip(values, sequences):
        row[:len(s)] = s
    return SequenceBatch(values, np.arange(lengths.max()) < lengths[:, None], None)


def read_sequences(X):
    """X as a SequenceBatch; ValueError or TypeError naming what is wrong with it."""
    if hasattr(X, "toarray"):
        raise TypeError("X is a sparse matrix, and the GRU estimators take dense data: pass "
                        "X.toarray()")
    if _is_ragged(X):
        return _ragged_batch(X)
    x = finite_float_array(X, "X")
    if x.ndim not in (2, 3):
        raise ValueError(f"X must be 2-D (samples, timesteps) or 3-D (samples, timesteps, features),"
                         f" got an array of shape {x.shape}. Reshape your data: X.reshape(1, -1) "
                         "for one sequence, X.reshape(-1, 1) for sequences of one step.")
    if x.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={x.shape}) while a minimum of 1 is "
                         "required.")
    if x.shape[1] == 0:
        raise ValueError(f"X has no timesteps: found array with 0 feature(s) (shape={x.shape}) "
                         "while a minimum of 1 is required.")
    if x.ndim == 3 and x.shape[2] == 0:
        raise ValueError(f"X has no features: shape {x.shape}")
    if x.ndim == 2:
        return SequenceBatch(np.ascontiguousarray(x[:, :, None]), None, x.shape[1])
    return SequenceBatch(np.ascontiguousarray(x), None, None)
