"""The typed op records of an inference plan (kernels/inference.pyx): one small record per kind,
with named fields, over integer slot ids.

A slot is one tensor of the plan: a model input, an op's output, or an intermediate value
(batch first; (batch, width) or (batch, steps, width)). Every slot is written once (by an op, or
as a plan input) before it is read. Layers build these records in `inference_ops` and the plan
builder (models/plan.py) numbers the slots; the plan checks every field before running C.

Pure Python with no imports from the package, so layers, models and kernels may all import it.
"""

from __future__ import annotations

from collections import namedtuple

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")  # the ones the plan runs in C
MERGE_KINDS = ("concat", "add", "subtract", "multiply", "average", "maximum", "minimum")
RECURRENT_KINDS = ("gru", "lstm")
POOL_KINDS = ("max", "average", "global_max", "global_average")
PADDINGS = ("valid", "same")
CONV_PADDINGS = ("valid", "same", "causal")
NORM_KINDS = ("layer", "batch")


class RecurrentOp(namedtuple("RecurrentOp", "kind kernel recurrent_kernel bias reset_after "
                                            "reverse return_sequences input initial_states "
                                            "outputs")):
    """A GRU ('gru') or LSTM ('lstm') over the sequence in slot `input`, in Keras layouts
    (kernel (F, gates*H), recurrent_kernel (H, gates*H), bias: GRU (2, 3H) when reset_after
    else (3H,), LSTM (4H,); zeros when the layer has none). `reset_after` is ignored for an
    LSTM. `initial_states`: () or one slot per state (GRU: h; LSTM: h, c) of shape (batch, H).
    `outputs`: (y,) or (y, h) / (y, h, c) with return_state; y is the sequence (batch, T, H)
    when return_sequences, else the last h (batch, H)."""

    __slots__ = ()


class DenseOp(namedtuple("DenseOp", "kernel bias activation input output")):
    """y = activation(x kernel + bias) on the last axis of slot `input` (every step of a
    sequence); bias may be None; activation one of ACTIVATIONS."""

    __slots__ = ()


class MergeOp(namedtuple("MergeOp", "kind inputs output axis")):
    """The merge of 2 or more slots of one shape ('concat': of one shape but along `axis`): kind
    one of MERGE_KINDS; axis is -1 (the feature axis) or 1 (the time axis, for sequences), and
    only read for 'concat'. 'subtract' takes exactly two inputs."""

    __slots__ = ()


class RepeatOp(namedtuple("RepeatOp", "n input output")):
    """(batch, width) -> (batch, n, width): the vector repeated at n steps (RepeatVector)."""

    __slots__ = ()


class ActivationOp(namedtuple("ActivationOp", "name input output")):
    """An activation of ACTIVATIONS applied to slot `input` (softmax over the last axis)."""

    __slots__ = ()


class PoolOp(namedtuple("PoolOp", "kind pool_size strides padding keepdims input output")):
    """A pooling over the steps of the sequence in slot `input` (batch, steps, channels), kind
    one of POOL_KINDS. 'max' and 'average' slide a window of `pool_size` steps by `strides`
    with `padding` 'valid' or 'same' (TensorFlow's split: the extra padded step on the right;
    the average counts real steps only); `keepdims` is not read. 'global_max' and
    'global_average' summarise every step: (batch, channels), or (batch, 1, channels) when
    `keepdims`; pool_size, strides and padding are not read."""

    __slots__ = ()


class NormOp(namedtuple("NormOp", "kind gamma beta mean variance epsilon input output")):
    """y = (x - mean) / sqrt(variance + epsilon) * gamma + beta over the last axis of slot
    `input`. 'layer': mean and variance are each row's own (both fields None); 'batch': the
    moving statistics, arrays of the width. gamma and beta are arrays of the width or None
    (scale=False, center=False)."""

    __slots__ = ()


class ConvOp(namedtuple("ConvOp", "kernel bias strides padding dilation_rate groups activation "
                                  "input output")):
    """y = activation(conv1d(x, kernel) + bias) over the steps of the sequence in slot `input`
    (batch, steps, channels), as Keras' Conv1D computes it with channels last: kernel
    (kernel_size, channels // groups, filters), bias (filters,) or None, padding one of
    CONV_PADDINGS, strides and dilation_rate >= 1, groups dividing the channels and the
    filters, activation one of ACTIVATIONS."""

    __slots__ = ()


class LayerOps(namedtuple("LayerOps", "ops outputs")):
    """What a layer's `inference_ops` returns for one call: its op records, in run order, and
    the slot holding each of the call's outputs (an identity layer returns no op and its input
    slot)."""

    __slots__ = ()


OP_TYPES = (RecurrentOp, DenseOp, MergeOp, RepeatOp, ActivationOp, PoolOp, NormOp, ConvOp)
