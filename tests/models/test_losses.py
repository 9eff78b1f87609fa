"""Losses (src/gru_native/losses.py): values against torch.nn.functional and Keras' documented
examples, gradients against central finite differences, the fused from-logits forms, Keras'
sample_weight reduction, and the errors bad inputs raise."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gru_native import activations, losses
from helpers import numerical_grad

SHAPES = [(5, 1), (4, 3), (3, 4, 2)]  # (batch, outputs) and (batch, timesteps, outputs)


def targets_and_predictions(rng, name, shape, logits=False):
    """y_true and y_pred (probabilities, or logits if asked) in the form each loss expects."""
    if name in ("mse", "mae", "huber"):
        return rng.normal(size=shape), rng.normal(scale=1.5, size=shape)
    z = rng.normal(scale=2, size=shape)
    if name == "binary_crossentropy":
        y = rng.integers(0, 2, size=shape).astype(float)
        return y, z if logits else activations.get("sigmoid").forward(z)
    labels = rng.integers(0, shape[-1], size=shape[:-1])
    y = labels if name == "sparse_categorical_crossentropy" else np.eye(shape[-1])[labels]
    return y, z if logits else activations.get("softmax").forward(z)


def torch_loss(name, y, p, from_logits=False):
    """The mean over every entry, as torch.nn.functional computes it."""
    y, p = torch.from_numpy(np.asarray(y)), torch.from_numpy(p)
    if name == "mse":
        return F.mse_loss(p, y).item()
    if name == "mae":
        return F.l1_loss(p, y).item()
    if name == "huber":
        return F.huber_loss(p, y, delta=1.0).item()
    if name == "binary_crossentropy":
        f = F.binary_cross_entropy_with_logits if from_logits else F.binary_cross_entropy
        return f(p, y).item()
    # classes on axis 1; cross_entropy's log_softmax leaves log-probabilities as they are
    p = p if from_logits else torch.log(p)
    p = p.movedim(-1, 1)
    y = y.long() if name == "sparse_categorical_crossentropy" else y.movedim(-1, 1)
    return F.cross_entropy(p, y).item()


ALL = ["mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy",
       "sparse_categorical_crossentropy"]
CROSSENTROPIES = ALL[3:]
# one class is no categorical problem (p = 1 is clipped to 1 - 1e-7)
CASES = [(name, shape) for name in ALL for shape in SHAPES
         if not ("categorical" in name and shape[-1] == 1)]
VARIANTS = [(name, False) for name in ALL] + [(name, True) for name in CROSSENTROPIES]


@pytest.mark.parametrize("name,shape", CASES)
def test_value_matches_torch(rng, name, shape):
    y, p = targets_and_predictions(rng, name, shape)
    np.testing.assert_allclose(losses.get(name)(y, p), torch_loss(name, y, p), rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", CROSSENTROPIES)
def test_from_logits_value_matches_torch(rng, name, shape):
    y, z = targets_and_predictions(rng, name, shape, logits=True)
    loss = losses.get({"class_name": name, "config": {"from_logits": True}})
    np.testing.assert_allclose(loss(y, z), torch_loss(name, y, z, from_logits=True), rtol=1e-12)


def test_values_of_keras_documentation():
    # the examples in keras/src/losses/losses.py
    y, p = [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
    cce = losses.CategoricalCrossentropy()
    assert cce(y, p) == pytest.approx(1.177, abs=5e-4)  # the 0 is clipped to 1e-7
    assert cce(y, p, sample_weight=[0.3, 0.7]) == pytest.approx(0.814, abs=5e-4)
    scce = losses.SparseCategoricalCrossentropy()
    assert scce([1, 2], p) == pytest.approx((0.0513 + 2.303) / 2, abs=5e-4)
    y, p = [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]
    assert losses.get("binary_crossentropy")(y, p) == pytest.approx((0.916 + 0.714) / 2, abs=5e-4)
    assert losses.get("huber")(y, p) == pytest.approx(0.155)


def test_probabilities_are_clipped_to_epsilon():
    eps = 1e-7
    bce = losses.get("binary_crossentropy")
    value, grad = bce.value_and_grad([[1.0], [0.0]], [[0.0], [1.0]])
    assert value == pytest.approx(-np.log(eps))
    np.testing.assert_array_equal(grad, 0)  # the clip passes no gradient, as in Keras
    # categorical: rescaled to sum to 1 first, as Keras
    cce = losses.get("categorical_crossentropy")
    assert cce([[0, 1.0]], [[2.0, 2.0]]) == pytest.approx(np.log(2))
    assert cce([[0, 1.0]], [[1.0, 0.0]]) == pytest.approx(-np.log(eps))


@pytest.mark.parametrize("name,from_logits", VARIANTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_gradient_matches_finite_differences(rng, name, shape, from_logits):
    loss = losses.get({"class_name": name, "config": {"from_logits": True} if from_logits else {}})
    y, p = targets_and_predictions(rng, name, shape, logits=from_logits)
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy") and not from_logits:
        p = p * rng.uniform(0.5, 2, size=shape[:-1] + (1,))  # off the simplex: rescaled to sum 1
    weights = rng.uniform(0, 2, size=shape[:-1])
    value, grad = loss.value_and_grad(y, p, sample_weight=weights)
    assert value == loss(y, p, sample_weight=weights)
    assert grad.shape == p.shape
    want = numerical_grad(lambda x: loss(y, x, sample_weight=weights), p.copy())
    np.testing.assert_allclose(grad, want, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name,shape", [case for case in CASES if case[0] in CROSSENTROPIES])
def test_fused_gradient_is_activation_backward_of_probability_gradient(rng, name, shape):
    loss = losses.get(name)
    act = activations.get(loss.fused_activation)
    y, z = targets_and_predictions(rng, name, shape, logits=True)
    weights = rng.uniform(0, 2, size=shape[:-1])
    a = act.forward(z)
    value, dp = loss.value_and_grad(y, a, sample_weight=weights)
    fused_value, dz = loss.value_and_grad_from_logits(y, z, sample_weight=weights)
    np.testing.assert_allclose(fused_value, value, rtol=1e-12)
    np.testing.assert_allclose(dz, act.backward(dp, a, z), rtol=1e-9, atol=1e-15)
    # from_logits=True on the raw output is the same computation
    loss.from_logits = True
    assert loss.value_and_grad(y, z, sample_weight=weights)[0] == fused_value


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", CROSSENTROPIES)
def test_fused_form_is_finite_for_saturated_logits(name, dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 30.0]], dtype)
    y = {"binary_crossentropy": [[0, 1, 1], [0, 1, 0]],
         "categorical_crossentropy": [[0, 1, 0], [1, 0, 0]],
         "sparse_categorical_crossentropy": [1, 0]}[name]
    loss = losses.get(name)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value, dz = loss.value_and_grad_from_logits(y, z)
    assert np.isfinite(value) and dz.dtype == dtype and np.isfinite(dz).all()
    # the true loss, not one capped by clipping: about 2e4 of wrong logit in one entry
    assert value > 1e3
    # (p - y) / n, with p exactly 0 or 1 where saturated
    p = activations.get(loss.fused_activation).forward(z.astype(np.float64))
    y = np.eye(3)[y] if name == "sparse_categorical_crossentropy" else np.asarray(y, float)
    n = z.size if name == "binary_crossentropy" else len(z)
    np.testing.assert_allclose(dz, (p - y) / n, rtol=1e-6, atol=1e-12)


def test_sample_weight_multiplies_entries_and_divides_by_their_number(rng):
    y, p = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    mse = losses.get("mse")
    per_sample = np.mean((p - y) ** 2, axis=-1)
    w = np.array([1.0, 0.0, 2.0, 0.5])
    assert mse(y, p, sample_weight=w) == pytest.approx(np.sum(w * per_sample) / 4)
    assert mse(y, p, sample_weight=w[:, None]) == mse(y, p, sample_weight=w)  # (B, 1) as (B,)
    assert mse(y, p, sample_weight=np.ones(4)) == pytest.approx(mse(y, p))
    _, grad = mse.value_and_grad(y, p, sample_weight=w)
    np.testing.assert_array_equal(grad[1], 0)


def test_timestep_mask_and_per_sequence_weights_on_3d_outputs(rng):
    B, T, C = 3, 5, 2
    y, p = rng.normal(size=(B, T, C)), rng.normal(size=(B, T, C))
    mae = losses.get("mae")
    entries = np.mean(np.abs(p - y), axis=-1)
    mask = (np.arange(T) < np.array([5, 2, 0])[:, None]).astype(float)
    # Keras divides the masked sum by every entry, masked ones included
    assert mae(y, p, sample_weight=mask) == pytest.approx(np.sum(entries * mask) / (B * T))
    w = np.array([0.5, 1.0, 3.0])
    assert mae(y, p, sample_weight=w) == pytest.approx(np.sum(entries * w[:, None]) / (B * T))
    _, grad = mae.value_and_grad(y, p, sample_weight=mask)
    np.testing.assert_array_equal(grad[1, 2:], 0)
    np.testing.assert_array_equal(grad[2], 0)


def test_sparse_labels_of_every_accepted_shape(rng):
    z = rng.normal(size=(4, 3, 5))
    labels = rng.integers(0, 5, size=(4, 3))
    scce = losses.SparseCategoricalCrossentropy(from_logits=True)
    want = scce(labels, z)
    assert scce(labels[..., None], z) == want
    assert scce(labels.astype(np.float32), z) == want
    assert scce(labels[:, 0], z[:, 0]) == scce(labels[:, :1], z[:, 0])  # (B,) and (B, 1)
    one_hot = losses.CategoricalCrossentropy(from_logits=True)(np.eye(5)[labels], z)
    assert want == pytest.approx(one_hot)


def test_rank_one_targets_against_one_output(rng):
    y, p = rng.integers(0, 2, size=6), rng.uniform(0.1, 0.9, size=(6, 1))
    bce = losses.get("binary_crossentropy")
    assert bce(y, p) == bce(y[:, None], p)


def test_float32_predictions_give_float32_gradients(rng):
    y, p = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)).astype(np.float32)
    value, grad = losses.get("huber").value_and_grad(y, p)
    assert grad.dtype == np.float32 and isinstance(value, float)


@pytest.mark.parametrize("name,y,p,match", [
    ("mse", np.zeros((4, 2)), np.zeros((4, 3)), r"y_true has shape \(4, 2\) but y_pred has shape"),
    ("mse", np.zeros(4), np.zeros((4, 3)), "y_true has shape"),
    ("mae", [[np.nan, 0.0]], [[0.0, 0.0]], "y_true contains NaN"),
    ("binary_crossentropy", [[np.inf]], [[0.5]], "y_true contains NaN or infinite"),
    ("categorical_crossentropy", np.zeros((2, 3)), np.zeros((3, 3)), "y_true has shape"),
    ("sparse_categorical_crossentropy", [0, 3], np.full((2, 3), 1 / 3), r"integers in \[0, 2\]"),
    ("sparse_categorical_crossentropy", [-1, 0], np.full((2, 3), 1 / 3), r"integers in \[0, 2\]"),
    ("sparse_categorical_crossentropy", [0.5, 1], np.full((2, 3), 1 / 3), "integers"),
    ("sparse_categorical_crossentropy", [np.nan, 1], np.full((2, 3), 1 / 3), "y_true contains NaN"),
    ("sparse_categorical_crossentropy", [0, 1, 2], np.full((2, 3), 1 / 3), r"shape \(2,\)"),
    ("sparse_categorical_crossentropy", np.zeros((2, 3)), np.full((2, 3), 1 / 3), r"shape \(2,\)"),
])
def test_bad_targets_raise(name, y, p, match):
    loss = losses.get(name)
    with pytest.raises(ValueError, match=match):
        loss.value_and_grad(y, p)
    if name in CROSSENTROPIES:
        with pytest.raises(ValueError, match=match):
            loss.value_and_grad_from_logits(y, p)


@pytest.mark.parametrize("weights,match", [
    (np.ones(3), r"sample_weight has shape \(3,\)"),
    (np.ones((4, 2)), r"must have shape \(4,\)"),
    ([np.nan, 1, 1, 1], "sample_weight contains NaN"),
])
def test_bad_sample_weights_raise(weights, match):
    with pytest.raises(ValueError, match=match):
        losses.get("mse")(np.zeros((4, 2)), np.zeros((4, 2)), sample_weight=weights)


def test_names_aliases_and_fused_activations():
    expected = {
        "mse": (losses.MeanSquaredError, "mean_squared_error", None),
        "mean_squared_error": (losses.MeanSquaredError, "mean_squared_error", None),
        "MAE": (losses.MeanAbsoluteError, "mean_absolute_error", None),
        "mean_absolute_error": (losses.MeanAbsoluteError, "mean_absolute_error", None),
        "huber": (losses.Huber, "huber_loss", None),
        "binary_crossentropy": (losses.BinaryCrossentropy, "binary_crossentropy", "sigmoid"),
        "categorical_crossentropy": (losses.CategoricalCrossentropy, "categorical_crossentropy",
                                     "softmax"),
        "Sparse_Categorical_Crossentropy": (losses.SparseCategoricalCrossentropy,
                                            "sparse_categorical_crossentropy", "softmax"),
    }
    for identifier, (cls, name, fused) in expected.items():
        loss = losses.get(identifier)
        assert type(loss) is cls and loss.name == name and loss.fused_activation == fused


def test_config_round_trip():
    for loss in [losses.Huber(delta=2.5), losses.BinaryCrossentropy(from_logits=True),
                 losses.SparseCategoricalCrossentropy(), losses.MeanSquaredError()]:
        for class_name in (loss.name, type(loss).__name__):
            again = losses.get({"class_name": class_name, "config": loss.get_config()})
            assert type(again) is type(loss) and again.get_config() == loss.get_config()
    assert losses.Huber(delta=2.5).get_config() == {"delta": 2.5}
    assert losses.CategoricalCrossentropy().get_config() == {"from_logits": False}
    assert type(losses.get("BinaryCrossentropy")) is losses.BinaryCrossentropy  # Keras' names
    instance = losses.MeanAbsoluteError()
    assert losses.get(instance) is instance


def test_unknown_losses_raise():
    with pytest.raises(ValueError, match="unknown loss 'hinge'; known: .*huber.*mse"):
        losses.get("hinge")
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        losses.get({"class_name": "hinge"})
    with pytest.raises(TypeError, match="cannot get a loss"):
        losses.get(F.mse_loss)
    with pytest.raises(ValueError, match="delta must be a positive number, got 0"):
        losses.Huber(delta=0)


# ---- Pinball: the quantile loss ---------------------------------------------------------------

QUANTILES = [0.1, 0.5, 0.9]


def pinball_numpy(y, p, quantiles):
    """The mean over every prediction of max(q e, (q - 1) e), e = y - p, p reshaped to
    y's shape plus the quantile axis."""
    q = np.asarray(quantiles)
    e = y[..., None] - p.reshape(y.shape + (len(q),))
    return np.mean(np.maximum(q * e, (q - 1) * e))


@pytest.mark.parametrize("shape", [(5, 1), (4, 3), (3, 4, 2)])
def test_pinball_value_matches_numpy_and_scikit_learn(rng, shape):
    from sklearn.metrics import mean_pinball_loss

    y = rng.normal(size=shape)
    p = rng.normal(size=shape[:-1] + (shape[-1] * 3,))
    loss = losses.Pinball(QUANTILES)
    assert loss(y, p) == pytest.approx(pinball_numpy(y, p, QUANTILES), rel=1e-12)
    # target j's quantile k is prediction j * Q + k
    per_q = p.reshape(shape + (3,))
    want = np.mean([mean_pinball_loss(y.ravel(), per_q[..., k].ravel(), alpha=q)
                    for k, q in enumerate(QUANTILES)])
    assert loss(y, p) == pytest.approx(want, rel=1e-12)


def test_pinball_of_the_median_is_half_the_mae(rng):
    y, p = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    assert losses.Pinball([0.5])(y, p) == pytest.approx(losses.get("mae")(y, p) / 2, rel=1e-12)
    assert losses.get("pinball_loss").quantiles == (0.5,)  # the default: the median


@pytest.mark.parametrize("shape", [(5, 1), (4, 3), (3, 4, 2)])
def test_pinball_gradient_matches_finite_differences(rng, shape):
    y = rng.normal(size=shape)
    p = rng.normal(size=shape[:-1] + (shape[-1] * 3,))
    w = rng.uniform(0.5, 2, size=shape[:1])
    loss = losses.Pinball([0.2, 0.6, 0.75])
    # no error within the differences' reach of a kink (e == 0)
    e = y[..., None] - p.reshape(shape + (3,))
    assert np.abs(e).min() > 1e-3
    for weights in (None, w):
        _, grad = loss.value_and_grad(y, p, weights)
        numeric = numerical_grad(lambda x: loss(y, x, weights), p.copy())
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_pinball_gradient_matches_torch_autograd_also_at_the_kinks(rng):
    """torch's autograd of neuralforecast's MQLoss formula (error = y_hat - y;
    q max(-error, 0) + (1 - q) max(error, 0)): -q, 1 - q, and 1/2 - q where y == p."""
    quantiles = [0.1, 0.25, 0.5, 0.9]
    y = rng.normal(size=(6, 2))
    p = rng.normal(size=(6, 8))
    p[::2, ::3] = np.repeat(y, 4, axis=1)[::2, ::3]  # exact ties
    _, grad = losses.Pinball(quantiles).value_and_grad(y, p)
    y_t = torch.from_numpy(y)
    p_t = torch.from_numpy(p.reshape(6, 2, 4)).requires_grad_()
    q = torch.tensor(quantiles, dtype=torch.float64)
    error = p_t - y_t.unsqueeze(-1)
    zero = torch.zeros_like(error)
    value = torch.mean(q * torch.maximum(-error, zero) + (1 - q) * torch.maximum(error, zero))
    value.backward()
    np.testing.assert_allclose(grad, p_t.grad.numpy().reshape(6, 8), rtol=1e-12, atol=0)
    at_tie = np.repeat(y, 4, axis=1) == p
    q_of = np.broadcast_to(np.tile(quantiles, 2), p.shape)  # each prediction's quantile
    assert at_tie.sum() == 9
    np.testing.assert_allclose(grad[at_tie], (0.5 - q_of[at_tie]) / p.size, rtol=1e-12)
    np.testing.assert_allclose(grad[~at_tie], np.where(np.repeat(y, 4, axis=1) > p, -q_of,
                                                       1 - q_of)[~at_tie] / p.size, rtol=1e-12)


def test_pinball_target_shapes_as_match_shapes(rng):
    loss = losses.Pinball(QUANTILES)
    y, p = rng.normal(size=5), rng.normal(size=(5, 3))
    assert loss(y, p) == loss(y[:, None], p)  # (B,) against one target's quantiles
    y3, p3 = rng.normal(size=(2, 4)), rng.normal(size=(2, 4, 3))
    assert loss(y3, p3) == loss(y3[..., None], p3)  # (B, T) and (B, T, 1) on sequences
    for y_bad, p_bad, match in [
            (np.zeros((5, 2)), np.zeros((5, 3)), r"y_true has shape \(5, 2\) but y_pred has "
                                                 r"shape \(5, 3\): .* must have shape \(5, 1\)"),
            (np.zeros(5), np.zeros((5, 6)), r"must have shape \(5, 2\)"),
            (np.zeros((5, 1)), np.zeros((5, 4)), "holds 3 values per target"),
            (np.array([[np.nan]]), np.zeros((1, 3)), "y_true contains NaN"),
            (np.array([[np.inf]]), np.zeros((1, 3)), "y_true contains NaN or infinite")]:
        with pytest.raises(ValueError, match=match):
            loss.value_and_grad(y_bad, p_bad)
        with pytest.raises(ValueError, match=match):  # the same error without predictions
            loss.check_targets(y_bad, p_bad.shape)
    loss.check_targets(y, p.shape, np.float32)


def test_pinball_sample_weights_and_masks(rng):
    loss = losses.Pinball(QUANTILES)
    y, p = rng.normal(size=(4, 2)), rng.normal(size=(4, 6))
    entries = np.array([pinball_numpy(y[i], p[i], QUANTILES) for i in range(4)])
    w = np.array([1.0, 0.0, 2.0, 0.5])
    assert loss(y, p, sample_weight=w) == pytest.approx(np.sum(w * entries) / 4, rel=1e-12)
    assert loss(y, p, sample_weight=w[:, None]) == loss(y, p, sample_weight=w)
    assert loss(y, p, sample_weight=np.ones(4)) == pytest.approx(loss(y, p), rel=1e-12)
    value, grad = loss.value_and_grad(y, p, sample_weight=w)
    np.testing.assert_array_equal(grad[1], 0)
    _, unweighted = loss.value_and_grad(y, p)
    np.testing.assert_allclose(grad, unweighted * w[:, None], rtol=1e-12)
    # per-timestep weights (a mask) on sequence outputs: divided by every entry, as Keras
    y3, p3 = rng.normal(size=(3, 5, 1)), rng.normal(size=(3, 5, 3))
    mask = (np.arange(5) < np.array([5, 2, 0])[:, None]).astype(float)
    q, e3 = np.asarray(QUANTILES), y3 - p3
    entries3 = np.mean(np.maximum(q * e3, (q - 1) * e3), axis=-1)
    assert loss(y3, p3, sample_weight=mask) == pytest.approx(np.sum(entries3 * mask) / 15,
                                                             rel=1e-12)
    _, grad3 = loss.value_and_grad(y3, p3, sample_weight=mask)
    np.testing.assert_array_equal(grad3[1, 2:], 0)
    np.testing.assert_array_equal(grad3[2], 0)
    with pytest.raises(ValueError, match=r"sample_weight has shape \(3,\)"):
        loss(y, p, sample_weight=np.ones(3))


def test_pinball_float32_predictions_give_float32_gradients(rng):
    y, p = rng.normal(size=(4, 1)), rng.normal(size=(4, 3)).astype(np.float32)
    value, grad = losses.Pinball(QUANTILES).value_and_grad(y, p)
    assert grad.dtype == np.float32 and isinstance(value, float)


@pytest.mark.parametrize("quantiles,match", [
    ([], "must not be empty"),
    ([0.5, 0.5], "strictly increasing"),
    ([0.9, 0.1], r"strictly increasing, got \[0.9, 0.1\]"),
    ([0.0, 0.5], r"each of quantiles must be in \(0, 1\), got 0"),
    ([0.5, 1.0], r"in \(0, 1\), got 1.0"),
    ([-0.1], r"in \(0, 1\)"),
    ([np.nan], r"in \(0, 1\), got nan"),
    ([True], r"in \(0, 1\), got True"),
    (["0.5"], r"in \(0, 1\)"),
    (0.5, "must be a non-empty sequence"),
    ([[0.1, 0.5]], "must be a non-empty sequence"),
])
def test_pinball_bad_quantiles_raise(quantiles, match):
    with pytest.raises(ValueError, match=match):
        losses.Pinball(quantiles)
    with pytest.raises(ValueError, match=match):
        losses.get({"class_name": "pinball_loss", "config": {"quantiles": quantiles}})


def test_pinball_names_and_config_round_trip():
    loss = losses.Pinball(np.array([0.05, 0.5, 0.95]))
    assert loss.get_config() == {"quantiles": [0.05, 0.5, 0.95]}
    assert loss.quantiles == (0.05, 0.5, 0.95) and loss.name == "pinball_loss"
    for class_name in ("pinball_loss", "Pinball"):
        again = losses.get({"class_name": class_name, "config": loss.get_config()})
        assert type(again) is losses.Pinball and again.get_config() == loss.get_config()
    assert type(losses.get("Pinball_Loss")) is losses.Pinball
    assert loss.fused_activation is None and not loss.checks_target_values


def _quantile_data(rng, n=20000):
    """y = x + uniform noise on [0, 1): the q-quantile of y given x is x + q."""
    x = rng.uniform(0, 2, size=(n, 1))
    return x, x[:, 0] + rng.uniform(0, 1, size=n)


def _quantile_model(quantiles):
    from gru_native import Dense, Sequential, optimizers

    model = Sequential([Dense(len(quantiles), input_shape=(1,))], dtype="float64")
    schedule = optimizers.schedules.ExponentialDecay(0.05, 300, 0.5)
    model.compile(optimizer=optimizers.Adam(learning_rate=schedule),
                  loss=losses.Pinball(quantiles))
    return model


def test_a_model_trained_with_pinball_recovers_the_quantiles(rng):
    quantiles = [0.1, 0.5, 0.9]
    x, y = _quantile_data(rng)
    model = _quantile_model(quantiles)
    model.fit(x, y, batch_size=256, epochs=40, verbose=0)
    grid = np.linspace(0.1, 1.9, 7)[:, None]
    np.testing.assert_allclose(model.predict(grid, verbose=0), grid + np.array(quantiles),
                               atol=0.05)
    # on the training data, a share q of the targets lies below the q-quantile's prediction
    below = np.mean(y[:, None] < model.predict(x, verbose=0), axis=0)
    np.testing.assert_allclose(below, quantiles, atol=0.02)


def test_a_model_compiled_with_pinball_saves_and_loads(rng, tmp_path):
    from gru_native import load_model

    x, y = _quantile_data(rng, n=512)
    model = _quantile_model([0.25, 0.75])
    model.fit(x, y, batch_size=64, epochs=2, verbose=0)
    model.save(tmp_path / "pinball.gnz")
    loaded = load_model(tmp_path / "pinball.gnz")
    assert type(loaded.loss) is losses.Pinball and loaded.loss.quantiles == (0.25, 0.75)
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
