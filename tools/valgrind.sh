#!/usr/bin/env bash
# Run the kernels (GRU forward/backward, Dense, Conv1D, attention, Adam, the inference plan) under
# valgrind memcheck, in a fresh venv, from a wheel if one is given (CI passes build_wheel.sh's:
# one build less), else from a normal build of the tree.
# Usage: tools/valgrind.sh [wheel] Exits non-zero on an invalid read or write anywhere, or on
# any error (uninitialised value, definite leak, ...) with a stack frame in our extension modules;
# errors of CPython, NumPy and OpenBLAS themselves are counted but not judged.
set -euo pipefail
start=$SECONDS
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 -m venv "$tmp/venv"
py=$tmp/venv/bin/python
if [[ $# -ge 1 ]]; then
    "$py" -m pip install -q "$1"
    echo "valgrind.sh: installed $(basename "$1") in $((SECONDS - start)) s"
else
    "$py" -m pip install -q numpy scipy-openblas32 threadpoolctl cython cython-cmake \
        scikit-build-core cmake ninja
    # Own build dir (never the normal build/); not stripped, so stacks name our functions.
    "$py" -m pip install -q --no-build-isolation --no-deps --config-settings=install.strip=false \
        --config-settings=build-dir="$tmp/build" "$repo"
    echo "valgrind.sh: built in $((SECONDS - start)) s"
fi

cat > "$tmp/prog.py" <<'EOF'
import numpy as np
import gru_native
from gru_native.kernels import attention as _attention, conv1d as _conv1d, dense as _dense, gru as _gru, optim as _optim

rng = np.random.default_rng(0)

# The public API: GRU + Dense, two epochs of Adam over the flat parameter buffer, predict
# through the inference plan (a batch and one sample); then a deeper plan.
model = gru_native.Sequential([gru_native.GRU(8, input_shape=(5, 3)), gru_native.Dense(1)])
model.compile("adam", "mse")
x, y = rng.normal(size=(16, 5, 3)), rng.normal(size=(16, 1))
model.fit(x, y, epochs=2, batch_size=8, verbose=0)
model.predict(x, verbose=0)
model.predict(x[:1], verbose=0)
deep = gru_native.Sequential([gru_native.GRU(6, input_shape=(5, 3), return_sequences=True),
                              gru_native.GRU(4, go_backwards=True, reset_after=False),
                              gru_native.Dense(2)])
deep.compile("adam", "mse")
deep.predict(x, verbose=0)
# A plan with convolutions (same and causal padding, dilation, groups), pooling and a GRU.
conv = gru_native.Sequential([
    gru_native.layers.Conv1D(6, 3, padding="same", activation="relu", input_shape=(5, 3)),
    gru_native.layers.Conv1D(4, 2, padding="causal", dilation_rate=2, groups=2),
    gru_native.layers.MaxPooling1D(2), gru_native.GRU(4), gru_native.Dense(1)])
conv.predict(x, verbose=0)
conv.predict(x[:1], verbose=0)
# Reduced precision (the portable loops: valgrind's CPU has no AVX-512), a wide LSTM for the
# units split, k past one chunk of the products, and a stream.
wide = gru_native.Sequential([gru_native.LSTM(260, input_shape=(3, 1100)), gru_native.Dense(3)])
xw = rng.normal(size=(2, 3, 1100)).astype(np.float32)
for precision in ("bfloat16", "int8"):
    model.predict(x, verbose=0, precision=precision)
    deep.predict(x[:1], verbose=0, precision=precision)
    wide.predict(xw, verbose=0, precision=precision)
    model.stream(2, precision=precision).step(x[:2, 0])

# The kernels directly: both precisions and reset placements, lengths (0 included), h0,
# recurrent dropout, reverse; (30, 7, 64, 33) is large enough to start the OpenMP team.
for dtype in (np.float32, np.float64):
    for reset_after, reverse, (T, I, H, B) in ((True, False, (6, 3, 5, 4)),
                                                (False, True, (6, 3, 5, 4)),
                                                (True, True, (30, 7, 64, 33))):
        xs = rng.normal(size=(B, T, I)).astype(dtype)
        W, U = rng.normal(size=(I, 3 * H)).astype(dtype), rng.normal(size=(H, 3 * H)).astype(dtype)
        b = rng.normal(size=(2, 3 * H) if reset_after else 3 * H).astype(dtype)
        h0 = rng.normal(size=(B, H)).astype(dtype)
        lengths = rng.integers(0, T + 1, size=B)
        for mask in (None, (rng.random((B, H)) > 0.3).astype(dtype)):
            ys, h, cache = _gru.gru_forward(xs, W, U, b, h0, lengths, reset_after=reset_after,
                                            reverse=reverse, training=True, recurrent_mask=mask)
            _gru.gru_backward(cache, rng.normal(size=ys.shape).astype(dtype), h, need_dh0=True)
        _gru.gru_forward(xs, W, U, None, None, None, reset_after=reset_after,
                         return_sequences=False)
    xd, Wd = rng.normal(size=(40, 7)).astype(dtype), rng.normal(size=(7, 3)).astype(dtype)
    yd = _dense.dense_forward(xd, Wd, np.ones(3, dtype))
    _dense.dense_backward(xd, Wd, yd)
    _dense.dense_backward(xd, Wd, yd, need_dx=False)
    xc, kc = rng.normal(size=(3, 11, 4)).astype(dtype), rng.normal(size=(3, 2, 6)).astype(dtype)
    for padding, strides, dilation in (("valid", 2, 1), ("same", 1, 2), ("causal", 1, 3)):
        yc = _conv1d.conv1d_forward(xc, kc, np.ones(6, dtype), strides=strides, padding=padding,
                                    dilation_rate=dilation, groups=2)
        _conv1d.conv1d_backward(xc, kc, yc, strides=strides, padding=padding,
                                dilation_rate=dilation, groups=2)
    # attention: masks (an empty row included), causal, dropout, the key as the value; 4 x 64 x
    # 64 steps start the team, 700 value steps make several row blocks
    for N, Tq, Tv in ((4, 64, 64), (2, 5, 700)):
        qa, va = (rng.normal(size=(N, t, 16)).astype(dtype) for t in (Tq, Tv))
        vm = np.arange(Tv)[None] < np.arange(N)[:, None] * Tv // 2
        qm, drop = vm[:, :Tq], (rng.random((N, Tq, Tv)) > 0.3).astype(dtype)
        out, wa, used = _attention.attention_forward(qa, va, scale=0.5, value_mask=vm, query_mask=qm,
                                                     causal=True, dropout_mask=drop)
        _attention.attention_backward(qa, va, None, wa, out, used, scale=0.5, query_mask=qm,
                                      dropout_mask=drop, need_dscale=True)
    n = 3 * 8192 + 5  # a flat parameter buffer of more than one chunk
    p, g, m, v, vh = (rng.normal(size=n).astype(dtype) for _ in range(5))
    _optim.adam_update(p, g, m, v, vh, learning_rate=1e-3, beta_1=0.9, beta_2=0.999,
                       epsilon=1e-7, step=3, weight_decay=0.01, clipvalue=1.0)
    _optim.clip_by_norm(g, [(0, 10), (10, n - 10)], 1.0)
print("valgrind program: done")
EOF

# PYTHONMALLOC=malloc: memcheck sees every Python allocation (pymalloc's arenas hide overruns and
# read memory it does not own). The suppressions hide known false positives of ld.so and CPython.
# XML: the verdict below reads it; the log keeps valgrind's own messages (shown if it fails).
vg_status=0
PYTHONMALLOC=malloc valgrind --tool=memcheck --error-exitcode=1 --errors-for-leak-kinds=definite \
    --leak-check=full --show-leak-kinds=definite --num-callers=40 \
    --suppressions="$repo/tools/valgrind-python.supp" --xml=yes --xml-file="$tmp/valgrind.xml" \
    --log-file="$tmp/valgrind.log" "$py" "$tmp/prog.py" | tee "$tmp/out.txt" || vg_status=$?
grep -q "valgrind program: done" "$tmp/out.txt" || { cat "$tmp/valgrind.log"; exit 1; }

# valgrind's exit code also counts CPython's and NumPy's own errors (their leaks at exit): judge
# only invalid accesses anywhere, and errors with a stack frame in our extension modules.
status=0
"$py" - "$tmp/valgrind.xml" "$vg_status" <<'EOF' || status=1
import collections, re, sys, xml.etree.ElementTree as ET
ours = re.compile(r"/gru_native/kernels/(attention|conv1d|dense|gru|inference|lstm|optim|threads)\.")
bad, other = 0, collections.Counter()
for e in ET.parse(sys.argv[1]).getroot().iter("error"):
    kind, frames = e.findtext("kind"), list(e.iter("frame"))
    if kind.startswith("Leak_") and kind != "Leak_DefinitelyLost":
        continue  # CPython keeps its objects alive to the end: only definite leaks count
    if kind.startswith("Invalid") or any(ours.search(f.findtext("obj") or "") for f in frames):
        bad += 1
        print(kind, e.findtext("what") or e.findtext("xwhat/text"))
        for f in frames[:12]:
            print("   ", f.findtext("fn"), f.findtext("file") or "", f.findtext("line") or "",
                  f.findtext("obj"))
    else:
        other[kind] += 1
print(f"valgrind.sh: {bad} errors in our code or invalid accesses; not judged, elsewhere "
      f"(CPython/NumPy/ld.so): {dict(other)}; valgrind exit {sys.argv[2]}")
sys.exit(1 if bad else 0)
EOF
echo "valgrind.sh: exit $status after $((SECONDS - start)) s"
exit "$status"
