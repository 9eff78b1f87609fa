"""The API reference covers the public API: every public name is listed in docs/api.rst and has
a docstring, every docstring of a public name or of a public class's own method passes
numpydoc's validation, its Parameters matching its signature, and the Examples in them run and
print what they show. The site's build (tools/build_docs.sh) checks that they render."""

import doctest
import importlib
import inspect
import pkgutil
import re
import types
from pathlib import Path

import pytest

validate = pytest.importorskip("numpydoc.validate").validate

import gru_native  # noqa: E402

API_RST = Path(__file__).resolve().parent.parent / "docs" / "api.rst"

# GL01: the summary starts on the line of the opening quotes (PEP 257, this package's style).
# ES01, SA01, EX01: an extended summary, See Also and Examples are optional. RT02: a return
# value may be named.
IGNORED = {"GL01", "ES01", "SA01", "EX01", "RT02"}


def public_modules():
    """gru_native, the modules its __all__ exports, its subpackages, and the modules their
    __all__ export."""
    names = ["gru_native"]
    names += [f"gru_native.{name}" for name in gru_native.__all__
              if isinstance(getattr(gru_native, name), types.ModuleType)]
    names += [f"gru_native.{m.name}" for m in pkgutil.iter_modules(gru_native.__path__) if m.ispkg]
    for name in names:  # grows while it runs: the modules' own exported modules
        module = importlib.import_module(name)
        names += [f"{name}.{n}" for n in getattr(module, "__all__", ())
                  if isinstance(getattr(module, n), types.ModuleType)
                  and f"{name}.{n}" not in names]
    return list(dict.fromkeys(names))


def public_names():
    """{dotted name: object} of every public name, each object once: a module's __all__, or
    for a module without one, the names it (or a submodule of it) defines."""
    found, seen = {}, set()
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None)
        if names is None:
            names = [n for n, obj in vars(module).items() if not n.startswith("_")
                     and not isinstance(obj, types.ModuleType)
                     and (getattr(obj, "__module__", None) or "").startswith(module_name)]
        for name in names:
            obj = getattr(module, name)
            if id(obj) not in seen:
                seen.add(id(obj))
                found[f"{module_name}.{name}"] = obj
    return found


def documented():
    """{dotted name: object} of what docs/api.rst documents: its automodule directives, the
    entries of its autosummary tables and its data directives, each under its currentmodule."""
    found, module, in_table = {}, None, False
    for line in API_RST.read_text().splitlines():
        directive = re.match(r"\.\. (\w+)::\s*(\S*)", line)
        if directive:
            kind, argument = directive.groups()
            in_table = kind == "autosummary"
            if kind in ("currentmodule", "automodule"):
                module = argument
            if kind == "automodule":
                found[argument] = importlib.import_module(argument)
            elif kind == "data":
                found[f"{module}.{argument}"] = getattr(importlib.import_module(module), argument)
        elif in_table and line.startswith("   ") and not line.strip().startswith(":"):
            name = line.strip()
            found[f"{module}.{name}"] = getattr(importlib.import_module(module), name)
        elif line and not line.startswith(" "):
            in_table = False
    return found


def test_every_public_name_is_in_the_api_reference():
    listed = {id(obj) for obj in documented().values()}
    missing = [name for name, obj in public_names().items() if id(obj) not in listed]
    assert not missing, f"public names missing from docs/api.rst: {missing}"


def test_every_public_name_has_a_docstring():
    """numpydoc's GL08 for classes and routines. A module's docstring is checked directly:
    numpydoc fails to find the source line of a module that defines no class or function."""
    missing = []
    for name, obj in public_names().items():
        if isinstance(obj, types.ModuleType):
            if not obj.__doc__:
                missing.append(name)
        elif inspect.isclass(obj) or callable(obj):
            if any(code == "GL08" for code, _ in validate(name)["errors"]):
                missing.append(name)
    assert not missing, f"public names without a docstring: {missing}"


def validated_names():
    """The dotted names numpydoc validates: every public class and function, and the public
    methods and properties each public class defines itself (inherited ones are checked where
    they are defined; scikit-learn's are scikit-learn's)."""
    names = []
    for name, obj in public_names().items():
        if isinstance(obj, types.ModuleType) or not (inspect.isclass(obj) or callable(obj)):
            continue
        names.append(name)
        if inspect.isclass(obj):
            names += [f"{name}.{member}" for member, value in vars(obj).items()
                      if not member.startswith("_")
                      and (callable(value) or isinstance(value, (property, staticmethod,
                                                                 classmethod)))]
    return sorted(set(names))


@pytest.mark.parametrize("name", validated_names())
def test_docstrings_follow_numpydoc(name):
    errors = [f"{code}: {message}" for code, message in validate(name)["errors"]
              if code not in IGNORED]
    assert not errors, "\n".join(errors)


def resolved(name):
    """The object a dotted name of validated_names() names."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
            break
        except ImportError:
            continue
    for part in parts[i:]:
        obj = getattr(obj, part)
    return obj


def with_examples():
    """The validated names whose docstrings (gru_native's own, not a re-exported class's) hold
    doctest examples."""
    names = []
    for name in validated_names():
        obj = resolved(name)
        target = obj.fget if isinstance(obj, property) else obj
        if ">>>" in (inspect.getdoc(target) or "") \
                and (getattr(target, "__module__", "") or "").startswith("gru_native"):
            names.append(name)
    return names


@pytest.mark.parametrize("name", with_examples())
def test_docstring_examples_run(name):
    obj = resolved(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder(recurse=False).find(obj, name, globs={}):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
