"""Sphinx configuration: the API reference (autosummary + numpydoc), the user guide (its
snippets run as doctests) and the example gallery (sphinx-gallery runs examples/ at build time;
its matplotlib scraper draws with Agg).

Build it with tools/build_docs.sh (a fresh venv, warnings as errors)."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

# The examples read these. Quick mode (less data, fewer epochs) keeps the build short; the files
# they write (plots, a saved model) go to a scratch folder, not into examples/, where
# sphinx-gallery runs them.
os.environ["GRU_NATIVE_EXAMPLE_QUICK"] = "1"
os.environ.setdefault("GRU_NATIVE_EXAMPLE_OUTPUT", tempfile.mkdtemp(prefix="gru_native_examples_"))

import gru_native  # noqa: E402  (after the environment above)

# The performance page shows bench/compare.py's latest chart. Sphinx reads images only from
# inside docs/, so the build copies it into generated/ (written by the build, not committed).
_DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(_DOCS / "_ext"))
(_DOCS / "generated").mkdir(exist_ok=True)
shutil.copy(_DOCS.parent / "bench" / "results.png", _DOCS / "generated" / "results.png")

project = "gru_native"
author = "The gru_native maintainers"
project_copyright = "The gru_native maintainers"
version = release = gru_native.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "compare_table",  # _ext/: the performance page's table from bench/results.json
]
templates_path = ["_templates"]
exclude_patterns = ["_build"]

# API reference: a page per public name (docs/api.rst lists them); classes list their own
# methods through the class template, so numpydoc's member tables are off.
autosummary_generate = True
numpydoc_show_class_members = False
# The types are in each docstring's Parameters and Returns; the annotations' aliases (ArrayLike,
# Data, ...) would only repeat them, unresolvable offline.
autodoc_typehints = "none"
autodoc_member_order = "groupwise"

# The user guide's ``.. doctest::`` blocks run under `sphinx-build -b doctest`, each page from
# this setup. Plain ``>>>`` blocks do not: the API pages also show the docstrings of classes
# re-exported from scikit-learn (NotFittedError), whose examples follow scikit-learn's own
# doctest options.
doctest_global_setup = """
import numpy as np
import gru_native as gn
gn.utils.set_random_seed(0)
"""
doctest_test_doctest_blocks = ""

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Every example runs but train_data_parallel.py, which trains over MPI ranks under mpiexec
    # (tests/test_examples.py runs it so): the gallery shows its code without output.
    "filename_pattern": r"/(?!train_data_parallel\.py$)[^/]+\.py$",
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": True,
    "download_all_examples": False,
    "show_memory": False,
}

html_theme = "pydata_sphinx_theme"
html_title = f"gru_native {release}"


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Methods a class inherits from outside the package (scikit-learn's get_params, score,
    set_output and metadata-routing setters, Exception's) are documented where they are
    defined: their docstrings point into that project's site."""
    module = getattr(obj, "__module__", None)
    if module and not module.startswith("gru_native"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
