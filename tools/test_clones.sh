#!/usr/bin/env bash
# The gate passes are compiled as three SIMD clones (csrc/fastmath.h) and the loader runs the one
# the CPU has, so a test run on one machine tests one clone. This builds the package with each
# other clone alone (CMake's GRU_CLONE) that this CPU can run, below the one the normal test run
# takes, and runs the kernel tests on it (one build dir: the second build recompiles only the
# kernels); on the baseline, the reduced-precision products take their portable loops too
# (csrc/reduced.h), as on a CPU without AVX512_BF16 and VNNI.
set -euo pipefail
start=$SECONDS
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
clones=(x86-64)  # the baseline (SSE2) every x86-64 CPU runs
[[ $flags == *" avx2 "* && $flags == *" fma "* ]] && clones+=(x86-64-v3)
[[ $flags == *" avx512f "* && $flags == *" avx512bw "* ]] && clones+=(x86-64-v4)
unset 'clones[-1]'  # the CPU's best: the normal test run's

python3 -m venv "$tmp/venv"
py=$tmp/venv/bin/python
# What the build and the kernel tests need (no torch: its comparisons skip here).
"$py" -m pip install -q numpy pytest hypothesis scipy-openblas32 threadpoolctl cython cython-cmake \
    scikit-build-core cmake ninja
status=0
[[ ${#clones[@]} -gt 0 ]] || { echo "test_clones.sh: this CPU runs only the baseline clone"; exit 0; }
for clone in "${clones[@]}"; do
    "$py" -m pip install -q --no-build-isolation --no-deps --force-reinstall \
        --config-settings=cmake.define.GRU_CLONE="$clone" --config-settings=build-dir="$tmp/build" "$repo"
    echo "test_clones.sh: $clone built after $((SECONDS - start)) s"
    reduced=native
    [[ $clone == x86-64 ]] && reduced=portable
    # Neither clone's CPU has AVX-512: the recurrent steps' products take the BLAS
    # (csrc/packed.h), not the packed kernel of the normal test run. Not the interrupt and fork
    # tests (signals and processes) nor the convolution and dense ones (no clones in their
    # kernels): the same code in every clone. -p no:cacheprovider: no .pytest_cache written into
    # the shared work tree.
    (cd "$repo" && GRU_NATIVE_REDUCED=$reduced GRU_NATIVE_PACKED=blas "$py" -m pytest -q -p no:cacheprovider tests/kernels \
        --deselect tests/kernels/test_interrupt.py --deselect tests/kernels/test_fork.py \
        --deselect tests/kernels/test_conv1d.py --deselect tests/kernels/test_dense_kernels.py) \
        || { status=1; echo "test_clones.sh: $clone FAILED"; }
done
echo "test_clones.sh: clones ${clones[*]}, exit $status after $((SECONDS - start)) s"
exit "$status"
