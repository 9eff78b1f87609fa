#!/usr/bin/env bash
# Build the extension modules with AddressSanitizer + UBSan (CMake option GRU_SANITIZE) in a fresh
# venv and run the kernel-level tests under them. Exits non-zero on any sanitizer report.
set -euo pipefail
start=$SECONDS
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 -m venv "$tmp/venv"
py=$tmp/venv/bin/python
# Only what the build and these tests need: no torch / scikit-learn (their tests skip), so the
# build runs without isolation from this list.
"$py" -m pip install -q numpy pytest hypothesis scipy-openblas32 threadpoolctl cython cython-cmake \
    scikit-build-core cmake ninja
# Own build dir: never reuse (or pollute) the normal build/ tree. No strip: reports name our lines.
"$py" -m pip install -q --no-build-isolation --no-deps --config-settings=cmake.define.GRU_SANITIZE=ON \
    --config-settings=install.strip=false --config-settings=build-dir="$tmp/build" "$repo"
echo "sanitize.sh: built in $((SECONDS - start)) s"

# The interpreter is not instrumented, so the ASan runtime must be loaded before anything else.
export LD_PRELOAD=$(gcc -print-file-name=libasan.so)
[[ -f $LD_PRELOAD ]] || { echo "sanitize.sh: gcc has no libasan.so"; exit 1; }
# detect_leaks=0: CPython itself "leaks" its interned objects at exit (valgrind.sh checks leaks).
# log_path: reports go to files, so one in a subprocess or one that a test swallowed still counts.
export ASAN_OPTIONS=detect_leaks=0:log_path=$tmp/asan
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$tmp/ubsan
# Python objects from plain malloc, so ASan also sees the buffers our code gets from Python.
export PYTHONMALLOC=malloc

cd "$repo"
status=0
# -p no:cacheprovider: write no .pytest_cache into the shared work tree. The finite and central
# difference tests run the kernels that the reference comparisons already run here, thousands of
# times over: under the sanitizers they are left to the normal test run.
"$py" -m pytest -q -p no:cacheprovider -k "not central_differences and not finite_differences" tests/kernels/test_gru.py tests/kernels/test_gru_validation.py \
    tests/kernels/test_dense_kernels.py tests/kernels/test_conv1d.py tests/kernels/test_attention_kernels.py \
    tests/models/test_optimizers.py tests/kernels/test_inference.py tests/kernels/test_fastmath.py \
    tests/kernels/test_threads.py tests/kernels/test_kernel_properties.py tests/kernels/test_plan_graphs.py \
    tests/kernels/test_plan_conv1d.py tests/kernels/test_lstm.py tests/kernels/test_reduced.py || status=$?

if compgen -G "$tmp/*san.*" >/dev/null; then
    cat "$tmp"/*san.*
    echo "sanitize.sh: SANITIZER REPORTS ABOVE"
    status=1
fi
echo "sanitize.sh: exit $status after $((SECONDS - start)) s"
exit "$status"
