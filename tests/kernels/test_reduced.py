"""Reduced-precision inference (csrc/reduced.h): the bfloat16 and int8 products against NumPy
references that round and quantise the same way, the CPU's instructions against the portable
loop, packing again after weight changes, and the plans that use them against the NumPy GRU
and LSTM references run with the same products."""

import os
import platform

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers
from gru_native.kernels.reduced import PRECISIONS, ReducedMatrix, native

from helpers import reference_predict

REDUCED = ("bfloat16", "int8")


def bfloat16(a):
    """a rounded to the nearest bfloat16 (ties to even), as float64."""
    u = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    return (((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16).astype(np.uint32).view(
        np.float32).astype(np.float64)


def bfloat16_product(v, m):
    return bfloat16(v) @ bfloat16(m)


def int8_product(v, m, instruction="as a new matrix"):
    """v @ m with m per-column symmetric int8, and v as `instruction` takes it (int8_inputs;
    by default as a matrix made now would), in float32 as the kernel computes the scales."""
    m = np.asarray(m, np.float32)
    scale = np.abs(m).max(0) / np.float32(127)
    q = np.rint(m * np.where(scale > 0, np.float32(1) / np.where(scale > 0, scale, 1), 0))
    if instruction == "as a new matrix":
        instruction = ReducedMatrix(np.ones((1, 1), np.float32), "int8").instruction
    qx, sx = int8_inputs(v, instruction)
    return (qx @ q.astype(np.float64)) * (sx * scale)


def int8_inputs(v, instruction):
    """The rows of v as an int8 product with `instruction` takes them: (values, each row's
    step), float64. On vdpbf16ps each rounded to bfloat16 (step 1); on vpdpwssd and the
    portable loop quantised to int16 over the row's own max |v| (symmetric, rounding half away
    from zero: csrc/reduced.c, int16_words)."""
    if instruction == "vdpbf16ps":
        return bfloat16(v), np.ones(np.shape(v)[:-1] + (1,))
    v = np.asarray(v, np.float32)
    sx = np.abs(v).max(-1, keepdims=True) / np.float32(32767)
    inv = np.where(sx > 0, np.float32(1) / np.where(sx > 0, sx, 1), np.float32(0))
    t = np.clip(v * inv, -32767, 32767)
    qx = np.trunc(t + np.where(t >= 0, np.float32(0.5), np.float32(-0.5)))
    return qx.astype(np.float64), sx.astype(np.float64)


def reduced_matrix(monkeypatch, a, precision, path):
    """A ReducedMatrix of a on `path`: 'native' (this CPU's best), 'vnni' (as a CPU with
    AVX512_VNNI and no AVX512_BF16) or 'portable'."""
    with monkeypatch.context() as env:  # the environment as it was afterwards
        if path == "vnni":
            env.setenv("GRU_NATIVE_REDUCED", "vnni")
        return ReducedMatrix(a, precision, portable=path == "portable")


PATHS = ("native", "vnni", "portable")


PRODUCTS = {"bfloat16": bfloat16_product, "int8": int8_product}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("precision", REDUCED)
@pytest.mark.parametrize("k, n, rows", [(1, 1, 1), (3, 5, 2), (7, 16, 5), (50, 150, 1),
                                        (33, 70, 9), (513, 20, 3), (2049, 65, 4)])
def test_product_matches_the_numpy_reference(rng, monkeypatch, precision, path, k, n, rows):
    """Odd k (a group part-filled), k past one chunk (512), n below, at and past a tile."""
    a = rng.standard_normal((k, n)).astype(np.float32)
    x = rng.standard_normal((rows, k)).astype(np.float32)
    m = reduced_matrix(monkeypatch, a, precision, path)
    got = m.matmul(x)
    want = (bfloat16_product(x, a) if precision == "bfloat16"
            else int8_product(x, a, m.instruction))
    # float32 sums (and conversions of integer sums) of k terms each larger than the result
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * np.sqrt(k) * np.abs(want).max())


@pytest.mark.parametrize("path", PATHS)
def test_int8_sums_at_their_largest_stay_exact(monkeypatch, path):
    """Every weight and input at its largest quantised value (127, and 32767 as int16) of one
    sign: a chunk's integer sums come as close to 2^31 as they can and must not wrap."""
    k = 1537  # three chunks, the last one value long
    for sign in (1, -1):
        a = np.full((k, 3), sign, np.float32)
        x = np.ones((2, k), np.float32)
        got = reduced_matrix(monkeypatch, a, "int8", path).matmul(x)
        np.testing.assert_allclose(got, sign * k, rtol=1e-6)


@pytest.mark.parametrize("precision", REDUCED)
def test_column_ranges_and_the_portable_loop_agree(rng, monkeypatch, precision):
    a = rng.standard_normal((40, 100)).astype(np.float32)
    x = rng.standard_normal((6, 40)).astype(np.float32)
    # the portable loop computes what a CPU without AVX512_BF16 does
    path = "native" if precision == "bfloat16" else "vnni"
    fast = reduced_matrix(monkeypatch, a, precision, path)
    portable = ReducedMatrix(a, precision, portable=True)
    whole = fast.matmul(x)
    for j0, j1 in [(0, 100), (3, 60), (50, 51), (17, 100)]:
        np.testing.assert_array_equal(fast.matmul(x, (j0, j1)), whole[:, j0:j1])
    # int8: the same integer sums, scaled in another order; bfloat16: float32 sums in another
    np.testing.assert_allclose(portable.matmul(x), whole, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("precision", REDUCED)
def test_sync_packs_again_only_after_a_change(rng, precision):
    a = rng.standard_normal((20, 30)).astype(np.float32)
    x = rng.standard_normal((2, 20)).astype(np.float32)
    m = ReducedMatrix(a, precision)
    assert not m.sync(a.copy())
    a[3, 4] += 1
    assert m.sync(a)
    np.testing.assert_allclose(m.matmul(x), PRODUCTS[precision](x, a), atol=1e-5)
    before = m.matmul(x)
    bad = a.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        m.sync(bad)
    np.testing.assert_array_equal(m.matmul(x), before)  # the packed weights kept


def test_bad_arguments_are_clear_errors(rng):
    a = np.ones((4, 5), np.float32)
    with pytest.raises(ValueError, match="precision must be one of"):
        ReducedMatrix(a, "float16")
    with pytest.raises(ValueError, match="2-D"):
        ReducedMatrix(np.ones(4, np.float32), "int8")
    m = ReducedMatrix(a, "int8")
    with pytest.raises(ValueError, match="shape"):
        m.matmul(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="columns"):
        m.matmul(np.ones((2, 4), np.float32), (3, 3))
    with pytest.raises(ValueError, match="NaN"):
        m.matmul(np.full((1, 4), np.inf, np.float32))
    assert PRECISIONS == ("float32", "bfloat16", "int8")


def expected_instruction(precision, flags, forced):
    """The instruction csrc/reduced.h promises for precision on a CPU with these /proc/cpuinfo
    flags under GRU_NATIVE_REDUCED=forced."""
    bf16 = "avx512_bf16" in flags and forced not in ("vnni", "portable")
    if bf16:
        return "vdpbf16ps"
    if precision == "int8" and "avx512_vnni" in flags and forced != "portable":
        return "vpdpwssd"
    return None


@pytest.mark.skipif(platform.machine() != "x86_64" or not os.path.exists("/proc/cpuinfo"),
                    reason="reads the CPU's flags from /proc/cpuinfo")
@pytest.mark.parametrize("forced", [None, "vnni", "portable"])
@pytest.mark.parametrize("precision", REDUCED)
def test_native_and_instruction_say_which_path_runs(monkeypatch, precision, forced):
    flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    if forced is None:
        forced = os.environ.get("GRU_NATIVE_REDUCED")
    else:
        monkeypatch.setenv("GRU_NATIVE_REDUCED", forced)  # read when asked
    want = expected_instruction(precision, flags, forced)
    a = np.ones((3, 2), np.float32)
    assert ReducedMatrix(a, precision).instruction == want
    assert native(precision) == (want is not None)
    assert ReducedMatrix(a, precision, portable=True).instruction is None


MODELS = {
    "gru": lambda: [layers.GRU(20, input_shape=(6, 3)), layers.Dense(2)],
    "gru_reset_before_backwards": lambda: [
        layers.GRU(17, reset_after=False, go_backwards=True, input_shape=(6, 3)),
        layers.Dense(3, activation="softmax")],
    "stacked_sequences": lambda: [layers.GRU(9, return_sequences=True, input_shape=(6, 3)),
                                  layers.LSTM(11, return_sequences=True), layers.Dense(2)],
    "lstm": lambda: [layers.LSTM(18, input_shape=(6, 3)), layers.Dense(1)],
    "wide_gru": lambda: [layers.GRU(300, input_shape=(4, 5)), layers.Dense(1)],  # units split
    "wide_lstm": lambda: [layers.LSTM(260, input_shape=(4, 5)), layers.Dense(1)],
}


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("precision", REDUCED)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_predict_matches_the_references_with_the_same_products(rng, name, precision, batch):
    model = gn.Sequential(MODELS[name]())
    x = rng.standard_normal((batch,) + model.input_shape[1:]).astype(np.float32)
    got = model.predict(x, verbose=0, precision=precision)
    want = reference_predict(model, x, PRODUCTS[precision])
    exact = reference_predict(model, x)
    scale = np.abs(exact).max()
    # the reference rounds the states of a float64 recurrence, the kernel of a float32 one:
    # a state within float32 rounding of a rounding boundary can round the other way
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-4 * scale)
    assert np.abs(got - exact).max() > 1e-6 * scale  # the products were reduced


@pytest.mark.parametrize("precision", REDUCED)
def test_stream_steps_equal_predict_in_the_same_precision(rng, precision):
    model = gn.Sequential([layers.GRU(12, return_sequences=True, input_shape=(None, 3)),
                           layers.LSTM(8, return_sequences=True), layers.Dense(2)])
    x = rng.standard_normal((2, 7, 3)).astype(np.float32)
    want = model.predict(x, verbose=0, precision=precision)
    stream = model.stream(2, precision=precision)
    got = np.stack([stream.step(x[:, t]) for t in range(7)], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def dequantised(m):
    """The values an int8 ReducedMatrix multiplies by (q * scale), read back through products
    with the identity (each row of it exact in int16 and in bfloat16)."""
    return m.matmul(np.eye(m.k, dtype=np.float32)).astype(np.float64)


def gptq_reference(a, u):
    """a (k, n) rounded to per-column symmetric int8 with error feedback (GPTQ: row i's error
    over u[i, i] taken up by the later rows along u's row i), dequantised, float64."""
    w = np.array(a, np.float64)
    scale = np.abs(w).max(0) / 127
    inv = np.where(scale > 0, 1 / np.where(scale > 0, scale, 1), 0)
    q = np.zeros_like(w)
    for i in range(len(w)):
        q[i] = np.clip(np.rint(w[i] * inv), -127, 127) * scale
        err = (w[i] - q[i]) / u[i, i]
        w[i + 1:] -= np.outer(u[i, i + 1:], err)
    return q


def correlated_inputs(rng, k):
    """A sampler of inputs whose k features move together (a few shared factors and noise), as
    the states of a recurrent layer do: draw(rows)."""
    mix = rng.standard_normal((4, k))
    return lambda rows: (rng.standard_normal((rows, 4)) @ mix
                         + 0.1 * rng.standard_normal((rows, k))).astype(np.float32)


@pytest.mark.parametrize("path", PATHS)
def test_error_feedback_matches_the_numpy_reference_and_beats_rounding(rng, monkeypatch, path):
    from gru_native.models.calibration import feedback_factor
    k, n = 33, 70
    a = rng.standard_normal((k, n)).astype(np.float32)
    draw = correlated_inputs(rng, k)
    x = draw(2000)
    u = feedback_factor(x.T.astype(np.float64) @ x / len(x))
    m = reduced_matrix(monkeypatch, a, "int8", path)
    nearest = dequantised(m)
    m.calibrate(u)
    got = dequantised(m)
    want = gptq_reference(a, u.astype(np.float64))
    scale = np.abs(a).max(0) / 127
    # the same grid; float32 against float64 feedback may flip a weight sitting on a half step
    assert np.mean(np.abs(got - want) <= 1e-4 * scale) > 0.99
    assert np.all(np.abs(got) <= np.abs(a).max(0) * (1 + 1e-6))  # clamped to +-127 steps
    fresh = draw(500)  # inputs like those it was calibrated on
    error = np.abs(fresh @ (got - a)).mean()
    assert error < 0.5 * np.abs(fresh @ (nearest - a)).mean()
    qx, sx = int8_inputs(fresh, m.instruction)
    want = (qx @ got) * sx  # the products read the fed weights
    np.testing.assert_allclose(m.matmul(fresh), want, rtol=0,
                               atol=2e-6 * np.sqrt(k) * np.abs(want).max())


def test_identity_feedback_rounds_to_nearest_and_none_goes_back(rng):
    """With uncorrelated unit inputs (u = I) there is nothing to steer: round to nearest."""
    a = rng.standard_normal((20, 9)).astype(np.float32)
    m = ReducedMatrix(a, "int8")
    nearest = dequantised(m)
    m.calibrate(np.eye(20, dtype=np.float32))
    np.testing.assert_array_equal(dequantised(m), nearest)
    m.calibrate(np.triu(np.full((20, 20), 0.3, np.float32)) + np.eye(20, dtype=np.float32))
    fed = dequantised(m)
    assert not np.array_equal(fed, nearest)
    m.sync(2 * a)  # a later pack keeps the feedback
    np.testing.assert_allclose(dequantised(m), 2 * fed, rtol=1e-6)
    m.calibrate(None)
    np.testing.assert_allclose(dequantised(m), 2 * nearest, rtol=1e-6)


def test_bad_feedback_factors_are_clear_errors(rng):
    a = rng.standard_normal((4, 3)).astype(np.float32)
    m = ReducedMatrix(a, "int8")
    nearest = dequantised(m)
    for bad in (np.zeros((4, 4)), np.full((4, 4), np.nan), -np.eye(4)):
        with pytest.raises(ValueError, match="positive diagonal"):
            m.calibrate(bad)
    with pytest.raises(ValueError, match="shape"):
        m.calibrate(np.eye(3))
    with pytest.raises(ValueError, match="only int8"):
        ReducedMatrix(a, "bfloat16").calibrate(np.eye(4))
    np.testing.assert_array_equal(dequantised(m), nearest)  # unchanged
