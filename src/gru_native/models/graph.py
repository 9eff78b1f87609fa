"""The graph of a functional model: the nodes between its Input tensors and its outputs, in an
order that runs every node after the nodes it reads, checked for what Keras checks (outputs
that do not depend on the inputs, inputs that are not Input tensors, cycles)."""

from __future__ import annotations

from typing import Any

from ..layers import InputLayer, KerasTensor, Node


def flatten_tensors(structure: Any, what: str) -> tuple[list[KerasTensor], list[str] | None]:
    """The tensors of a tensor, list or dict, and the dict's keys (None for a tensor or list)."""
    if isinstance(structure, dict):
        keys = list(structure)
        tensors = [structure[k] for k in keys]
    else:
        keys = None
        tensors = list(structure) if isinstance(structure, (list, tuple)) else [structure]
    for t in tensors:
        if not isinstance(t, KerasTensor):
            raise ValueError(f"a model's {what} must be symbolic tensors (from gru_native.Input "
                             f"and layer calls on them), got {type(t).__name__}")
    if not tensors:
        raise ValueError(f"a model needs at least one of its {what}")
    return tensors, keys


class Graph:
    """`nodes`: the layer calls from `inputs` to `outputs` in run order (Input nodes left out);
    `consumers[id(tensor)]`: how many of those nodes read the tensor."""

    def __init__(self, inputs: list[KerasTensor], outputs: list[KerasTensor]) -> None:
        for t in inputs:
            if not isinstance(t.layer, InputLayer):
                raise ValueError(f"a model's inputs must come from gru_native.Input; {t.name!r} "
                                 f"is the output of layer {t.layer.name!r}")
        if len({id(t) for t in inputs}) != len(inputs):
            raise ValueError("a model's inputs hold the same Input twice")
        self.inputs, self.outputs = inputs, outputs
        known = {id(t) for t in inputs}
        done: dict[int, Node] = {}
        visiting: set[int] = set()  # the nodes on the current path: meeting one again is a cycle
        # Depth first with a stack of its own (a graph of thousands of layers must not reach
        # Python's recursion limit): a node is opened, its inputs pushed above a marker that
        # finishes it once they are done.
        stack = [(t, "the model's outputs", False) for t in reversed(outputs)]
        while stack:
            tensor, reader, finishing = stack.pop()
            node = tensor.node
            if finishing:
                visiting.discard(node.id)
                done[node.id] = node
                continue
            if id(tensor) in known or node.id in done:
                continue
            if isinstance(node.layer, InputLayer):
                raise ValueError(f"Graph disconnected: cannot obtain the value of tensor "
                                 f"{tensor.name!r} (Input {node.layer.name!r}) needed by {reader}: "
                                 "it is not one of the model's inputs")
            if node.id in visiting:
                raise ValueError(f"the graph has a cycle through layer {node.layer.name!r}")
            visiting.add(node.id)
            stack.append((tensor, reader, True))
            stack.extend((t, f"layer {node.layer.name!r}", False) for t in reversed(node.inputs))

        self.nodes = sorted(done.values(), key=lambda n: n.id)
        self.consumers: dict[int, int] = {}
        for node in self.nodes:
            for t in node.inputs:
                self.consumers[id(t)] = self.consumers.get(id(t), 0) + 1
        used = {id(t) for node in self.nodes for t in node.inputs} | {id(t) for t in outputs}
        for t in inputs:
            if id(t) not in used:
                raise ValueError(f"input {t.name!r} is not used by any output of the model")

    def layers(self) -> list:
        """Every layer once, Input layers first, then in the order of their first call."""
        seen: dict[int, Any] = {}
        for t in self.inputs:
            seen.setdefault(id(t.layer), t.layer)
        for node in self.nodes:
            seen.setdefault(id(node.layer), node.layer)
        return list(seen.values())

    def integer_inputs(self) -> list[bool]:
        """Per input: whether it takes integer ids (an integer Input, or read by an Embedding)."""
        return [t.layer.integer_inputs or any(
            node.layer.integer_inputs for node in self.nodes if any(i is t for i in node.inputs))
            for t in self.inputs]

    def is_chain(self) -> bool:
        """One input, one output, and every node reading the one before it only: what the
        inference plan runs."""
        if len(self.inputs) != 1 or len(self.outputs) != 1:
            return False
        previous = self.inputs[0]
        for node in self.nodes:
            if len(node.inputs) != 1 or len(node.outputs) != 1 or node.inputs[0] is not previous \
                    or self.consumers.get(id(previous), 0) != 1:
                return False
            previous = node.outputs[0]
        return previous is self.outputs[0] and len({id(n.layer) for n in self.nodes}) == len(self.nodes)


def unique_names(names: list[str], taken: set[str] | None = None) -> list[str]:
    """`names` with repeats suffixed _1, _2, ... as tf.keras names outputs (two outputs of one
    layer); `taken` (updated) holds names already in use."""
    taken = set() if taken is None else taken
    out = []
    for name in names:
        candidate, k = name, 0
        while candidate in taken:
            k += 1
            candidate = f"{name}_{k}"
        taken.add(candidate)
        out.append(candidate)
    return out
