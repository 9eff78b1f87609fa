"""The optimizers (src/gru_native/optimizers.py over csrc/optim*.c) against a NumPy transcription
of Keras 3's update rules (keras/src/optimizers/{sgd,adam,adamw,rmsprop}.py and the clipping and
weight decay of base_optimizer.py), against torch.optim where the formulas coincide, and their
clipping, thread independence, state round trip and errors."""

import json

import numpy as np
import pytest

import gru_native
from gru_native import optimizers
from gru_native.kernels import optim as _optim
from gru_native.optimizers import SGD, Adam, AdamW, RMSprop
from helpers import OPTIM_TOL, assert_close_optim

SEGMENTS = [(0, 1), (1, 6), (7, 12), (19, 33)]  # odd sizes, one a single element
N = 52


@pytest.fixture
def restore_threads():
    n = gru_native.get_num_threads()
    yield
    gru_native.set_num_threads(n)




def gradient_steps(rng, steps, n=N, dtype=np.float64):
    """Gradients of magnitude in [0.5, 1.5] (never near 0, where epsilon would dominate), scaled
    differently per step so that AMSGrad's running maximum of v differs from v."""
    scales = [1.0, 3.0, 0.2, 1.0, 0.05, 2.0, 0.5]
    return [(rng.choice([-1.0, 1.0], n) * rng.uniform(0.5, 1.5, n) * scales[t % len(scales)])
            .astype(dtype) for t in range(steps)]


# ---- a NumPy Keras ---------------------------------------------------------------------------

def keras_steps(kind, cfg, params, grads_seq, segments):
    """Keras 3's updates, one variable (segment) at a time as Keras does, in the params' dtype
    (Python float hyper-parameters stay weak, as Keras casts them to the variable's dtype)."""
    variables = [params[o:o + s].copy() for o, s in segments]
    zeros = lambda: [np.zeros_like(v) for v in variables]  # noqa: E731
    m, v, vhat, avg = zeros(), zeros(), zeros(), zeros()
    lr = cfg.get("learning_rate", {"sgd": 0.01}.get(kind, 0.001))
    wd = cfg.get("weight_decay", 0.004 if kind == "adamw" else None)
    for t, grads in enumerate(grads_seq):
        gs = [grads[o:o + s].copy() for o, s in segments]
        # base_optimizer._clip_gradients
        if cfg.get("clipnorm"):
            c = cfg["clipnorm"]
            gs = [g * c / max(np.sqrt(np.sum(g * g)), c) for g in gs]
        elif cfg.get("global_clipnorm"):
            c = cfg["global_clipnorm"]
            norm = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in gs))
            gs = [g * g.dtype.type(c * min(1 / norm, 1 / c)) for g in gs]
        elif cfg.get("clipvalue"):
            gs = [np.clip(g, -cfg["clipvalue"], cfg["clipvalue"]) for g in gs]
        # base_optimizer._apply_weight_decay
        if wd is not None:
            variables = [p - p * wd * lr for p in variables]
        for i, (p, g) in enumerate(zip(variables, gs)):
            if kind == "sgd":
                mu = cfg.get("momentum", 0.0)
                if mu != 0:
                    m[i] = m[i] * mu - g * lr
                    p += (m[i] * mu - g * lr) if cfg.get("nesterov") else m[i]
                else:
                    p -= g * lr
            elif kind in ("adam", "adamw"):
                b1, b2 = cfg.get("beta_1", 0.9), cfg.get("beta_2", 0.999)
                eps = cfg.get("epsilon", 1e-7)
                alpha = lr * np.sqrt(1 - b2 ** (t + 1)) / (1 - b1 ** (t + 1))
                m[i] += (g - m[i]) * (1 - b1)
                v[i] += (g * g - v[i]) * (1 - b2)
                vv = v[i]
                if cfg.get("amsgrad"):
                    vhat[i] = np.maximum(vhat[i], v[i])
                    vv = vhat[i]
                p -= m[i] * alpha / (np.sqrt(vv) + eps)
            elif kind == "rmsprop":
                rho, mu = cfg.get("rho", 0.9), cfg.get("momentum", 0.0)
                eps = cfg.get("epsilon", 1e-7)
                v[i] = rho * v[i] + (1 - rho) * (g * g)
                if cfg.get("centered"):
                    avg[i] = rho * avg[i] + (1 - rho) * g
                    den = v[i] - avg[i] ** 2 + eps
                else:
                    den = v[i] + eps
                inc = lr * g / np.sqrt(den)
                if mu > 0:
                    m[i] = mu * m[i] + inc
                    p -= m[i]
                else:
                    p -= inc
    out = params.copy()
    for (o, s), p in zip(segments, variables):
        out[o:o + s] = p
    return out


CLASSES = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}
CONFIGS = [
    ("sgd", {}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"momentum": 0.5, "weight_decay": 0.1, "clipvalue": 0.7}),
    ("adam", {}),
    ("adam", {"learning_rate": 0.01, "amsgrad": True, "beta_2": 0.5}),
    ("adam", {"beta_1": 0.0, "epsilon": 1e-3}),
    ("adam", {"clipnorm": 1.5}),
    ("adam", {"global_clipnorm": 2.0, "amsgrad": True}),
    ("adamw", {}),
    ("adamw", {"learning_rate": 0.01, "weight_decay": 0.1, "amsgrad": True, "beta_2": 0.5}),
    ("rmsprop", {}),
    ("rmsprop", {"learning_rate": 0.01, "momentum": 0.5}),
    ("rmsprop", {"centered": True, "rho": 0.7}),
    ("rmsprop", {"centered": True, "momentum": 0.9, "clipnorm": 2.0}),
    ("rmsprop", {"global_clipnorm": 1.0, "weight_decay": 0.05}),
]


def run_ours(kind, cfg, params, grads_seq, segments=SEGMENTS):
    opt = CLASSES[kind](**cfg)
    p = params.copy()
    opt.build(p, segments)
    for g in grads_seq:
        opt.apply(p, g.copy())
    assert opt.iterations == len(grads_seq)
    return p, opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind,cfg", CONFIGS)
def test_matches_keras_formulas(rng, kind, cfg, dtype):
    params = rng.normal(size=N).astype(dtype)
    grads = gradient_steps(rng, 7, dtype=dtype)
    got, opt = run_ours(kind, cfg, params, grads)
    want = keras_steps(kind, cfg, params, grads, SEGMENTS)
    assert got.dtype == dtype
    assert all(s.dtype == dtype for s in opt.get_state().values() if s.ndim == 1)
    assert_close_optim(got, want, OPTIM_TOL[dtype], f"{kind} {cfg}")
    assert not np.array_equal(got, params)


def test_amsgrad_is_exercised(rng):
    """With beta_2 = 0.5 and shrinking gradients v falls below its running maximum, so AMSGrad
    takes other steps than Adam (else the amsgrad configurations above would prove nothing)."""
    params = rng.normal(size=N)
    grads = gradient_steps(rng, 7)
    plain, _ = run_ours("adam", {"beta_2": 0.5}, params, grads)
    ams, opt = run_ours("adam", {"beta_2": 0.5, "amsgrad": True}, params, grads)
    assert np.abs(plain - ams).max() > 1e-4
    state = opt.get_state()
    assert (state["velocity_hat"] > state["velocity"]).any()


# ---- torch.optim ---------------------------------------------------------------------------

def run_torch(make, params, grads_seq):
    torch = pytest.importorskip("torch")
    p = torch.tensor(params.copy(), requires_grad=True)
    opt = make(torch.optim, [p])
    for g in grads_seq:
        p.grad = torch.from_numpy(g.copy())
        opt.step()
    return p.detach().numpy()


# (ours, torch): the same update up to rounding. SGD: Keras keeps m = -lr * (torch's buffer),
# equal for a constant lr. Adam/AdamW: Keras adds epsilon to sqrt(v), torch to
# sqrt(v / (1 - beta_2^t)), and RMSprop puts it inside the square root where torch adds it
# outside: with epsilon = 0 both sides compute the same quantity.
TORCH_PAIRS = [
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9},
     lambda o, p: o.SGD(p, lr=0.05, momentum=0.9)),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
     lambda o, p: o.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    ("sgd", {"learning_rate": 0.05}, lambda o, p: o.SGD(p, lr=0.05)),
    ("adam", {"learning_rate": 0.01, "epsilon": 0.0},
     lambda o, p: o.Adam(p, lr=0.01, eps=0.0)),
    ("adam", {"learning_rate": 0.01, "epsilon": 0.0, "amsgrad": True, "beta_2": 0.5},
     lambda o, p: o.Adam(p, lr=0.01, eps=0.0, amsgrad=True, betas=(0.9, 0.5))),
    ("adamw", {"learning_rate": 0.01, "epsilon": 0.0, "weight_decay": 0.1},
     lambda o, p: o.AdamW(p, lr=0.01, eps=0.0, weight_decay=0.1)),
    ("rmsprop", {"learning_rate": 0.01, "epsilon": 0.0, "rho": 0.8},
     lambda o, p: o.RMSprop(p, lr=0.01, eps=0.0, alpha=0.8)),
    ("rmsprop", {"learning_rate": 0.01, "epsilon": 0.0, "momentum": 0.5, "centered": True},
     lambda o, p: o.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0, momentum=0.5, centered=True)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind,cfg,make", TORCH_PAIRS)
def test_matches_torch_where_formulas_coincide(rng, kind, cfg, make, dtype):
    params = rng.normal(size=N).astype(dtype)
    grads = gradient_steps(rng, 7, dtype=dtype)
    got, _ = run_ours(kind, cfg, params, grads, [(0, N)])
    want = run_torch(make, params, grads)
    assert_close_optim(got, want.astype(np.float64), OPTIM_TOL[dtype], f"{kind} {cfg}")


@pytest.mark.parametrize("kind,cfg,make", [
    ("adam", {"learning_rate": 0.01}, lambda o, p: o.Adam(p, lr=0.01, eps=1e-7)),
    ("rmsprop", {"learning_rate": 0.01, "momentum": 0.5},
     lambda o, p: o.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7, momentum=0.5)),
])
def test_default_epsilon_differs_from_torch_only_by_its_placement(rng, kind, cfg, make):
    """Epsilon = 1e-7 on both sides, gradients with 0.5 <= |g| <= 1.5, 7 steps, float64.
    Adam: v >= 0.25 (1 - beta_2^t), so sqrt(v) >= 0.0158; the denominators sqrt(v) + eps (Keras)
    and sqrt(v) + eps sqrt(1 - beta_2^t) (torch) differ by < eps, a relative 6.3e-6 of a step of
    at most lr_t |m| / sqrt(v) <= 3 lr: < 2e-5 lr per step.
    RMSprop (rho 0.9): v >= 0.025; sqrt(v + eps) (Keras) and sqrt(v) + eps (torch) differ by a
    relative < eps / sqrt(v) + eps / (2 v) = 2.7e-6 of an increment <= 1.5 lr / sqrt(0.025) =
    9.5 lr, which momentum 0.5 sums to at most 19 lr: < 5.2e-5 lr per step.
    So 7 steps differ by < 4e-4 lr, while they move the parameters by about lr each."""
    steps = 7
    params = rng.normal(size=N)
    grads = list(rng.choice([-1.0, 1.0], (steps, N)) * rng.uniform(0.5, 1.5, (steps, N)))
    got, _ = run_ours(kind, cfg, params, grads, [(0, N)])
    want = run_torch(make, params, grads)
    bound = 4e-4 * cfg["learning_rate"]
    assert np.abs(got - want).max() <= bound
    assert np.abs(got - params).max() > 100 * bound


# ---- clipping ------------------------------------------------------------------------------

def descent(cfg, grads, segments=SEGMENTS):
    """p after one SGD step with lr 1 from p = 0: minus the gradient the optimizer used."""
    opt = SGD(learning_rate=1.0, **cfg)
    p = np.zeros_like(grads)
    opt.build(p, segments)
    opt.apply(p, grads)
    return -p


def test_clipvalue(rng):
    g = rng.normal(scale=2.0, size=N)
    used = descent({"clipvalue": 0.5}, g.copy())
    np.testing.assert_array_equal(used, np.clip(g, -0.5, 0.5))
    assert (np.abs(g) > 0.5).any() and (np.abs(g) < 0.5).any()


def test_clipnorm_clips_each_variable_by_its_own_norm(rng):
    g = rng.normal(size=N)
    g[0] = 0.3  # a one-element variable under the bound
    c = 1.5
    clipped = g.copy()
    used = descent({"clipnorm": c}, clipped)
    np.testing.assert_array_equal(clipped, used)  # the gradients were clipped in place
    for o, s in SEGMENTS:
        before, after = g[o:o + s], used[o:o + s]
        norm = np.linalg.norm(before)
        if norm <= c:
            np.testing.assert_array_equal(after, before)
        else:
            np.testing.assert_allclose(np.linalg.norm(after), c, rtol=1e-14)
            np.testing.assert_allclose(after, before * c / norm, rtol=1e-14)
    norms = [np.linalg.norm(g[o:o + s]) for o, s in SEGMENTS]
    assert min(norms) < c < max(norms)


def test_global_clipnorm_scales_all_variables_together(rng):
    g = rng.normal(size=N)
    used = descent({"global_clipnorm": 2.0}, g.copy())
    np.testing.assert_allclose(np.linalg.norm(used), 2.0, rtol=1e-14)
    np.testing.assert_allclose(used, g * 2.0 / np.linalg.norm(g), rtol=1e-14)
    small = 0.01 * g
    np.testing.assert_array_equal(descent({"global_clipnorm": 2.0}, small.copy()), small)
    zero = np.zeros(N)
    np.testing.assert_array_equal(descent({"global_clipnorm": 2.0}, zero), zero)


def test_non_finite_gradients_spread_as_in_keras(rng):
    g = rng.normal(size=N)
    g[3] = np.inf
    assert np.isnan(descent({"global_clipnorm": 1.0}, g.copy())).all()  # Keras: scale is NaN
    g[3] = np.nan
    used = descent({"clipnorm": 1.0}, g.copy())
    assert np.isnan(used[1:7]).all() and not np.isnan(used[7:]).any()  # only its variable


def test_sum_squares_per_segment(rng):
    for dtype in (np.float32, np.float64):
        g = rng.normal(size=100_003).astype(dtype)
        segs = [(0, 5), (5, 70_000), (80_000, 20_003)]  # a gap at [70_005, 80_000) is not summed
        got = _optim.sum_squares(g, segs)
        want = [np.sum(g[o:o + s].astype(np.float64) ** 2) for o, s in segs]
        np.testing.assert_allclose(got, want, rtol=1e-13)
        np.testing.assert_allclose(_optim.sum_squares(g)[0], np.sum(g.astype(np.float64) ** 2),
                                   rtol=1e-13)
    assert _optim.sum_squares(np.zeros(0))[0] == 0
    assert _optim.sum_squares(np.ones(4), []).shape == (0,)


# ---- threads -------------------------------------------------------------------------------

BIG = 300_007
BIG_SEGMENTS = [(0, 1), (1, 100_000), (100_001, 150_000), (250_001, 50_006)]


@pytest.mark.parametrize("kind,cfg", [
    ("sgd", {"momentum": 0.9, "nesterov": True, "clipnorm": 50.0}),
    ("adam", {"global_clipnorm": 10.0, "amsgrad": True}),
    ("adamw", {"clipvalue": 1.0}),
    ("rmsprop", {"centered": True, "momentum": 0.9, "clipnorm": 100.0}),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_and_two_threads_agree_bit_for_bit(restore_threads, rng, kind, cfg, dtype):
    params = rng.normal(size=BIG).astype(dtype)
    grads = gradient_steps(rng, 3, n=BIG, dtype=dtype)
    results = []
    for threads in (1, 2, 3):
        gru_native.set_num_threads(threads)
        p, opt = run_ours(kind, cfg, params, grads, BIG_SEGMENTS)
        results.append((p, opt.get_state()))
    for p, state in results[1:]:
        np.testing.assert_array_equal(p, results[0][0])
        for k in state:
            np.testing.assert_array_equal(state[k], results[0][1][k])
    for threads in (1, 2, 3):  # the sums of squares too: fixed chunks, added in a fixed order
        gru_native.set_num_threads(threads)
        sums = _optim.sum_squares(grads[0], BIG_SEGMENTS)
        if threads == 1:
            first = sums
        np.testing.assert_array_equal(sums, first)


# ---- learning rate, config, state ----------------------------------------------------------

def test_learning_rate_is_a_settable_float(rng):
    opt = Adam(learning_rate=0.01)
    assert isinstance(opt.learning_rate, float) and opt.learning_rate == 0.01
    opt.learning_rate = np.float32(0.5)
    assert opt.learning_rate == 0.5 and type(opt.learning_rate) is float
    p = np.zeros(3)
    opt.build(p)
    opt.learning_rate = 0.0
    opt.apply(p, np.ones(3))
    np.testing.assert_array_equal(p, 0)  # the next step uses the new rate
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = -1e-3
    assert opt.get_config()["learning_rate"] == 0.0


@pytest.mark.parametrize("kind,cfg", CONFIGS)
def test_config_round_trips_through_json(kind, cfg):
    opt = CLASSES[kind](**cfg)
    config = json.loads(json.dumps(optimizers.serialize(opt)))
    again = optimizers.get(config)
    assert type(again) is type(opt) and again.get_config() == opt.get_config()
    assert type(opt).from_config(opt.get_config()).get_config() == opt.get_config()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind,cfg", CONFIGS)
def test_state_resumes_training_exactly(rng, kind, cfg, dtype):
    params = rng.normal(size=N).astype(dtype)
    grads = gradient_steps(rng, 6, dtype=dtype)
    opt = CLASSES[kind](**cfg)
    p = params.copy()
    opt.build(p, SEGMENTS)
    for g in grads[:3]:
        opt.apply(p, g.copy())
    opt.learning_rate = opt.learning_rate * 0.5  # as ReduceLROnPlateau would
    saved_p, saved_state, saved_config = p.copy(), opt.get_state(), opt.get_config()
    for g in grads[3:]:
        opt.apply(p, g.copy())
    assert opt.iterations == 6 and saved_state["iterations"] == 3  # the state is a copy

    resumed = type(opt).from_config(saved_config)
    p2 = saved_p.copy()
    resumed.build(p2, SEGMENTS)
    resumed.set_state(saved_state)
    for g in grads[3:]:
        resumed.apply(p2, g.copy())
    np.testing.assert_array_equal(p2, p)
    assert resumed.iterations == 6 and resumed.learning_rate == opt.learning_rate


def test_state_of_an_unbuilt_optimizer():
    opt = Adam()
    state = opt.get_state()
    assert set(state) == {"iterations", "learning_rate"}
    opt.set_state({"iterations": np.array(4), "learning_rate": np.array(0.25)})
    assert opt.iterations == 4 and opt.learning_rate == 0.25
    with pytest.raises(ValueError, match="not built"):
        opt.set_state({"iterations": np.array(4), "momentum": np.zeros(3), "velocity": np.zeros(3)})


def test_bad_state_raises():
    opt = RMSprop(momentum=0.5)
    opt.build(np.zeros(5, np.float32))
    good = opt.get_state()
    assert set(good) == {"iterations", "learning_rate", "velocity", "momentum"}
    with pytest.raises(ValueError, match="keys"):
        opt.set_state({k: v for k, v in good.items() if k != "momentum"})
    with pytest.raises(ValueError, match="keys"):
        opt.set_state(dict(good, average_gradient=np.zeros(5)))
    with pytest.raises(ValueError, match=r"state\['velocity'\] must have shape \(5,\)"):
        opt.set_state(dict(good, velocity=np.zeros(4)))
    with pytest.raises(TypeError, match="velocity"):
        opt.set_state(dict(good, velocity=np.zeros(5, complex)))
    with pytest.raises(ValueError, match="iterations"):
        opt.set_state(dict(good, iterations=np.array(-1)))
    with pytest.raises(ValueError, match="iterations"):
        opt.set_state(dict(good, iterations=np.array(1.5)))


# ---- get() and hyper-parameters ------------------------------------------------------------

def test_get():
    for name, cls in [("sgd", SGD), ("Adam", Adam), ("ADAMW", AdamW), ("RMSprop", RMSprop)]:
        assert type(optimizers.get(name)) is cls
    opt = SGD(momentum=0.5)
    assert optimizers.get(opt) is opt
    got = optimizers.get({"class_name": "RMSprop", "config": {"rho": 0.5, "centered": True}})
    assert isinstance(got, RMSprop) and got.rho == 0.5 and got.centered
    with pytest.raises(ValueError, match="unknown optimizer 'nadam'; known: adam, adamw, rmsprop, sgd"):
        optimizers.get("nadam")
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimizers.get({"class_name": "Adagrad", "config": {}})
    with pytest.raises(TypeError):
        optimizers.get(3)


def test_keras_configs_load():
    """A Keras 3 Adam config has keys we do not use; they load when they change nothing."""
    keras_config = {"name": "adam", "learning_rate": 0.0005, "weight_decay": None,
                    "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                    "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                    "loss_scale_factor": None, "gradient_accumulation_steps": None,
                    "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}
    opt = optimizers.get({"module": "keras.optimizers", "class_name": "Adam",
                          "config": keras_config, "registered_name": None})
    assert isinstance(opt, Adam) and opt.learning_rate == 0.0005
    with pytest.raises(ValueError, match="use_ema=True is not supported"):
        Adam(use_ema=True)
    with pytest.raises(ValueError, match="not recognized"):
        Adam(bogus=1)


@pytest.mark.parametrize("make,match", [
    (lambda: SGD(learning_rate=-0.1), "learning_rate"),
    (lambda: SGD(learning_rate=float("nan")), "learning_rate"),
    (lambda: SGD(learning_rate="fast"), "learning_rate"),
    (lambda: SGD(momentum=1.5), "momentum"),
    (lambda: SGD(momentum=-0.1), "momentum"),
    (lambda: Adam(beta_1=1.0), "beta_1"),
    (lambda: Adam(beta_2=-0.1), "beta_2"),
    (lambda: Adam(epsilon=-1e-7), "epsilon"),
    (lambda: AdamW(weight_decay=None), "weight_decay"),
    (lambda: AdamW(weight_decay=-0.1), "weight_decay"),
    (lambda: RMSprop(rho=1.0), "rho"),
    (lambda: RMSprop(momentum=2.0), "momentum"),
    (lambda: Adam(clipnorm=0.0), "clipnorm"),
    (lambda: Adam(clipvalue=-1.0), "clipvalue"),
    (lambda: Adam(global_clipnorm=-1.0), "global_clipnorm"),
    (lambda: Adam(clipnorm=1.0, global_clipnorm=1.0), "Only one of"),
    (lambda: SGD(clipnorm=1.0, clipvalue=1.0), "Only one of"),
])
def test_bad_hyper_parameters_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ---- arrays crossing into C ----------------------------------------------------------------

def test_apply_checks_the_buffers():
    opt = Adam()
    p = np.zeros(6, np.float32)
    with pytest.raises(ValueError, match="not built"):
        opt.apply(p, np.zeros(6, np.float32))
    opt.build(p, [(0, 2), (2, 4)])
    with pytest.raises(ValueError, match=r"grads has shape \(5,\)"):
        opt.apply(p, np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="params has shape"):
        opt.apply(np.zeros(6), np.zeros(6))
    with pytest.raises(TypeError, match="grads must be a NumPy array"):
        opt.apply(p, [0.0] * 6)


@pytest.mark.parametrize("args,error,match", [
    (lambda p, g: (p.reshape(2, 3), g), ValueError, "params must be 1-D"),
    (lambda p, g: (p, g[:5]), ValueError, "grads has 5 elements, but params has 6"),
    (lambda p, g: (p, g.astype(np.float64)), TypeError, "grads has dtype float64, but params has float32"),
    (lambda p, g: (p.astype(np.int32), g), TypeError, "params must be float32 or float64"),
    (lambda p, g: (p.astype(">f4"), g), TypeError,
     r"params has the non-native byte order .* convert it first with params.astype\('float32'\)"),
    (lambda p, g: (np.zeros(12, np.float32)[::2], g), ValueError, "params must be C-contiguous"),
    (lambda p, g: (p, np.zeros(12, np.float32)[::2]), ValueError, "grads must be C-contiguous"),
    (lambda p, g: (p, p), ValueError, "params and grads share memory"),
    (lambda p, g: (p.tolist(), g), TypeError, "params must be a NumPy array"),
])
def test_bindings_reject_bad_buffers(args, error, match):
    p, g = np.zeros(6, np.float32), np.zeros(6, np.float32)
    m, v = np.zeros(6, np.float32), np.zeros(6, np.float32)
    pp, gg = args(p, g)
    with pytest.raises(error, match=match):
        _optim.adam_update(pp, gg, m, v, learning_rate=0.1, beta_1=0.9, beta_2=0.999,
                           epsilon=1e-7, step=1)


def test_bindings_reject_bad_slots():
    p, g = np.zeros(6), np.zeros(6)
    hp = dict(learning_rate=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-7, step=1)
    with pytest.raises(ValueError, match="v has 4 elements"):
        _optim.adam_update(p, g, np.zeros(6), np.zeros(4), **hp)
    with pytest.raises(TypeError, match="m has dtype float32"):
        _optim.adam_update(p, g, np.zeros(6, np.float32), np.zeros(6), **hp)
    m = np.zeros(6)
    with pytest.raises(ValueError, match="m and v share memory"):
        _optim.adam_update(p, g, m, m, **hp)
    readonly = np.zeros(6)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="params is read-only"):
        _optim.adam_update(readonly, g, np.zeros(6), np.zeros(6), **hp)
    with pytest.raises(ValueError, match="step must be >= 1"):
        _optim.adam_update(p, g, np.zeros(6), np.zeros(6), **dict(hp, step=0))
    with pytest.raises(ValueError, match="needs a momentum slot"):
        _optim.sgd_update(p, g, None, learning_rate=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="needs a momentum slot"):
        _optim.rmsprop_update(p, g, np.zeros(6), None, learning_rate=0.1, rho=0.9, momentum=0.5,
                              epsilon=1e-7)


@pytest.mark.parametrize("segments,error,match", [
    ([(0, 4), (3, 3)], ValueError, "segments 0 and 1 overlap"),
    ([(4, 2), (0, 5)], ValueError, "segments 1 and 0 overlap"),
    ([(0, 7)], ValueError, r"segment 0 \(offset 0, size 7\) is not inside the buffer of 6"),
    ([(-1, 2)], ValueError, "segment 0"),
    ([(0, 2), (2, -1)], ValueError, "segment 1"),
    ([(0, 2, 1)], ValueError, "pairs"),
    ([(0.0, 2.0)], TypeError, "integer"),
])
def test_bad_segments_raise(segments, error, match):
    with pytest.raises(error, match=match):
        SGD(clipnorm=1.0).build(np.zeros(6), segments)
    with pytest.raises(error, match=match):
        _optim.clip_by_norm(np.zeros(6), segments, 1.0)


def test_build_checks_params():
    with pytest.raises(TypeError, match="float32 or float64"):
        Adam().build(np.zeros(4, np.int64))
    with pytest.raises(TypeError, match="in native byte order, got dtype >f4"):
        Adam().build(np.zeros(4, ">f4"))  # updated in place: not copied to native order
    with pytest.raises(ValueError, match="1-D"):
        Adam().build(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="NumPy array"):
        Adam().build([0.0, 1.0])
