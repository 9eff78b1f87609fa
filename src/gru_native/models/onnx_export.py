"""Export a model (a chain of layers) to ONNX (`model.export(path, format="onnx")`), for onnxruntime and other
ONNX runtimes: each GRU becomes the standard `GRU` operator (`linear_before_reset` from
reset_after, one or both directions), each LSTM the `LSTM` operator, Dense a MatMul and an Add, activations their operators;
batch size and sequence length stay dynamic. Needs the `onnx` package (only at export).

Layouts: the ONNX GRU takes W (directions, 3H, in), R (directions, 3H, H) and B (directions,
6H) = [input biases, recurrent biases] with the gates in the order z, r, h, which is Keras'
order, transposed (the LSTM: 4H rows, gates i, o, f, c); the sequences are time-major, so each
recurrent operator sits between two Transposes.
"""

from __future__ import annotations

import os
from typing import Any, Union

import numpy as np

_ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax"}


class _Graph:
    """The nodes and initializers of the graph being built, with fresh tensor names."""

    def __init__(self, onnx: Any):
        self.onnx, self.nodes, self.initializers, self.count = onnx, [], [], 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value: np.ndarray, hint: str) -> str:
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, inputs: list, hint: str, outputs: int = 1, **attrs: Any):
        names = [self.name(hint) for _ in range(outputs)]
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, names, **attrs))
        return names[0] if outputs == 1 else names


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


def _recurrent(g: _Graph, x: str, layers: list) -> list[str]:
    """One ONNX GRU or LSTM over batch-major x running `layers` (one layer, or the forward and
    backward layers of a Bidirectional); returns each direction's output, batch-major: (B, T, H)
    when they return sequences, else (B, H)."""
    H, first = layers[0].units, layers[0]
    if first.stateful:
        raise ValueError(f"layer {first.name!r} is stateful: export a stateless copy")
    W, R, B = zip(*(_onnx_weights(layer) for layer in layers))
    if len(layers) == 2:
        if first.go_backwards or not layers[1].go_backwards:
            raise ValueError("export takes a Bidirectional whose forward layer runs forwards")
        direction = "bidirectional"
    else:
        direction = "reverse" if first.go_backwards else "forward"
    time_major = g.op("Transpose", [x], "time_major", perm=[1, 0, 2])
    inputs = [time_major, g.const(np.stack(W), "W"), g.const(np.stack(R), "R"),
              g.const(np.stack(B), "B")]
    if type(first).__name__ == "LSTM":  # outputs Y, Y_h (and Y_c, unused)
        y, y_h = g.op("LSTM", inputs, "lstm", outputs=2, hidden_size=H, direction=direction)
    else:
        y, y_h = g.op("GRU", inputs, "gru", outputs=2, hidden_size=H, direction=direction,
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
            outputs.append(g.op("Gather", [y_h, g.const(np.array(d, np.int64), "direction")],
                                "h", axis=0))
    return outputs


def _merge(g: _Graph, mode: str, a: str, b: str) -> str:
    if mode == "concat":
        return g.op("Concat", [a, b], "concat", axis=-1)
    if mode == "mul":
        return g.op("Mul", [a, b], "mul")
    total = g.op("Add", [a, b], "sum")
    if mode == "sum":
        return total
    return g.op("Mul", [total, g.const(np.array(0.5, np.float32), "half")], "ave")


def _activation(g: _Graph, x: str, activation: Any) -> str:
    if activation.name == "linear":
        return x
    if activation.name not in _ACTIVATIONS:
        raise ValueError(f"activation {activation.name!r} has no ONNX export")
    extra = {"axis": -1} if activation.name == "softmax" else {}
    return g.op(_ACTIVATIONS[activation.name], [x], activation.name, **extra)


def export_onnx(model: Any, path: Union[str, os.PathLike], opset: int = 17) -> None:
    """Write `model` (built, float32, no masking layers) as an ONNX file at `path`."""
    try:
        import onnx
    except ImportError:
        raise ImportError("exporting to ONNX needs the onnx package: pip install onnx") from None
    from ..layers import GRU, LSTM, Activation, Bidirectional, Dense, Dropout

    if not model.built:
        raise ValueError("build the model (give input_shape, or fit/predict once) before export")
    if model.dtype != np.float32:
        raise ValueError("ONNX runtimes run GRUs in float32: export a float32 model")
    if not model.graph.is_chain():
        raise ValueError(f"model {model.name!r} has several inputs, outputs or branches: ONNX "
                         "export takes a chain of layers (graphs are not exported yet)")
    g = _Graph(onnx)
    x = "input"
    for layer in (node.layer for node in model.graph.nodes):
        if isinstance(layer, (GRU, LSTM)):
            x = _recurrent(g, x, [layer])[0]
        elif isinstance(layer, Bidirectional):
            a, b = _recurrent(g, x, [layer.forward_layer, layer.backward_layer])
            x = _merge(g, layer.merge_mode, a, b)
        elif isinstance(layer, Dense):
            x = g.op("MatMul", [x, g.const(layer.weights[0], "kernel")], "matmul")
            if layer.use_bias:
                x = g.op("Add", [x, g.const(layer.weights[1], "bias")], "dense")
            x = _activation(g, x, layer.activation)
        elif isinstance(layer, Activation):
            x = _activation(g, x, layer.activation)
        elif not isinstance(layer, Dropout):  # dropout is the identity at inference
            raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) has no ONNX export; "
                             "export takes GRU, LSTM, Bidirectional, Dense, Activation and Dropout")
    g.nodes.append(onnx.helper.make_node("Identity", [x], ["output"]))
    dims = ["batch", "time"] + list(model.output_shape[2:]) if len(model.output_shape) == 3 \
        else ["batch"] + list(model.output_shape[1:])
    graph = onnx.helper.make_graph(
        g.nodes, model.name,
        [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT,
                                            ["batch", "time", model.input_shape[-1]])],
        [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, dims)],
        g.initializers)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="gru_native")
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, os.fspath(path))
