"""Learning-rate schedules (src/gru_native/optimizers/schedules.py) against Keras 3's own
schedules and closed forms written here, and the optimizers that take one as learning_rate:
evaluated once per step at `iterations`, saved with the model and resumed at the same step."""

import json
import math
import os

import numpy as np
import pytest

from gru_native import Dense, Sequential, load_model, optimizers
from gru_native.optimizers import SGD, Adam, AdamW, RMSprop, schedules
from gru_native.optimizers.schedules import (CosineDecay, CosineDecayRestarts, ExponentialDecay,
                                             InverseTimeDecay, LearningRateSchedule,
                                             PiecewiseConstantDecay, PolynomialDecay)

# (class name, args, kwargs): every schedule, with its staircase, cycle, warmup and restart cases
CASES = [
    ("ExponentialDecay", (0.1, 7, 0.5), {}),
    ("ExponentialDecay", (0.1, 7, 0.5), {"staircase": True}),
    ("InverseTimeDecay", (0.1, 3, 0.5), {}),
    ("InverseTimeDecay", (0.1, 3.0, 0.5), {"staircase": True}),
    ("PiecewiseConstantDecay", ([3, 7, 12], [1.0, 0.5, 0.1, 0.05]), {}),
    ("PolynomialDecay", (0.1, 10), {}),
    ("PolynomialDecay", (0.1, 10, 0.01, 2.0), {}),
    ("PolynomialDecay", (0.1, 10, 0.01, 0.5, True), {}),
    ("CosineDecay", (0.1, 20), {}),
    ("CosineDecay", (0.1, 20, 0.1), {}),
    ("CosineDecay", (0.0, 20, 0.1), {"warmup_target": 0.2, "warmup_steps": 5}),
    ("CosineDecayRestarts", (0.1, 4), {}),
    ("CosineDecayRestarts", (0.1, 4, 3.0, 0.5, 0.1), {}),
    ("CosineDecayRestarts", (0.1, 4, 1.0, 0.8), {}),
    ("CosineDecayRestarts", (0.1, 5, 1.5, 0.9, 0.05), {}),
]
STEPS = range(60)  # past every decay_steps, boundary and several restarts


def keras_module():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def keras_values(keras, schedule):
    """Keras' schedule at each of STEPS: in one vectorized call on JAX (a call per step takes
    0.1 to 0.25 s), else step by step."""
    if keras.backend.backend() == "jax":
        import jax

        return np.asarray(jax.vmap(schedule)(np.array(STEPS)), np.float64)
    return np.array([float(schedule(np.int64(step))) for step in STEPS])


@pytest.mark.parametrize("name,args,kwargs", CASES)
def test_values_and_config_match_keras(name, args, kwargs):
    keras = keras_module()
    ours = getattr(schedules, name)(*args, **kwargs)
    theirs = getattr(keras.optimizers.schedules, name)(*args, **kwargs)
    # Keras computes in float32, whose rounding near a rate of 0 exceeds 1e-6 of it
    np.testing.assert_allclose([ours(step) for step in STEPS], keras_values(keras, theirs),
                               rtol=1e-6, atol=1e-8)
    assert ours.get_config() == theirs.get_config()
    assert type(schedules.deserialize(keras.optimizers.schedules.serialize(theirs))) is type(ours)


def test_closed_forms():
    assert ExponentialDecay(0.1, 10, 0.5)(5) == pytest.approx(0.1 * 0.5 ** 0.5, rel=1e-15)
    assert ExponentialDecay(0.1, 10, 0.5, staircase=True)(19) == pytest.approx(0.05, rel=1e-15)
    assert InverseTimeDecay(1.0, 2, 0.5)(3) == pytest.approx(1 / 1.75, rel=1e-15)
    assert InverseTimeDecay(1.0, 2, 0.5, staircase=True)(3) == pytest.approx(1 / 1.5, rel=1e-15)
    piecewise = PiecewiseConstantDecay([3, 7], [1.0, 0.5, 0.1])
    assert [piecewise(s) for s in (0, 3, 4, 7, 8, 100)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    poly = PolynomialDecay(0.1, 10, 0.01, power=2.0)
    assert poly(5) == pytest.approx(0.09 * 0.25 + 0.01, rel=1e-15) and poly(20) == 0.01
    cycle = PolynomialDecay(0.1, 10, 0.01, power=2.0, cycle=True)
    assert cycle(0) == 0.1 and cycle(10) == pytest.approx(0.01, rel=1e-15)
    assert cycle(15) == pytest.approx(0.09 * 0.25 ** 2 + 0.01, rel=1e-15)  # decay over 20 steps
    assert CosineDecay(0.1, 20)(10) == pytest.approx(0.05, rel=1e-15)
    assert CosineDecay(0.1, 20, alpha=0.1)(30) == pytest.approx(0.01, rel=1e-15)
    warm = CosineDecay(0.0, 20, warmup_target=0.2, warmup_steps=5)
    assert [warm(s) for s in (0, 2, 5)] == pytest.approx([0.0, 0.08, 0.2], rel=1e-15)
    assert warm(15) == pytest.approx(0.1, rel=1e-15) and warm(100) == pytest.approx(0, abs=1e-17)
    # periods of 4, 8, 16 steps starting at 0, 4, 12; each from half the rate of the previous
    sgdr = CosineDecayRestarts(0.1, 4, t_mul=2.0, m_mul=0.5)
    assert [sgdr(s) for s in (0, 2, 4, 8, 12, 20)] == pytest.approx(
        [0.1, 0.05, 0.05, 0.025, 0.025, 0.0125], rel=1e-14)
    assert CosineDecayRestarts(0.1, 4, t_mul=1.0, m_mul=0.5)(10) == pytest.approx(0.0125)
    assert CosineDecayRestarts(0.1, 4, alpha=0.2)(4 + 4) == pytest.approx(
        0.1 * (0.8 * 0.5 * (1 + math.cos(math.pi / 2)) + 0.2), rel=1e-15)


def test_restarts_start_on_their_first_step_whatever_the_rounding():
    for t_mul in (1.5, 2.0, 3.0, 10.0):
        sgdr = CosineDecayRestarts(1.0, 7, t_mul=t_mul, m_mul=0.5)
        start, length = 0.0, 7.0
        for i in range(6):
            if start == int(start):
                assert sgdr(int(start)) == pytest.approx(0.5 ** i, rel=1e-12), (t_mul, i)
            start, length = start + length, length * t_mul


@pytest.mark.parametrize("name,args,kwargs", CASES)
def test_config_round_trips_through_json(name, args, kwargs):
    schedule = getattr(schedules, name)(*args, **kwargs)
    config = json.loads(json.dumps(schedules.serialize(schedule)))
    again = schedules.deserialize(config)
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    assert [again(s) for s in STEPS] == [schedule(s) for s in STEPS]
    assert schedules.get(config).get_config() == schedule.get_config()
    assert schedules.get(schedule) is schedule


def test_keras_serialized_form_loads():
    config = {"module": "keras.optimizers.schedules", "class_name": "PolynomialDecay",
              "config": {"cycle": False, "decay_steps": 10000, "end_learning_rate": 0.01,
                         "initial_learning_rate": 0.1, "name": None, "power": 0.5},
              "registered_name": None}
    schedule = schedules.deserialize(config)
    assert isinstance(schedule, PolynomialDecay) and schedule.power == 0.5


@pytest.mark.parametrize("make,match", [
    (lambda: ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
    (lambda: ExponentialDecay(0.1, -10, 0.5), "decay_steps"),
    (lambda: ExponentialDecay(0.1, math.nan, 0.5), "decay_steps"),
    (lambda: ExponentialDecay(-0.1, 10, 0.5), "initial_learning_rate"),
    (lambda: ExponentialDecay("0.1", 10, 0.5), "initial_learning_rate"),
    (lambda: ExponentialDecay(0.1, 10, -0.5), "decay_rate"),
    (lambda: InverseTimeDecay(0.1, 0, 0.5), "decay_steps"),
    (lambda: InverseTimeDecay(0.1, 10, -1.0), "decay_rate"),
    (lambda: PiecewiseConstantDecay([3, 7], [1.0, 0.5]), "length of boundaries"),
    (lambda: PiecewiseConstantDecay([], [1.0]), "boundaries"),
    (lambda: PiecewiseConstantDecay([7, 3], [1.0, 0.5, 0.1]), "strictly increasing"),
    (lambda: PiecewiseConstantDecay([3, 3], [1.0, 0.5, 0.1]), "strictly increasing"),
    (lambda: PiecewiseConstantDecay([-1, 3], [1.0, 0.5, 0.1]), r"boundaries\[0\]"),
    (lambda: PiecewiseConstantDecay([3, 7], [1.0, -0.5, 0.1]), r"values\[1\]"),
    (lambda: PolynomialDecay(0.1, 0), "decay_steps"),
    (lambda: PolynomialDecay(0.1, 10, -0.01), "end_learning_rate"),
    (lambda: PolynomialDecay(0.1, 10, power=-1.0), "power"),
    (lambda: CosineDecay(0.1, 0), "decay_steps"),
    (lambda: CosineDecay(0.1, 10, alpha=1.5), "alpha"),
    (lambda: CosineDecay(0.1, 10, warmup_target=-0.1, warmup_steps=5), "warmup_target"),
    (lambda: CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=-5), "warmup_steps"),
    (lambda: CosineDecayRestarts(0.1, 0), "first_decay_steps"),
    (lambda: CosineDecayRestarts(0.1, 10, t_mul=0.5), "t_mul"),
    (lambda: CosineDecayRestarts(0.1, 10, m_mul=-1.0), "m_mul"),
    (lambda: CosineDecayRestarts(0.1, 10, alpha=-0.1), "alpha"),
    (lambda: schedules.deserialize("ExponentialDecay"), "config"),
    (lambda: schedules.deserialize({"class_name": "Nope", "config": {}}), "Nope"),
])
def test_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_flags_must_be_booleans():
    with pytest.raises(TypeError, match="staircase"):
        ExponentialDecay(0.1, 10, 0.5, staircase="yes")
    with pytest.raises(TypeError, match="cycle"):
        PolynomialDecay(0.1, 10, cycle=1)


def test_the_base_class_must_be_overridden():
    with pytest.raises(NotImplementedError, match="__call__"):
        LearningRateSchedule()(0)
    with pytest.raises(NotImplementedError, match="get_config"):
        LearningRateSchedule().get_config()


# ---- optimizers with a schedule ------------------------------------------------------------

SEGMENTS = [(0, 5), (5, 12)]
N = 17


class RecordedSchedule(LearningRateSchedule):
    """A user's schedule: 0.1 / (step + 1), recording the steps it is asked for."""

    def __init__(self):
        self.steps = []

    def __call__(self, step):
        self.steps.append(step)
        return np.float32(0.1) / (step + 1)


def gradients(rng, steps, dtype=np.float64):
    return [rng.normal(size=N).astype(dtype) for _ in range(steps)]


def test_the_schedule_is_evaluated_once_per_step_at_iterations(rng):
    schedule = RecordedSchedule()
    opt = SGD(learning_rate=schedule)
    p = np.zeros(N)
    opt.build(p, SEGMENTS)
    for g in gradients(rng, 3):
        opt.apply(p, g)
    assert schedule.steps == [0, 1, 2]
    assert opt.learning_rate == pytest.approx(0.1 / 4) and schedule.steps[-1] == 3


@pytest.mark.parametrize("make", [lambda lr: SGD(lr, momentum=0.9, nesterov=True),
                                  lambda lr: Adam(lr, amsgrad=True), lambda lr: AdamW(lr),
                                  lambda lr: RMSprop(lr, momentum=0.5, centered=True)])
def test_a_schedule_steps_as_the_float_rate_set_to_its_value_before_each_step(rng, make):
    schedule = CosineDecay(0.0, 4, alpha=0.1, warmup_target=0.05, warmup_steps=2)
    params, grads = rng.normal(size=N), gradients(rng, 7)
    scheduled, by_hand = make(schedule), make(1.0)
    p, q = params.copy(), params.copy()
    scheduled.build(p, SEGMENTS)
    by_hand.build(q, SEGMENTS)
    for step, g in enumerate(grads):
        assert scheduled.learning_rate == schedule(step)
        by_hand.learning_rate = schedule(step)
        scheduled.apply(p, g.copy())
        by_hand.apply(q, g.copy())
    np.testing.assert_array_equal(p, q)


def test_adam_with_a_schedule_matches_keras(rng):
    keras = keras_module()
    segments = [(0, 6), (6, 3)]
    params = rng.normal(size=9).astype(np.float32)
    grads = [rng.normal(size=9).astype(np.float32) for _ in range(6)]

    def schedule(module):
        return module.CosineDecay(0.0, 4, alpha=0.1, warmup_target=0.05, warmup_steps=2)

    theirs = keras.optimizers.Adam(learning_rate=schedule(keras.optimizers.schedules))
    variables = [keras.Variable(params[o:o + n]) for o, n in segments]
    ours, p = Adam(learning_rate=schedule(schedules)), params.copy()
    ours.build(p, segments)
    for g in grads:
        theirs.apply([g[o:o + n] for o, n in segments], variables)
        ours.apply(p, g.copy())
    want = np.concatenate([np.asarray(v.value) for v in variables])
    np.testing.assert_allclose(p, want, rtol=1e-5, atol=1e-6)  # Keras' float32 schedule
    assert ours.learning_rate == pytest.approx(float(theirs.learning_rate), rel=1e-6)


def test_a_float_cannot_replace_a_schedule_but_a_schedule_can_replace_either():
    opt = Adam(learning_rate=ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.01
    opt.learning_rate = PiecewiseConstantDecay([5], [0.2, 0.1])
    assert opt.learning_rate == 0.2
    opt = Adam(learning_rate=0.01)
    opt.learning_rate = InverseTimeDecay(0.1, 1, 1.0)
    opt.iterations = 1
    assert opt.learning_rate == pytest.approx(0.05)


def test_a_bad_scheduled_rate_raises_before_the_step(rng):
    class Negative(RecordedSchedule):
        def __call__(self, step):
            return -0.1 if step == 1 else 0.1

    opt = SGD(learning_rate=Negative())
    p = np.zeros(N)
    opt.build(p, SEGMENTS)
    g = gradients(rng, 1)[0]
    opt.apply(p, g.copy())
    before = p.copy()
    with pytest.raises(ValueError, match=r"Negative\(step=1\) must be a non-negative number"):
        opt.apply(p, g.copy())
    np.testing.assert_array_equal(p, before)
    assert opt.iterations == 1


def test_config_with_a_schedule_round_trips_as_keras_does():
    opt = Adam(learning_rate=PolynomialDecay(0.1, 10, cycle=True), clipnorm=1.0)
    config = opt.get_config()
    assert config["learning_rate"] == {"class_name": "PolynomialDecay",
                                       "config": PolynomialDecay(0.1, 10, cycle=True).get_config()}
    again = optimizers.get(json.loads(json.dumps(optimizers.serialize(opt))))
    assert isinstance(again._learning_rate, PolynomialDecay)
    assert again.get_config() == config
    # a Keras optimizer config, its schedule in Keras' serialized form
    keras_config = {"module": "keras.optimizers", "class_name": "SGD", "registered_name": None,
                    "config": {"name": "SGD", "learning_rate": {
                        "module": "keras.optimizers.schedules", "class_name": "ExponentialDecay",
                        "config": {"initial_learning_rate": 0.1, "decay_steps": 10,
                                   "decay_rate": 0.5, "staircase": False,
                                   "name": "ExponentialDecay"},
                        "registered_name": None}, "momentum": 0.0, "nesterov": False}}
    sgd = optimizers.get(keras_config)
    assert isinstance(sgd._learning_rate, ExponentialDecay) and sgd.learning_rate == 0.1


def test_state_resumes_on_the_schedule(rng):
    schedule = ExponentialDecay(0.1, 2, 0.5)
    params, grads = rng.normal(size=N), gradients(rng, 5)
    opt, p = Adam(learning_rate=schedule), params.copy()
    opt.build(p, SEGMENTS)
    for g in grads[:3]:
        opt.apply(p, g.copy())
    state, config, saved = opt.get_state(), opt.get_config(), p.copy()
    assert state["learning_rate"] == schedule(3)  # the current value, for readers of the state
    for g in grads[3:]:
        opt.apply(p, g.copy())

    resumed = Adam.from_config(config)
    resumed.build(saved, SEGMENTS)
    resumed.set_state(dict(state, learning_rate=np.array(123.0)))  # ignored: the schedule rules
    assert resumed.learning_rate == schedule(3)
    for g in grads[3:]:
        resumed.apply(saved, g.copy())
    np.testing.assert_array_equal(saved, p)


def test_a_saved_model_resumes_on_its_schedule(tmp_path, rng):
    x = rng.normal(size=(20, 3)).astype(np.float32)
    y = rng.normal(size=(20, 2)).astype(np.float32)
    batches = [(x[i:i + 4], y[i:i + 4]) for i in range(0, 20, 4)]

    def make():
        model = Sequential([Dense(2, input_shape=(3,))])
        model.compile(optimizer=Adam(learning_rate=CosineDecayRestarts(0.05, 2, m_mul=0.5)),
                      loss="mse")
        return model

    straight, first = make(), make()
    first.set_weights(straight.get_weights())
    for xb, yb in batches:
        straight.train_on_batch(xb, yb)
    for xb, yb in batches[:3]:
        first.train_on_batch(xb, yb)
    first.save(tmp_path / "model.gru")
    loaded = load_model(tmp_path / "model.gru")
    assert loaded.optimizer.iterations == 3
    assert isinstance(loaded.optimizer._learning_rate, CosineDecayRestarts)
    for xb, yb in batches[3:]:
        loaded.train_on_batch(xb, yb)
    for a, b in zip(loaded.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert loaded.optimizer.learning_rate == straight.optimizer.learning_rate
