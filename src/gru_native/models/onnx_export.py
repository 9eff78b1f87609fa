"""Export a model to ONNX (`model.export(path, format="onnx")`), for onnxruntime and other ONNX
runtimes: a Sequential chain or any functional graph. Each GRU becomes the standard `GRU`
operator (`linear_before_reset` from reset_after, one or both directions), each LSTM the `LSTM`
operator, Dense a MatMul and an Add, Conv1D a Conv, activations and merge layers their operators;
batch size and sequence lengths stay dynamic. Needs the `onnx` package (only at export).

The graph has one input per model input (a Sequential's is "input", a functional model's is
named by its Input layer) and one output per model output (a Sequential's is "output", else the
output names: the output layers' names, or the keys of an outputs dict). Every layer call
(node) writes its outputs to tensors named "<layer>:<call>:<output index>", <call> counting the
layer's calls in the graph; a layer called twice reads the same initializers.

Layouts: the ONNX GRU takes W (directions, 3H, in), R (directions, 3H, H) and B (directions,
6H) = [input biases, recurrent biases] with the gates in the order z, r, h, which is Keras'
order, transposed (the LSTM: 4H rows, gates i, o, f, c); the sequences are time-major, so each
recurrent operator sits between two Transposes, and its states are (directions, batch, H).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Union

import numpy as np

from .. import layers as L
from ..layers.attention_weights import EXCLUDED
from ..layers.padding_mask import PaddingMask
from .graph import unique_names

_ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax"}


class _Graph:
    """The nodes and initializers of the graph being built, with fresh tensor names."""

    def __init__(self, onnx: Any, reserved: set):
        self.onnx, self.nodes, self.initializers, self.count = onnx, [], [], 0
        self.taken = set(reserved)  # the graph's input and output names
        self.weights: dict = {}  # (id(layer), what) -> initializer name, for shared layers
        self.start, self.renamed = 0, {}  # the current layer call's first node, its renames

    def name(self, hint: str) -> str:
        while True:
            self.count += 1
            name = f"{hint}_{self.count}"
            if name not in self.taken:
                self.taken.add(name)
                return name

    def const(self, value: np.ndarray, hint: str) -> str:
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, layer: Any, what: str, make: Callable[[], np.ndarray]) -> str:
        """The initializer of a layer's weight, made once however often the layer is called."""
        key = (layer.name, what)  # a layer's name is unique in a model; a twin shares it
        if key not in self.weights:
            self.weights[key] = self.const(make(), what)
        return self.weights[key]

    def op(self, op_type: str, inputs: list, hint: str, outputs: int = 1, **attrs: Any):
        names = [self.name(hint) for _ in range(outputs)]
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, names, **attrs))
        return names[0] if outputs == 1 else names

    def axes(self, *axes: int) -> str:
        return self.const(np.array(axes, np.int64), "axes")

    def begin_call(self) -> None:
        self.start, self.renamed = len(self.nodes), {}

    def rename(self, value: str, name: str) -> str:
        """Give `value`, made by the current layer call's nodes, the name `name`; a value made
        earlier (a layer that is the identity, e.g. Dropout) keeps its name, as no node of this
        call writes it."""
        if value in self.renamed:  # one value for two outputs (y and h of a GRU): an Identity
            self.nodes.append(self.onnx.helper.make_node("Identity", [self.renamed[value]], [name]))
            return name
        if not any(value in n.output for n in self.nodes[self.start:]):
            return value
        for node in self.nodes[self.start:]:
            for field in (node.input, node.output):
                for i, v in enumerate(field):
                    if v == value:
                        field[i] = name
        self.renamed[value] = name
        self.taken.add(name)
        return name


# ---- recurrent layers ---------------------------------------------------------------------------
def _onnx_weights(layer) -> tuple:
    """A GRU's or LSTM's (W, R, B) for one direction of the ONNX operator: W (gates, in),
    R (gates, H), B = [input biases, recurrent biases]. ONNX orders an LSTM's gates i, o, f, c
    (Keras: i, f, c, o) and a GRU's z, r, h (Keras' own order)."""
    kernel, recurrent = layer.weights[0], layer.weights[1]
    G = kernel.shape[1]
    bias = layer.weights[2] if layer.use_bias else np.zeros(G, kernel.dtype)
    if type(layer).__name__ == "LSTM":
        def iofc(a):
            blocks = np.split(a, 4, axis=-1)
            return np.concatenate([blocks[k] for k in (0, 3, 1, 2)], axis=-1)
        kernel, recurrent, bias = iofc(kernel), iofc(recurrent), iofc(bias)
    if bias.ndim == 2:  # a reset_after GRU: [input; recurrent] already
        bias = bias.reshape(-1)
    elif bias.size == G:  # one bias: all on the input side
        bias = np.concatenate([bias, np.zeros_like(bias)])
    return kernel.T, recurrent.T, bias


def _recurrent(g: _Graph, x: str, layers: list, owner: Any, initial: list = ()) -> tuple:
    """One ONNX GRU or LSTM over batch-major x running `layers` (one layer, or the forward and
    backward layers of a Bidirectional `owner`) from the (batch, H) states `initial` (none:
    zeros). Returns (each direction's output, batch-major: (B, T, H) when they return
    sequences, else (B, H); the final states (B, H) of a one-direction operator: [h] or [h, c])."""
    H, first = layers[0].units, layers[0]
    if first.stateful:
        raise ValueError(f"layer {first.name!r} is stateful: export a stateless copy")
    if len(layers) == 2:
        if first.go_backwards or not layers[1].go_backwards:
            raise ValueError("export takes a Bidirectional whose forward layer runs forwards")
        direction = "bidirectional"
    else:
        direction = "reverse" if first.go_backwards else "forward"

    def stacked(k):  # one of W, R, B for every direction
        return lambda: np.stack([_onnx_weights(layer)[k] for layer in layers])
    W, R, B = (g.weight(owner, what, stacked(k)) for k, what in enumerate("WRB"))
    time_major = g.op("Transpose", [x], "time_major", perm=[1, 0, 2])
    inputs = [time_major, W, R, B]
    if initial:  # the operator's states are (directions, B, H); no sequence_lens
        inputs += [""] + [g.op("Unsqueeze", [s, g.axes(0)], "initial") for s in initial]
    if type(first).__name__ == "LSTM":  # outputs Y, Y_h (and Y_c, for return_state)
        y, *finals = g.op("LSTM", inputs, "lstm", outputs=3 if first.return_state else 2,
                          hidden_size=H, direction=direction)
    else:
        y, *finals = g.op("GRU", inputs, "gru", outputs=2, hidden_size=H, direction=direction,
                          linear_before_reset=int(first.reset_after))
    outputs = []
    for d in range(len(layers)):  # Y (T, directions, B, H), Y_h (directions, B, H)
        if first.return_sequences:
            yd = g.op("Gather", [y, g.const(np.array(d, np.int64), "direction")], "y", axis=1)
            if layers[d].go_backwards and len(layers) == 1:  # Keras returns it reversed in time
                yd = g.op("Slice", [yd, g.const(np.array([-1]), "start"),
                                    g.const(np.array([-2**63]), "end"), g.const(np.array([0]), "axis"),
                                    g.const(np.array([-1]), "step")], "reversed")
            outputs.append(g.op("Transpose", [yd], "batch_major", perm=[1, 0, 2]))
        else:
            outputs.append(g.op("Gather", [finals[0], g.const(np.array(d, np.int64), "direction")],
                                "h", axis=0))
    states = [g.op("Squeeze", [s, g.axes(0)], "state") for s in finals] \
        if first.return_state else []
    return outputs, states


def _export_rnn(g, layer, xs, tensors):
    """GRU or LSTM: [y] or, with return_state, [y, h] / [y, h, c]; xs[1:] are the initial
    states the call was given."""
    (y,), states = _recurrent(g, xs[0], [layer], layer, xs[1:])
    return [y] + states


def _export_bidirectional(g, layer, xs, tensors):
    (a, b), _ = _recurrent(g, xs[0], [layer.forward_layer, layer.backward_layer], layer)
    mode = layer.merge_mode
    if mode == "concat":
        return [g.op("Concat", [a, b], "concat", axis=-1)]
    if mode == "mul":
        return [g.op("Mul", [a, b], "mul")]
    total = g.op("Add", [a, b], "sum")
    if mode == "sum":
        return [total]
    return [g.op("Mul", [total, g.const(np.array(0.5, np.float32), "half")], "ave")]


# ---- per-step layers ----------------------------------------------------------------------------
def _activation(g: _Graph, x: str, activation: Any, axis: int = -1) -> str:
    """activation(x); a softmax over `axis` (the features)."""
    if activation.name == "linear":
        return x
    if activation.name not in _ACTIVATIONS:
        raise ValueError(f"activation {activation.name!r} has no ONNX export")
    extra = {"axis": axis} if activation.name == "softmax" else {}
    return g.op(_ACTIVATIONS[activation.name], [x], activation.name, **extra)


def _export_dense(g, layer, xs, tensors):
    # MatMul broadcasts over the leading axes: one op for (B, F) and (B, T, F) alike
    x = g.op("MatMul", [xs[0], g.weight(layer, "kernel", lambda: layer.weights[0])], "matmul")
    if layer.use_bias:
        x = g.op("Add", [x, g.weight(layer, "bias", lambda: layer.weights[1])], "dense")
    return [_activation(g, x, layer.activation)]


def _export_activation(g, layer, xs, tensors):
    return [_activation(g, xs[0], layer.activation)]


def _export_identity(g, layer, xs, tensors):
    # Dropout: the identity at inference; PaddingMask (the estimators' front end): the
    # identity without a mask, and the exported graph takes none
    return [xs[0]]


def _export_embedding(g, layer, xs, tensors):
    if layer.mask_zero:
        raise ValueError(f"layer {layer.name!r} (Embedding) has mask_zero=True: masks have no "
                         "ONNX export; export a copy with mask_zero=False")
    # Gather takes int32 or int64 indices; a float input holds whole numbers (predict checks)
    ids = xs[0] if tensors[0].dtype == "int64" else g.op("Cast", [xs[0]], "ids",
                                                         to=g.onnx.TensorProto.INT64)
    return [g.op("Gather", [g.weight(layer, "embeddings", lambda: layer.weights[0]), ids],
                 "embedding", axis=0)]


def _export_time_distributed(g, layer, xs, tensors):
    inner = layer.layer
    export = _exporter(inner)
    if isinstance(inner, _per_step_layers()):  # they act on the last axis: no folding needed
        return export(g, inner, xs, tensors)
    # Time folded into batch, as the layer runs: (B, T, ...) -> (B*T, ...) -> inner -> (B, T, ...)
    shape = g.op("Shape", [xs[0]], "shape")
    rest = g.op("Slice", [shape, g.axes(2), g.axes(2**62)], "step_shape")
    folded = g.op("Reshape", [xs[0], g.op("Concat", [g.axes(-1), rest], "folded_shape", axis=0)],
                  "folded")
    step = _StepTensor((None,) + tuple(tensors[0].shape[2:]), tensors[0].dtype)
    (y,) = export(g, inner, [folded], [step])
    bt = g.op("Slice", [shape, g.axes(0), g.axes(2)], "batch_time")
    y_rest = g.op("Slice", [g.op("Shape", [y], "shape"), g.axes(1), g.axes(2**62)], "step_shape")
    return [g.op("Reshape", [y, g.op("Concat", [bt, y_rest], "unfolded_shape", axis=0)],
                 "unfolded")]


class _StepTensor:
    """What the exporters read of a tensor: its shape (batch first) and dtype."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype, self.ndim = tuple(shape), dtype, len(shape)


# ---- merge layers -------------------------------------------------------------------------------
def _same_rank(g, xs, tensors):
    """Keras gives a lower-rank input axes after the batch axis; ONNX broadcasting would align
    it from the last axis instead, so the axes are added first."""
    rank = max(t.ndim for t in tensors)
    return [x if t.ndim == rank else
            g.op("Unsqueeze", [x, g.axes(*range(1, 1 + rank - t.ndim))], "expanded")
            for x, t in zip(xs, tensors)]


def _chain(op_type, hint):
    """A merge as a left fold of a binary op: ((a op b) op c), NumPy's order of operations."""
    def export(g, layer, xs, tensors):
        xs = _same_rank(g, xs, tensors)
        y = xs[0]
        for x in xs[1:]:
            y = g.op(op_type, [y, x], hint)
        return [y]
    return export


def _export_average(g, layer, xs, tensors):
    (total,) = _chain("Add", "sum")(g, layer, xs, tensors)
    # a division by n, as the layer's y / n (a product by 1/n rounds differently)
    return [g.op("Div", [total, g.const(np.array(len(xs), np.float32), "count")], "average")]


def _variadic(op_type, hint):
    def export(g, layer, xs, tensors):
        return [g.op(op_type, _same_rank(g, xs, tensors), hint)]
    return export


def _export_concatenate(g, layer, xs, tensors):
    axis = layer._non_batch_axis(tensors[0].ndim - 1) + 1
    return [g.op("Concat", xs, "concat", axis=axis)]


# ---- reshaping layers ---------------------------------------------------------------------------
def _export_repeat_vector(g, layer, xs, tensors):
    # (B, F) -> (B, 1, F), broadcast against (1, n, 1): the batch stays dynamic
    x = g.op("Unsqueeze", [xs[0], g.axes(1)], "expanded")
    return [g.op("Expand", [x, g.const(np.array([1, layer.n, 1], np.int64), "repeats")],
                 "repeated")]


def _export_flatten(g, layer, xs, tensors):
    x = xs[0]
    axes = layer._axes(tensors[0].ndim)
    if axes is not None:  # channels_first: channels last before flattening, as the layer
        x = g.op("Transpose", [x], "channels_last", perm=list(axes))
    # 0 copies the (dynamic) batch size
    return [g.op("Reshape", [x, g.const(np.array([0, -1], np.int64), "flat_shape")], "flatten")]


def _export_reshape(g, layer, xs, tensors):
    target = np.array((0,) + layer.target_shape, np.int64)  # 0: the batch size, kept
    return [g.op("Reshape", [xs[0], g.const(target, "target_shape")], "reshape")]


def _export_permute(g, layer, xs, tensors):
    return [g.op("Transpose", [xs[0]], "permute", perm=[0, *layer.dims])]


def _export_masking(g, layer, xs, tensors):
    raise ValueError(f"layer {layer.name!r} (Masking) has no ONNX export: the graph does not "
                     "carry masks; export a model without masking")


# ---- convolution, pooling, normalisation, attention ---------------------------------------------
def _channels_first(g, x, layer):
    """ONNX pools and convolves (batch, channels, steps): a channels_last tensor is transposed
    there (and the result back: the same permutation)."""
    return x if layer.data_format == "channels_first" else g.op("Transpose", [x], "ncw",
                                                                 perm=[0, 2, 1])


def _windowed_pooling(op_type):
    def export(g, layer, xs, tensors):
        # SAME_UPPER: the extra padding step on the right, as TensorFlow; the average counts
        # real steps only (count_include_pad=0)
        extra = {"count_include_pad": 0} if op_type == "AveragePool" else {}
        y = g.op(op_type, [_channels_first(g, xs[0], layer)], "pool",
                 kernel_shape=[layer.pool_size], strides=[layer.strides],
                 auto_pad="SAME_UPPER" if layer.padding == "same" else "VALID", **extra)
        return [_channels_first(g, y, layer)]
    return export


def _conv_pads(layer) -> dict:
    """The padding attributes of Keras' Conv1D as an ONNX Conv's: explicit pads (begin, end)
    where they do not depend on the length ('causal'; 'same' at stride 1, where TensorFlow's
    split gives the extra zero to the end); 'same' at a larger stride pads as each length
    needs, which SAME_UPPER does at run time (Keras then allows no dilation, and onnxruntime's
    SAME_UPPER takes none)."""
    span = layer.dilation_rate * (layer.kernel_size - 1)  # the zeros 'same' and 'causal' add
    if layer.padding == "valid":
        return {"pads": [0, 0]}
    if layer.padding == "causal":
        return {"pads": [span, 0]}
    if layer.strides == 1:
        return {"pads": [span // 2, span - span // 2]}
    return {"auto_pad": "SAME_UPPER"}


def _export_conv1d(g, layer, xs, tensors):
    # Keras' kernel (k, in / groups, filters) is ONNX's (filters, in / groups, k) reversed
    inputs = [_channels_first(g, xs[0], layer),
              g.weight(layer, "kernel", lambda: layer.weights[0].transpose(2, 1, 0))]
    if layer.use_bias:
        inputs.append(g.weight(layer, "bias", lambda: layer.weights[1]))
    y = g.op("Conv", inputs, "conv", kernel_shape=[layer.kernel_size], strides=[layer.strides],
             dilations=[layer.dilation_rate], group=layer.groups, **_conv_pads(layer))
    # the activation over the filters: the last axis once back in channels_last, else axis 1
    if layer.data_format == "channels_first":
        return [_activation(g, y, layer.activation, axis=1)]
    return [_activation(g, _channels_first(g, y, layer), layer.activation)]


def _global_pooling(op_type):
    def export(g, layer, xs, tensors):
        axis = 1 if layer.data_format == "channels_last" else 2
        return [g.op(op_type, [xs[0]], "global_pool", axes=[axis], keepdims=int(layer.keepdims))]
    return export


def _export_layer_normalization(g, layer, xs, tensors):
    features = tensors[0].shape[-1]
    gamma = g.weight(layer, "gamma", lambda: layer.weights[0] if layer.scale
                     else np.ones(features, np.float32))
    inputs = [xs[0], gamma]
    if layer.center:
        inputs.append(g.weight(layer, "beta", lambda: layer.weights[int(layer.scale)]))
    return [g.op("LayerNormalization", inputs, "layer_norm", axis=-1, epsilon=layer.epsilon)]


def _export_batch_normalization(g, layer, xs, tensors):
    # at inference an affine map per feature: x * a + b, from the moving statistics
    def affine():
        mean, var = layer.weights[-2], layer.weights[-1]
        a = 1 / np.sqrt(var + layer.epsilon) * (layer.weights[0] if layer.scale else 1)
        b = (layer.weights[int(layer.scale)] if layer.center else 0) - mean * a
        return a.astype(np.float32), np.asarray(b, np.float32)
    a = g.weight(layer, "scale", lambda: affine()[0])
    b = g.weight(layer, "shift", lambda: affine()[1])
    return [g.op("Add", [g.op("Mul", [xs[0], a], "scaled"), b], "batch_norm")]


def _causal_pairs(g, scores):
    """(Tq, Tv) booleans of the scores' last two axes, True where query step i may see key step
    j <= i: a Trilu of ones (it broadcasts over the batch and the heads)."""
    pairs_shape = g.op("Slice", [g.op("Shape", [scores], "shape"), g.axes(-2),
                                 g.axes(np.iinfo(np.int64).max)], "pairs_shape")
    true = g.onnx.helper.make_tensor("true", g.onnx.TensorProto.BOOL, [1], [True])
    return g.op("Trilu", [g.op("ConstantOfShape", [pairs_shape], "ones", value=true)], "causal",
                upper=0)


def _export_attention(g, layer, xs, tensors):
    q, v = xs[0], xs[1]
    k = xs[2] if len(xs) > 2 else v
    scale = g.weight(layer, "scale", lambda: layer.weights[0]) if layer.use_scale else None
    if layer.score_mode == "dot":
        scores = g.op("MatMul", [q, g.op("Transpose", [k], "key_t", perm=[0, 2, 1])], "scores")
        if scale is not None:
            scores = g.op("Mul", [scores, scale], "scaled_scores")
    else:
        pair = g.op("Add", [g.op("Unsqueeze", [q, g.axes(2)], "q"),
                            g.op("Unsqueeze", [k, g.axes(1)], "k")], "pairs")
        if scale is not None:
            pair = g.op("Mul", [pair, scale], "scaled_pairs")
        summed = g.op("ReduceSum", [g.op("Tanh", [pair], "tanh"), g.axes(-1)], "summed",
                      keepdims=0)
        scores = g.op("Mul", [summed, g.weight(layer, "concat_score_weight",
                                               lambda: layer.weights[-1])], "scores")
    if layer.call_options.get("use_causal_mask"):  # as the layer: EXCLUDED off a left-out score
        excluded = g.op("Sub", [scores, g.const(np.array(EXCLUDED, np.float32), "excluded")],
                        "excluded_scores")
        scores = g.op("Where", [_causal_pairs(g, scores), scores, excluded], "masked_scores")
    weights = g.op("Softmax", [scores], "attention_weights", axis=-1)
    out = g.op("MatMul", [weights, v], "attention")
    return [out, weights] if layer.call_options.get("return_attention_scores") else [out]


def _export_multi_head_attention(g, layer, xs, tensors):
    """Each projection a MatMul (and Add) with its kernel flattened to (features, heads * dim),
    the heads split off by a Reshape and put before the steps by a Transpose; the causal mask a
    Trilu of ones, an attention mask input a Cast to bool; the heads joined again before the
    output projection."""
    N, dims = layer.num_heads, {"query": layer.key_dim, "key": layer.key_dim,
                                "value": layer.value_dim}
    (wq, bq), (wk, bk), (wv, bv), (wo, bo) = layer.projections()

    def project(x, name, kernel, bias, perm):
        y = g.op("MatMul", [x, g.weight(layer, f"{name}_kernel",
                                        lambda: kernel.reshape(kernel.shape[0], -1))], name)
        if bias is not None:
            y = g.op("Add", [y, g.weight(layer, f"{name}_bias", lambda: bias.reshape(-1))], name)
        heads = g.op("Reshape", [y, g.const(np.array([0, 0, N, dims[name]], np.int64),
                                            "heads_shape")], f"{name}_heads")
        return g.op("Transpose", [heads], f"{name}_heads", perm=perm)

    q = project(xs[0], "query", wq, bq, [0, 2, 1, 3])  # (B, N, Tq, key_dim)
    q = g.op("Mul", [q, g.const(np.array(1 / np.sqrt(layer.key_dim), np.float32), "scale")],
             "scaled_query")
    k_t = project(xs[2] if len(xs) > 2 else xs[1], "key", wk, bk, [0, 2, 3, 1])  # (B, N, kd, Tv)
    v = project(xs[1], "value", wv, bv, [0, 2, 1, 3])
    scores = g.op("MatMul", [q, k_t], "scores")
    allowed = None
    if layer.call_options.get("use_causal_mask"):
        allowed = _causal_pairs(g, scores)
    if len(xs) > 3:  # (B, Tq, Tv): the same pairs for every head
        given = g.op("Cast", [xs[3]], "attention_mask", to=g.onnx.TensorProto.BOOL)
        given = g.op("Unsqueeze", [given, g.axes(1)], "attention_mask")
        allowed = given if allowed is None else g.op("And", [allowed, given], "allowed")
    if allowed is not None:
        scores = g.op("Where", [allowed, scores, g.const(np.array(-EXCLUDED, np.float32), "excluded")],
                      "masked_scores")
    weights = g.op("Softmax", [scores], "attention_weights", axis=-1)
    if allowed is not None:  # a query step with no pair left: zeros, as the layer
        weights = g.op("Where", [allowed, weights, g.const(np.array(0, np.float32), "zero")],
                       "attention_weights")
    heads = g.op("Transpose", [g.op("MatMul", [weights, v], "attention")], "steps_first",
                 perm=[0, 2, 1, 3])
    joined = g.op("Reshape", [heads, g.const(np.array([0, 0, -1], np.int64), "joined_shape")],
                  "joined")
    out = g.op("MatMul", [joined, g.weight(layer, "attention_output_kernel",
                                           lambda: wo.reshape(N * layer.value_dim, -1))],
               "attention_output")
    if bo is not None:
        out = g.op("Add", [out, g.weight(layer, "attention_output_bias", lambda: bo.reshape(-1))],
                   "attention_output")
    if wo.ndim > 3:  # an output_shape of several axes
        out = g.op("Reshape", [out, g.const(np.array([0, 0, *wo.shape[2:]], np.int64),
                                            "output_shape")], "attention_output")
    return [out, weights] if layer.call_options.get("return_attention_scores") else [out]


# ---- the dispatch table -------------------------------------------------------------------------
def _exporters() -> dict:
    """Layer class -> exporter(g, layer, input names, input tensors) -> output names, one per
    output of the call."""
    return {L.GRU: _export_rnn, L.LSTM: _export_rnn, L.Bidirectional: _export_bidirectional,
            L.Dense: _export_dense, L.Activation: _export_activation, L.Dropout: _export_identity,
            L.Embedding: _export_embedding, L.TimeDistributed: _export_time_distributed,
            L.Concatenate: _export_concatenate, L.Add: _chain("Add", "add"),
            L.Subtract: _chain("Sub", "subtract"), L.Multiply: _chain("Mul", "multiply"),
            L.Average: _export_average, L.Maximum: _variadic("Max", "maximum"),
            L.Minimum: _variadic("Min", "minimum"), L.RepeatVector: _export_repeat_vector,
            L.Flatten: _export_flatten, L.Reshape: _export_reshape, L.Permute: _export_permute,
            L.Masking: _export_masking, L.Conv1D: _export_conv1d,
            L.MaxPooling1D: _windowed_pooling("MaxPool"),
            L.AveragePooling1D: _windowed_pooling("AveragePool"),
            L.GlobalMaxPooling1D: _global_pooling("ReduceMax"),
            L.GlobalAveragePooling1D: _global_pooling("ReduceMean"),
            L.LayerNormalization: _export_layer_normalization,
            L.BatchNormalization: _export_batch_normalization, L.Attention: _export_attention,
            L.MultiHeadAttention: _export_multi_head_attention, PaddingMask: _export_identity}


def _per_step_layers() -> tuple:
    return (L.Dense, L.Activation, L.Dropout)


def _exporter(layer) -> Callable:
    table = _exporters()
    for cls in type(layer).__mro__:  # a subclass exports as its exported base class
        if cls in table:
            return table[cls]
    known = sorted(c.__name__ for c in table if c not in (L.Masking, PaddingMask))
    raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) has no ONNX export; export "
                     f"takes {', '.join(known)}")


# ---- the model ----------------------------------------------------------------------------------
def _value_info(onnx, name, tensor, dims):
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(tensor.dtype))
    return onnx.helper.make_tensor_value_info(name, elem, dims)


def export_onnx(model: Any, path: Union[str, os.PathLike], opset: int = 17) -> None:
    """Write `model` (built, float32, no masking layers) as an ONNX file at `path`."""
    try:
        import onnx
    except ImportError:
        raise ImportError("exporting to ONNX needs the onnx package: pip install onnx") from None

    if not model.built:
        raise ValueError("build the model (give input_shape, or fit/predict once) before export")
    if model.dtype != np.float32:
        raise ValueError("ONNX runtimes run GRUs in float32: export a float32 model")
    graph = model.graph
    # A Sequential keeps the names its files always had; a functional model's are its own.
    sequential = model.onnx_names is not None
    input_names = [model.onnx_names[0]] if sequential else unique_names(
        [t.layer.name for t in graph.inputs], set())
    output_names = [model.onnx_names[1]] if sequential else unique_names(
        list(model.output_names), set(input_names))
    g = _Graph(onnx, set(input_names) | set(output_names))
    names = {id(t): n for t, n in zip(graph.inputs, input_names)}  # id(KerasTensor) -> ONNX name
    calls: dict[int, int] = {}
    for node in graph.nodes:
        layer = node.layer
        export = _exporter(layer)
        call = calls[id(layer)] = calls.get(id(layer), -1) + 1
        g.begin_call()
        caller = layer.with_options(node.options) if node.options else layer
        values = export(g, caller, [names[id(t)] for t in node.inputs], node.inputs)
        for i, (t, value) in enumerate(zip(node.outputs, values)):
            names[id(t)] = g.rename(value, f"{layer.name}:{call}:{i}")
    for t, name in zip(graph.outputs, output_names):
        g.nodes.append(onnx.helper.make_node("Identity", [names[id(t)]], [name]))

    def dims(t, time, always=False):
        """The batch axis and None axes dynamic, axis 1 named `time` when it is None (or
        `always`: a Sequential's sequences, as its files always had)."""
        return ["batch"] + [time if k == 1 and time and (d is None or always) else d
                            for k, d in enumerate(t.shape[1:], start=1)]

    if sequential:
        # An output's time is the input's when every layer keeps the sequence's length.
        keeps = all(isinstance(node.layer, _time_keeping_layers()) for node in graph.nodes)
        (t_in,), (t_out,) = graph.inputs, graph.outputs
        inputs = [_value_info(onnx, "input", t_in, dims(t_in, "time", t_in.ndim == 3))]
        outputs = [_value_info(onnx, "output", t_out,
                               dims(t_out, "time" if keeps else None, keeps and t_out.ndim == 3))]
    else:
        several = len(graph.inputs) > 1  # inputs may differ in length: one time symbol each
        inputs = [_value_info(onnx, n, t, dims(t, f"{n}_time" if several else "time"))
                  for t, n in zip(graph.inputs, input_names)]
        # None axes of outputs stay unnamed: a Reshape or Concatenate may change a length
        outputs = [_value_info(onnx, n, t, dims(t, None))
                   for t, n in zip(graph.outputs, output_names)]
    proto = onnx.helper.make_model(
        onnx.helper.make_graph(g.nodes, model.name, inputs, outputs, g.initializers),
        opset_imports=[onnx.helper.make_opsetid("", opset)], producer_name="gru_native")
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, os.fspath(path))


def _time_keeping_layers() -> tuple:
    return (L.GRU, L.LSTM, L.Bidirectional, L.Dense, L.Activation, L.Dropout, L.Embedding,
            L.TimeDistributed)
