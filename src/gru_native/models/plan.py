"""The inference plan of a model: its graph's nodes, in run order, as the typed op records of
kernels/plan_ops.py over numbered slots (one per tensor), made into one InferencePlan, which
runs the whole graph in one nogil call into C (kernels/inference.pyx).

A model has a plan when every node's layer gives `inference_ops` for its call and every tensor
is a vector (batch, features) or a sequence (batch, timesteps, features) of floats; else
`build_plan` returns None and predict runs node by node (`why_no_plan` says why)."""

from __future__ import annotations

import itertools
import warnings
from typing import TYPE_CHECKING, Optional

from ..kernels import reduced
from ..kernels.inference import InferencePlan
from ..kernels.plan_ops import ConvOp

if TYPE_CHECKING:
    from .model import Model


def graph_ops(model: Model, precision: str = "float32", new_slot=None):
    """(ops, input slots, input shapes, output slots), or a str: why the model has no plan (in
    `precision`: a layer with weights and no kernel in it has none). `new_slot()` numbers the
    slots (by default from 0)."""
    graph = model.graph
    new_slot = new_slot or itertools.count().__next__
    slot_of: dict[int, int] = {}
    inputs, shapes = [], []
    for t, integer in zip(graph.inputs, graph.integer_inputs()):
        shape = tuple(t.shape[1:])
        if integer:
            return f"input {t.name!r} takes integer ids"
        if len(shape) not in (1, 2) or shape[-1] is None:
            return f"input {t.name!r} has shape {t.shape}: the plan runs vectors and sequences"
        slot_of[id(t)] = new_slot()
        inputs.append(slot_of[id(t)])
        shapes.append(shape)
    ops = []
    for node in graph.nodes:
        layer = node.layer
        for t in node.outputs:
            if len(t.shape) not in (2, 3):
                return (f"layer {layer.name!r} gives a tensor of shape {t.shape}: the plan runs "
                        "vectors and sequences")
        made = layer.inference_ops([slot_of[id(t)] for t in node.inputs], new_slot)
        if made is None:
            return f"layer {layer.name!r} ({type(layer).__name__}) has no inference-plan op"
        if len(made.outputs) != len(node.outputs):
            return f"layer {layer.name!r} gives {len(node.outputs)} outputs, its ops {len(made.outputs)}"
        if precision != "float32" and any(isinstance(op, ConvOp) for op in made.ops):
            return f"layer {layer.name!r} ({type(layer).__name__}) has no {precision} kernel"
        ops += made.ops
        for t, s in zip(node.outputs, made.outputs):
            slot_of[id(t)] = s
    if not ops:
        return "the model computes nothing (identity layers only)"
    return ops, inputs, shapes, [slot_of[id(t)] for t in graph.outputs]


# The instruction each reduced precision's products need to be faster than float32's.
INSTRUCTIONS = {"bfloat16": "AVX512_BF16", "int8": "AVX512_BF16 or AVX512_VNNI"}


def build_plan(model: Model, precision: str = "float32") -> Optional[InferencePlan]:
    """The model's InferencePlan in `precision`, pointing into its parameter buffer, or None.
    A RuntimeWarning when this CPU runs the reduced precision's portable loops."""
    made = graph_ops(model, precision)
    if isinstance(made, str):
        return None
    ops, inputs, shapes, outputs = made
    plan = InferencePlan(ops, model.dtype, inputs, shapes, outputs, precision)
    if precision in INSTRUCTIONS and not reduced.native(precision):
        warnings.warn(f"this CPU has no {INSTRUCTIONS[precision]}: precision={precision!r} "
                      "runs portable loops, as exact but slower than float32", RuntimeWarning,
                      stacklevel=5)
    return plan


def why_no_plan(model: Model, precision: str = "float32") -> Optional[str]:
    """Why `build_plan` gives None for the model in `precision` (None when it gives a plan)."""
    made = graph_ops(model, precision)
    return made if isinstance(made, str) else None
