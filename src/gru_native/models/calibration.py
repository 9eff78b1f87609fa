"""Calibration of a model's int8 inference.

int8 weights rounded each to its nearest move a sharp classifier's probabilities by a few
hundredths on its closest calls. With calibration, the int8 copies are rounded with error
feedback instead (GPTQ, Frantar et al., 2023; csrc/reduced.h): each product's rounding error is
steered to where its inputs seldom reach, which needs the second moments E[x^T x] of those
inputs. They are measured here by running the float32 inference plan over representative
inputs (fit gives its training data), for every int8 product:
- a recurrent op's kernel: the layer's input at every step;
- its recurrent kernel: the layer's state at every step;
- a dense op's kernel: its input (at every step of a sequence).
and made into the factors the int8 plan takes (`InferencePlan.calibrate`)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from ..kernels.inference import InferencePlan
from ..kernels.plan_ops import DenseOp, RecurrentOp
from .plan import graph_ops

if TYPE_CHECKING:
    from .model import Model

# GPTQ's damping: a hundredth of the mean second moment added to the diagonal, so that inputs
# the data never moves (or moves together) still give a well-conditioned factor.
DAMPING = 0.01


def int8_ops(model: Model, new_slot=None):
    """The model's plan ops as graph_ops gives them for int8, or ValueError saying why it has
    no int8 plan."""
    if model.dtype != np.float32:
        raise ValueError(f"model {model.name!r} computes in {model.dtype}: int8 inference, and "
                         "so its calibration, is for float32 models")
    made = graph_ops(model, "int8", new_slot)
    if isinstance(made, str):
        raise ValueError(f"model {model.name!r} has no int8 inference plan to calibrate: {made}")
    return made


def probe_ops(ops, new_slot):
    """The ops with, after each recurrent op, its twin that writes the state of every step to a
    slot of its own; and per op, the slots its int8 products read: (input, states) for a
    recurrent op, (input, None) for a dense op, None for any other."""
    probed, reads = [], []
    for op in ops:
        probed.append(op)
        if isinstance(op, RecurrentOp):
            states = new_slot()
            probed.append(op._replace(return_sequences=True, outputs=(states,)))
            reads.append((op.input, states))
        elif isinstance(op, DenseOp):
            reads.append((op.input, None))
        else:
            reads.append(None)
    return probed, reads


def second_moments(model: Model, xs: list, batch_size: int) -> list:
    """Per op of the model's plan: None, or the mean of x^T x over the rows (every sample and
    step) of what its kernel and recurrent kernel read (None for a dense op's second), float64.
    ValueError when the model has no float32 inference plan."""
    new_slot = itertools.count().__next__
    ops, inputs, shapes, _ = int8_ops(model, new_slot)
    probed, reads = probe_ops(ops, new_slot)
    wanted = sorted({s for pair in reads if pair for s in pair if s is not None})
    plan = InferencePlan(probed, np.float32, inputs, shapes, wanted)
    sums: dict[int, np.ndarray] = {}
    rows: dict[int, int] = {}
    for start in range(0, len(xs[0]), batch_size):
        values = plan.run([x[start:start + batch_size] for x in xs])
        for s, v in zip(wanted, values):
            v = v.reshape(-1, v.shape[-1]).astype(np.float64)
            sums[s] = sums.get(s, 0) + v.T @ v
            rows[s] = rows.get(s, 0) + len(v)
    moment = {s: sums[s] / rows[s] for s in wanted}
    return [None if pair is None else tuple(None if s is None else moment[s] for s in pair)
            for pair in reads]


def feedback_factor(moment: np.ndarray) -> np.ndarray:
    """The upper Cholesky factor U of (moment + damping)^-1 (U^T U), float32: what
    reduced_calibrate takes. An input that never moves counts as one of unit variance (its
    weights' rounding is then spread as if it did, harmlessly)."""
    h = np.array(moment, np.float64)
    dead = np.diag(h) <= 0
    h[dead, dead] = 1
    h[np.diag_indices_from(h)] += DAMPING * np.mean(np.diag(h))
    return np.ascontiguousarray(np.linalg.cholesky(np.linalg.inv(h)).T, np.float32)


def factor_sizes(model: Model) -> list:
    """Per op of the model's int8 plan: None, or (k of its kernel's factor, k of its recurrent
    kernel's or None for a dense op). ValueError when the model has no int8 plan."""
    return [(op.kernel.shape[0], op.recurrent_kernel.shape[0]) if isinstance(op, RecurrentOp)
            else (op.kernel.shape[0], None) if isinstance(op, DenseOp) else None
            for op in int8_ops(model)[0]]


def checked_calibration(model: Model, calibration) -> list:
    """`calibration` (per op of the model's int8 plan: None or (kernel factor, recurrent kernel
    factor or None)) as float32 (k, k) copies, every factor finite with a positive diagonal;
    ValueError naming the first entry that does not fit."""
    sizes = factor_sizes(model)
    if not isinstance(calibration, (list, tuple)) or len(calibration) != len(sizes):
        raise ValueError(f"a calibration of model {model.name!r} is a list of {len(sizes)} "
                         "entries, one per op of its int8 plan")
    checked = []
    for i, (entry, size) in enumerate(zip(calibration, sizes)):
        if entry is None:
            checked.append(None)
            continue
        pair = tuple(entry) if isinstance(entry, (list, tuple)) else ()
        if size is None or len(pair) != 2 or pair[0] is None or (pair[1] is None) != (size[1] is None):
            raise ValueError(f"calibration {i}: expected "
                             f"{'None' if size is None else '(kernel factor, recurrent kernel factor or None)'}")
        factors = []
        for u, k in zip(pair, size):
            u = None if u is None else np.array(u, np.float32)
            if u is not None and (u.shape != (k, k) or not np.isfinite(u).all()
                                  or not (np.diagonal(u) > 0).all()):
                raise ValueError(f"calibration {i}: a factor must be ({k}, {k}), finite, with a "
                                 f"positive diagonal")
            factors.append(u)
        checked.append(tuple(factors))
    return checked


def calibration_factors(model: Model, xs: list, batch_size: int) -> list:
    """Per op of the model's int8 plan, None or its (kernel factor, recurrent kernel factor or
    None) over the inputs xs (converted arrays, one per model input)."""
    return [None if pair is None else tuple(None if m is None else feedback_factor(m)
                                            for m in pair)
            for pair in second_moments(model, xs, batch_size)]
