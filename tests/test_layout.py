"""The package's floors (kernels -> layers -> models -> sklearn / interop), read from its source:
each module imports only its own floor and the ones below, the top floors only public names,
and no module imports, even inside a function, a module that imports it back."""

import ast
import re
from pathlib import Path

import gru_native

PACKAGE = Path(gru_native.__file__).parent
ROOT = "gru_native"

# The modules every floor may use: the Keras namespaces that layers and models build on, the
# checks and the name registry they share, and the training data (gru_native.data, which
# imports nothing else of the package).
FOUNDATIONS = {"gru_native.activations", "gru_native.file_writing", "gru_native.initializers",
               "gru_native.registry", "gru_native.utils", "gru_native.validation"}
# Keras namespaces of the models floor (losses, metrics, optimizers, callbacks), with their
# submodules (optimizers.schedules), and training / prediction beyond one process (distributed).
MODEL_SUPPORT = {"gru_native.losses", "gru_native.metrics", "gru_native.optimizers",
                 "gru_native.callbacks", "gru_native.distributed"}
TOP = ("gru_native.sklearn", "gru_native.interop", "gru_native.preprocessing")


def floor(module):
    """0 kernels, 1 foundations, 2 layers, 3 models, 4 sklearn / interop / preprocessing,
    5 the package itself (which re-exports every floor)."""
    if module == ROOT:
        return 5
    if module.startswith("gru_native.kernels"):
        return 0
    if module in FOUNDATIONS or module.startswith("gru_native.data"):
        return 1
    if module.startswith("gru_native.layers"):
        return 2
    if module.startswith("gru_native.models") or ".".join(module.split(".")[:2]) in MODEL_SUPPORT:
        return 3
    if module.startswith(TOP):
        return 4
    raise AssertionError(f"module {module} belongs to no floor: place it in one")


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package(module):
    return (PACKAGE.parent / module.replace(".", "/") / "__init__.py").exists()


def resolve(module, level, target):
    """The absolute name of `from <level dots><target> import ...` written in `module`."""
    base = module.split(".") if is_package(module) else module.split(".")[:-1]
    if level > 1:
        base = base[:len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports_of(path):
    """(imported module, imported names) of every import in a Python source, function-level
    ones included; a `from package import name` that names a submodule imports that module."""
    module = module_name(path)
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", None) == "TYPE_CHECKING"
                   for n in ast.walk(block)}  # annotations, never run
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names if alias.name.startswith(ROOT)]
        elif isinstance(node, ast.ImportFrom):
            target = resolve(module, node.level, node.module) if node.level else node.module
            if not target or not target.startswith(ROOT):
                continue
            names = [alias.name for alias in node.names]
            submodules = [f"{target}.{n}" for n in names
                          if (PACKAGE.parent / f"{target}.{n}".replace(".", "/")).with_suffix(".py").exists()
                          or is_package(f"{target}.{n}")]
            found += [(m, []) for m in submodules] or [(target, names)]
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))
GRAPH = {module_name(p): imports_of(p) for p in SOURCES}


def test_every_module_is_on_a_floor():
    for module in GRAPH:
        floor(module)


def violations(graph):
    """What breaks the floor rule in `graph` ({module: [(imported module, names)]})."""
    found = []
    for module, imports in graph.items():
        own = floor(module)
        for target, names in imports:
            if own == 5:
                continue
            there = floor(target)
            if there > own and not (own == 4 and target == ROOT):  # the package's public names
                found.append(f"{module} (floor {own}) imports {target} (floor {there}), above it")
            if own == 4 and there != 4:
                private = [n for n in names if n.startswith("_")]
                if there == 0 or private or any(p.startswith("_") for p in target.split(".")):
                    found.append(f"{module} imports {target} {private}: not a public name")
    return found


def find_cycle(edges):
    """An import cycle of `edges` ({module: set of imported modules}) as a list, or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if state.get(t) == "open":
                return stack[stack.index(t):] + [t]
            if t not in state:
                cycle = visit(t)
                if cycle:
                    return cycle
        stack.pop()
        state[m] = "done"
        return None

    for module in sorted(edges):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def module_edges(graph):
    """module -> imported modules, every package on the way included (importing a.b.c runs
    a.b first) but the module's own packages (already running when it runs); the package's
    own __init__, which re-exports all floors, is left out."""
    edges = {}
    for module, imports in graph.items():
        parts = module.split(".")
        own = {".".join(parts[:i]) for i in range(1, len(parts))}
        targets = set()
        for target, _ in imports:
            parts = target.split(".")
            targets |= {".".join(parts[:i]) for i in range(2, len(parts) + 1)} - own
        if module != ROOT:
            edges[module] = {t for t in targets if t in graph and t != module}
    return edges


def test_imports_go_down_the_floors():
    assert violations(GRAPH) == []


def test_the_kernels_import_nothing_else_of_the_package():
    for path in sorted((PACKAGE / "kernels").glob("*.p[yx]*")):
        for line in path.read_text().splitlines():
            match = re.match(r"\s*from\s+(\.+)", line)
            assert not (match and len(match.group(1)) > 1), f"{path.name}: {line.strip()}"
            assert not re.match(r"\s*(c?import|from)\s+gru_native", line), f"{path.name}: {line.strip()}"


def test_no_import_cycles():
    assert find_cycle(module_edges(GRAPH)) is None


def test_the_checks_catch_an_upward_import_a_private_name_and_a_cycle():
    bad = {"gru_native.layers.gru": [("gru_native.models.model", ["Model"])],
           "gru_native.sklearn.estimators": [("gru_native.models.model", ["_all_finite"])]}
    assert len(violations(bad)) == 2
    edges = module_edges({"gru_native.models.a": [("gru_native.models.b", [])],
                          "gru_native.models.b": [("gru_native.models.a", [])],
                          "gru_native.models": []})
    assert find_cycle(edges) == ["gru_native.models.a", "gru_native.models.b", "gru_native.models.a"]
