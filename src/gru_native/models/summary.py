"""model.summary(): Keras 3's table of layers, output shapes and parameter counts; a functional
model's table also says what each layer is connected to."""

from __future__ import annotations

from typing import Any, Callable


def _output_shape(layer, model) -> str:
    nodes = [n for n in model.graph.nodes if n.layer is layer] if model.built else []
    if not nodes and layer.nodes:
        nodes = layer.nodes[:1]
    if not nodes:
        return "?"
    shapes = [t.shape for t in nodes[0].outputs]
    return str(shapes[0]) if len(shapes) == 1 else str(shapes)


def _connected_to(layer, model) -> str:
    """'inbound_layer[node][tensor]' of every input of the layer's calls, as Keras prints."""
    names = []
    for node in (n for n in model.graph.nodes if n.layer is layer):
        for t in node.inputs:
            names.append(f"{t.layer.name}[{t.layer.nodes.index(t.node)}][{t.index}]")
    return ", ".join(names) or "-"


def print_summary(model: Any, print_fn: Callable[[str], Any]) -> None:
    connections = model.show_connections
    layers = model.layers
    rows = []
    for layer in layers:
        row = [f"{layer.name} ({type(layer).__name__})",
               _output_shape(layer, model) if layer.built else "?",
               f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"]
        if connections:
            row.append(_connected_to(layer, model))
        rows.append(row)
    heads = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connections else [])
    widths = [max(31, *(len(r[0]) + 2 for r in rows)), max(22, *(len(r[1]) + 2 for r in rows)), 13]
    if connections:
        widths.append(max(20, *(len(r[3]) + 2 for r in rows)))

    def line(left, mid, right, fill):
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def row_text(cells, heavy=False):
        bar = "┃" if heavy else "│"
        parts = [f"{cells[0]:<{widths[0]}}", f"{cells[1]:<{widths[1]}}", f"{cells[2]:>{widths[2]}}"]
        if connections:
            parts.append(f"{cells[3]:<{widths[3]}}")
        return f"{bar} " + f" {bar} ".join(parts) + f" {bar}"

    out = [f'Model: "{model.name}"', line("┏", "┳", "┓", "━"), row_text(heads, heavy=True),
           line("┡", "╇", "┩", "━")]
    for i, r in enumerate(rows):
        out.append(row_text(r))
        out.append(line("├", "┼", "┤", "─") if i < len(rows) - 1 else line("└", "┴", "┘", "─"))
    total = model.count_params() if model.built else 0
    frozen = sum(layer.count_non_trainable_params() for layer in layers if layer.built)
    item = model.dtype.itemsize
    out += [f" Total params: {total:,} ({_human_bytes(total * item)})",
            f" Trainable params: {total - frozen:,} ({_human_bytes((total - frozen) * item)})",
            f" Non-trainable params: {frozen:,} ({_human_bytes(frozen * item)})"]
    for text in out:
        print_fn(text)


def _human_bytes(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024
