"""Metrics (src/gru_native/metrics.py): values in closed form and from Keras' documentation, how
'accuracy' is resolved, and accumulation over uneven batches equal to the one-shot value."""

import numpy as np
import pytest

from gru_native import activations, metrics


def one_shot(identifier, y, p, weights=None, loss=None):
    m = metrics.get(identifier, loss=loss)
    m.update_state(y, p, sample_weight=weights)
    return m.result()


def test_regression_metrics_in_closed_form(rng):
    y, p = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    assert one_shot("mae", y, p) == pytest.approx(np.mean(np.abs(p - y)))
    assert one_shot("mse", y, p) == pytest.approx(np.mean((p - y) ** 2))
    w = rng.uniform(0, 2, size=6)
    # a metric's weighted mean divides by the weights' sum (a loss divides by the count)
    want = np.sum(w * np.mean(np.abs(p - y), axis=-1)) / np.sum(w)
    assert one_shot("mean_absolute_error", y, p, w) == pytest.approx(want)


def test_accuracies_in_closed_form(rng):
    p = activations.get("softmax").forward(rng.normal(size=(8, 4)))
    labels = rng.integers(0, 4, size=8)
    hits = labels == np.argmax(p, axis=-1)
    assert one_shot("sparse_categorical_accuracy", labels, p) == pytest.approx(np.mean(hits))
    assert one_shot("categorical_accuracy", np.eye(4)[labels], p) == pytest.approx(np.mean(hits))
    y = rng.integers(0, 2, size=(8, 4))
    assert one_shot("binary_accuracy", y, p) == pytest.approx(np.mean(y == (p > 0.5)))


def test_values_of_keras_documentation():
    # the examples in keras/src/metrics/accuracy_metrics.py
    y, p = [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]]
    assert one_shot("binary_accuracy", y, p) == pytest.approx(0.75)
    assert one_shot("binary_accuracy", y, p, [1, 0, 0, 1]) == pytest.approx(0.5)
    y, p = [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]
    assert one_shot("categorical_accuracy", y, p) == pytest.approx(0.5)
    assert one_shot("categorical_accuracy", y, p, [0.7, 0.3]) == pytest.approx(0.3)
    y, p = [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]
    assert one_shot("sparse_categorical_accuracy", y, p) == pytest.approx(0.5)
    assert one_shot("sparse_categorical_accuracy", y, p, [0.7, 0.3]) == pytest.approx(0.3)


@pytest.mark.parametrize("y_shape,p_shape,loss,resolved", [
    ((6, 1), (6, 1), None, "binary_accuracy"),            # one sigmoid output
    ((6,), (6, 1), "binary_crossentropy", "binary_accuracy"),
    ((6, 4), (6, 4), None, "categorical_accuracy"),       # one-hot targets, softmax output
    ((6, 4), (6, 4), "categorical_crossentropy", "categorical_accuracy"),
    ((6,), (6, 4), None, "sparse_categorical_accuracy"),  # integer labels
    ((6, 1), (6, 4), "sparse_categorical_crossentropy", "sparse_categorical_accuracy"),
    ((6, 5), (6, 5, 4), None, "sparse_categorical_accuracy"),  # per-timestep labels
    ((6, 5, 4), (6, 5, 4), None, "categorical_accuracy"),
    ((6, 4), (6, 4), "binary_crossentropy", "binary_accuracy"),  # multi-label 0/1 targets
])
def test_accuracy_is_resolved_from_shapes_and_loss(rng, y_shape, p_shape, loss, resolved):
    p = rng.uniform(size=p_shape)
    if resolved == "sparse_categorical_accuracy":
        y = rng.integers(0, p_shape[-1], size=y_shape)
    elif resolved == "categorical_accuracy":
        y = np.eye(p_shape[-1])[rng.integers(0, p_shape[-1], size=y_shape[:-1])]
    else:
        y = rng.integers(0, 2, size=y_shape)
    for name in ("accuracy", "acc"):
        assert one_shot(name, y, p, loss=loss) == one_shot(resolved, y, p)
    # one-hot targets under categorical resolution and multi-label under binary really differ
    if y_shape == p_shape and p_shape[-1] > 1:
        other = "categorical_accuracy" if resolved == "binary_accuracy" else "binary_accuracy"
        assert one_shot("accuracy", y, p, loss=loss) != one_shot(other, y, p)


@pytest.mark.parametrize("name,y_of", [
    ("mae", lambda rng, p: rng.normal(size=p.shape)),
    ("mse", lambda rng, p: rng.normal(size=p.shape)),
    ("accuracy", lambda rng, p: rng.integers(0, p.shape[-1], size=p.shape[:-1])),
    ("binary_accuracy", lambda rng, p: rng.integers(0, 2, size=p.shape)),
    ("categorical_accuracy", lambda rng, p: np.eye(p.shape[-1])[rng.integers(0, 3, p.shape[:-1])]),
])
@pytest.mark.parametrize("shape,weighting", [
    ((15, 3), None), ((15, 3), "sample"), ((15, 4, 3), None), ((15, 4, 3), "sample"),
    ((15, 4, 3), "mask"),
])
def test_accumulating_uneven_batches_equals_the_one_shot_value(rng, name, y_of, shape, weighting):
    p = rng.uniform(size=shape)
    y = y_of(rng, p)
    if weighting == "sample":
        w = rng.uniform(0, 2, size=shape[0])
    elif weighting == "mask":
        lengths = rng.integers(1, shape[1] + 1, size=shape[0])
        w = (np.arange(shape[1]) < lengths[:, None]).astype(float)
    else:
        w = None
    m = metrics.get(name)
    m.update_state(y[:1], p[:1])  # forgotten by reset_state
    m.reset_state()
    for start, stop in [(0, 7), (7, 10), (10, 15)]:
        m.update_state(y[start:stop], p[start:stop], None if w is None else w[start:stop])
    assert m.result() == pytest.approx(one_shot(name, y, p, w), rel=1e-12)


def test_masked_timesteps_do_not_count(rng):
    y, p = rng.normal(size=(2, 3, 1)), rng.normal(size=(2, 3, 1))
    mask = np.array([[1.0, 1, 0], [1, 0, 0]])
    errors = np.abs(p - y)[..., 0]
    assert one_shot("mae", y, p, mask) == pytest.approx(np.sum(errors * mask) / 3)


def test_names_are_the_identifiers_as_given():
    for identifier in ["mae", "MAE", "mean_squared_error", "accuracy", "acc", "binary_accuracy"]:
        assert metrics.get(identifier).name == identifier
    assert metrics.MeanMetric(metrics.mean_absolute_error).name == "mean_absolute_error"
    m = metrics.get("mse")
    assert metrics.get(m) is m
    assert m.result() == 0.0  # nothing seen yet


def test_bad_identifiers_and_inputs_raise():
    with pytest.raises(ValueError, match="unknown metric 'auc'; known: acc, accuracy, .*, mae"):
        metrics.get("auc")
    with pytest.raises(TypeError, match="update_state"):
        metrics.get(len)
    with pytest.raises(ValueError, match="unknown loss"):
        metrics.get("accuracy", loss="hinge")
    with pytest.raises(ValueError, match="y_true has shape"):
        metrics.get("mae").update_state(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"sparse labels must have shape \(4,\)"):
        metrics.get("sparse_categorical_accuracy").update_state(np.zeros(3), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="sample_weight has shape"):
        metrics.get("mae").update_state(np.zeros((4, 2)), np.zeros((4, 2)), np.ones(5))
