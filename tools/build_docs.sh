#!/usr/bin/env bash
# Build the documentation site (docs/) in a fresh venv with every warning an error: the API
# reference from the docstrings, the user guide, and the gallery, which runs examples/ in quick
# mode (docs/conf.py sets it). Then run the user guide's doctests.
# Usage: tools/build_docs.sh [outdir [wheel]]   (outdir default: docs/_build; the site is in
# outdir/html). A wheel of the package (.ci/run passes build_wheel.sh's) is installed instead of
# building the package again.
set -euo pipefail
start=$SECONDS
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$repo/docs/_build}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 -m venv "$tmp/venv"
# Own build dir: never reuse (or pollute) the normal build/ tree, which the test run may be using.
if [[ -n "${2:-}" ]]; then
    "$tmp/venv/bin/pip" install -q "$(realpath "$2")[docs]"
else
    "$tmp/venv/bin/pip" install -q --config-settings=build-dir="$tmp/build" "$repo[docs]"
fi
echo "build_docs.sh: installed after $((SECONDS - start)) s"

# What an earlier build generated goes: autosummary's pages of names since removed would be
# pages outside every toctree, and sphinx-gallery would not run an unchanged example again.
rm -rf "$repo/docs/generated" "$repo/docs/auto_examples" "$repo/docs/sg_execution_times.rst"
# -n: every cross-reference must resolve; -W --keep-going: any warning fails, after listing all.
"$tmp/venv/bin/sphinx-build" -W -n --keep-going -q -b html "$repo/docs" "$out/html"
echo "build_docs.sh: site built after $((SECONDS - start)) s"
# plot_gallery=0: the gallery's examples ran in the build above.
"$tmp/venv/bin/sphinx-build" -W -n --keep-going -q -b doctest -D plot_gallery=0 "$repo/docs" \
    "$out/doctest"
sed -n '/^Doctest summary/,$p' "$out/doctest/output.txt"
echo "build_docs.sh: site in $out/html, doctests passed, after $((SECONDS - start)) s"
