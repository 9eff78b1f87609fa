"""The estimators' network and training budget: the Conv1D front end (conv, normalisation, ReLU,
max pooling), how the recurrent sequence is summarised (`pooling`), a budget in optimizer steps
(`min_steps`) and the learning-rate schedule (`lr_schedule='plateau'`)."""

import pickle

import numpy as np
import pytest

from gru_native import GRUClassifier, GRURegressor


def motif_data(n, steps=120, seed=0):
    """Two classes told apart by which 8-step motif sits at a random place in noise."""
    rng = np.random.default_rng(seed)
    motifs = 2 * np.stack([np.sin(np.linspace(0, np.pi, 8)), np.sin(np.linspace(0, 2 * np.pi, 8))])
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, steps))
    for row, label in zip(X, y):
        start = rng.integers(0, steps - 8)
        row[start:start + 8] += motifs[label]
    return X, y


def layer_names(estimator):
    return [type(layer).__name__ for layer in estimator.model_.layers]


@pytest.mark.parametrize("normalization,norm_layer", [("batch", "BatchNormalization"),
                                                      ("layer", "LayerNormalization"),
                                                      (None, None)])
def test_conv_front_end_layers(normalization, norm_layer):
    X, y = motif_data(20, steps=30)
    clf = GRUClassifier(units=4, conv_filters=(3, 5), conv_kernel_size=5, conv_pool_size=2,
                        normalization=normalization, max_iter=1, min_steps=0,
                        random_state=0).fit(X, y)
    block = (["Conv1D"] + (["PaddingMask", norm_layer] if norm_layer else [])
             + ["Activation", "PaddingMask", "MaxPooling1D", "PaddingMask"])
    # with a front end, pooling='auto' is the maximum over the recurrent sequence
    assert layer_names(clf) == ["InputLayer"] + 2 * block + ["GRU", "GlobalMaxPooling1D", "Dense"]
    convs = [layer for layer in clf.model_.layers if type(layer).__name__ == "Conv1D"]
    assert [c.filters for c in convs] == [3, 5] and convs[0].kernel_size == 5
    assert all(c.use_bias == (normalization is None) for c in convs)  # a norm's beta is the bias
    assert clf.predict_proba(X).shape == (20, 2)


@pytest.mark.parametrize("pooling,summary", [("last", []), ("mean", ["GlobalAveragePooling1D"]),
                                             ("max", ["GlobalMaxPooling1D"]),
                                             ("max_mean", ["GlobalMaxPooling1D",
                                                           "GlobalAveragePooling1D", "Concatenate"]),
                                             ("attention", ["Attention", "GlobalAveragePooling1D"])])
def test_pooling_summarises_the_sequence(pooling, summary):
    X, y = motif_data(20, steps=15)
    clf = GRUClassifier(units=(4, 3), pooling=pooling, max_iter=1, random_state=0).fit(X, y)
    assert layer_names(clf) == ["InputLayer", "GRU", "GRU"] + summary + ["Dense"]
    assert clf.model_.layers[2].return_sequences == (pooling != "last")


@pytest.mark.parametrize("scaling", ["global", "series"])
def test_mean_pooling_ignores_padded_steps(scaling):
    """Variable-length sequences: a sequence's prediction does not depend on the padding that
    other, longer sequences in the batch bring (nor, with scaling='series', do its statistics)."""
    rng = np.random.default_rng(0)
    X = [rng.normal(scale=rng.uniform(0.1, 10), size=n) for n in rng.integers(5, 15, 30)]
    y = np.array([x.mean() > 0 for x in X]).astype(int)
    clf = GRUClassifier(units=4, scaling=scaling, pooling="mean", max_iter=3,
                        random_state=0).fit(X, y)
    alone = np.vstack([clf.predict_proba([x]) for x in X[:5]])
    np.testing.assert_allclose(clf.predict_proba(X[:5]), alone, rtol=1e-12)


@pytest.mark.parametrize("normalization", ["batch", None])
def test_conv_front_end_keeps_the_padding_out(normalization):
    """Variable-length sequences through the Conv1D front end: a sequence predicts the same
    alone as in a batch padded to longer ones (Conv1D and MaxPooling1D drop the mask; the
    estimator's PaddingMask layers zero the padded steps and give the recurrent layer the
    shortened mask). Equal-length sequences still predict through the inference plan."""
    rng = np.random.default_rng(0)
    X = [rng.normal(size=n) for n in rng.integers(30, 90, 40)]
    y = np.array([x[:20].mean() > 0 for x in X]).astype(int)
    clf = GRUClassifier(units=4, conv_filters=(4, 4), conv_kernel_size=5, pooling="mean",
                        normalization=normalization, max_iter=3, min_steps=0, dtype="float64",
                        random_state=0).fit(X, y)
    alone = np.vstack([clf.predict_proba([x]) for x in X[:6]])
    np.testing.assert_allclose(clf.predict_proba(X[:6]), alone, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(clf.predict_proba(X)[:6], alone, rtol=1e-12, atol=1e-15)
    x = rng.normal(size=(5, 30, 1))
    assert clf.model_.inference_plan() is not None  # PaddingMask is the identity there
    np.testing.assert_allclose(clf.model_.predict(x, verbose=0),  # one call into C
                               clf.model_.predict(x, verbose=0, mask=np.ones((5, 30), bool)),
                               rtol=1e-12)  # layer by layer


def conv_same(x, kernel):
    """TensorFlow's 'same' convolution (the extra padding step on the right), no bias."""
    k = kernel.shape[0]
    padded = np.pad(x, ((0, 0), ((k - 1) // 2, k // 2), (0, 0)))
    return sum(padded[:, j:j + x.shape[1]] @ kernel[j] for j in range(k))


def batch_norm(x, gamma, beta, mean, variance):
    return (x - mean) / np.sqrt(variance + 1e-3) * gamma + beta


def inception_reference(model, x, n_modules, n_kernels):
    """InceptionTime's network (Ismail Fawaz et al. 2020, hfawaz/InceptionTime) in inference
    mode, in NumPy, on the weights of the model's layers in the order they were made."""
    weights = iter([layer.get_weights() for layer in model.layers if layer.weights])
    relu = lambda v: np.maximum(v, 0)
    h = residual = x
    for i in range(n_modules):
        bottleneck = h if h.shape[-1] == 1 else conv_same(h, next(weights)[0])
        branches = [conv_same(bottleneck, next(weights)[0]) for _ in range(n_kernels)]
        padded = np.pad(h, ((0, 0), (1, 1), (0, 0)), constant_values=-np.inf)
        pooled = np.maximum(np.maximum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])
        branches.append(conv_same(pooled, next(weights)[0]))
        h = relu(batch_norm(np.concatenate(branches, axis=2), *next(weights)))
        if i % 3 == 2:
            shortcut = batch_norm(conv_same(residual, next(weights)[0]), *next(weights))
            h = residual = relu(h + shortcut)
    kernel, bias = next(weights)
    logits = h.mean(axis=1) @ kernel + bias
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def test_inception_front_end_is_inception_time():
    """A tuple of kernel sizes makes each block an Inception module (InceptionTime's: the 1x1
    bottleneck from the second module on, a convolution per kernel size, a max-pooling branch,
    batch normalisation, ReLU), a residual shortcut around each three, and with units=() the
    mean over the steps feeds the output: predictions equal a NumPy InceptionTime on the same
    weights, trained moving statistics included."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 40, 2))
    y = np.arange(24) % 3
    clf = GRUClassifier(conv_filters=(3, 3, 3), conv_kernel_size=(3, 4, 7), max_iter=4,
                        min_steps=0, dtype="float64", scaling="global", random_state=0).fit(X, y)
    assert clf.settings_["units"] == () and clf.settings_["pooling"] == "mean"
    assert clf.settings_["conv_pool_size"] == 1
    names = layer_names(clf)
    assert names.count("Conv1D") == 3 * 5 + 1 and names.count("Add") == 1
    assert "GRU" not in names and names[-2:] == ["GlobalAveragePooling1D", "Dense"]
    x = (X - X.reshape(-1, 2).mean(0)) / X.reshape(-1, 2).std(0)
    np.testing.assert_allclose(clf.predict_proba(X), inception_reference(clf.model_, x, 3, 3),
                               rtol=1e-10, atol=1e-12)


def test_inception_front_end_keeps_the_padding_out():
    """Variable-length sequences through Inception modules predict the same alone as in a batch:
    the pooling branch's window over a sequence's last step sees no padding (fill -inf), even
    where the series is negative."""
    rng = np.random.default_rng(1)
    X = [rng.normal(size=n) - 1.0 for n in rng.integers(20, 50, 16)]
    y = np.arange(16) % 2
    clf = GRUClassifier(conv_filters=(2, 2, 2), conv_kernel_size=(3, 5), max_iter=2,
                        min_steps=0, dtype="float64", random_state=0).fit(X, y)
    alone = np.vstack([clf.predict_proba([x]) for x in X[:6]])
    np.testing.assert_allclose(clf.predict_proba(X)[:6], alone, rtol=1e-12, atol=1e-15)


def test_fit_keeps_the_epoch_with_the_lowest_training_loss():
    """Without early stopping, fit ends on the weights of its best epoch (InceptionTime's
    checkpoint on the training loss), not the last: a refit stopped right after that epoch,
    which follows the same path (bit-identical refits), ends on the same weights."""
    X, y = motif_data(20, steps=10)
    params = dict(units=4, optimizer="sgd", learning_rate=3.0, global_clipnorm=None,
                  n_iter_no_change=100, random_state=0)
    full = GRUClassifier(max_iter=30, **params).fit(X, y)
    best = int(np.argmin(full.loss_curve_))
    assert best < 29  # the rate is too high: the loss goes up again after its best epoch
    stopped = GRUClassifier(max_iter=best + 1, **params).fit(X, y)
    assert stopped.loss_curve_ == full.loss_curve_[:best + 1]
    for a, b in zip(full.model_.get_weights(), stopped.model_.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_training_batches_cut_after_their_longest_sequence_train_as_padded_ones():
    """fit cuts each batch after its longest sequence: exact, because the front end and the
    recurrent layers skip padding. A training step of the estimator's network on a batch padded
    far beyond its sequences gives the same weights as on the cut batch."""
    rng = np.random.default_rng(0)
    X = [rng.normal(size=n) for n in rng.integers(30, 61, 12)]
    y = np.arange(12) % 2
    clf = GRUClassifier(units=4, conv_filters=(3, 3), conv_kernel_size=5, max_iter=1,
                        min_steps=0, dtype="float64", random_state=0).fit(X, y)
    lengths = np.array([len(x) for x in X])
    mask = np.arange(100) < lengths[:, None]
    x = rng.normal(size=(12, 100, 1)) * mask[:, :, None]
    padded, cut = pickle.loads(pickle.dumps(clf.model_)), pickle.loads(pickle.dumps(clf.model_))
    padded.train_on_batch(x, y.astype(float), mask=mask)
    cut.train_on_batch(x[:, :60], y.astype(float), mask=mask[:, :60])
    for a, b in zip(padded.get_weights(), cut.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_auto_settings_follow_the_sequence_length():
    """'auto': short sequences keep the plain recurrent network, its training and the global
    scaling; from 100 steps (the median of variable lengths) InceptionTime's network and
    training (each sequence z-normalised, Adam at 1e-3, batches of a tenth of
    the samples within [8, 32], 1000 steps at least, the plateau schedule, float32); a
    parameter given explicitly is kept."""
    short = GRUClassifier(units=4, max_iter=1, random_state=0).fit(*motif_data(10, steps=99))
    assert short.settings_ == {
        "conv_filters": (), "conv_kernel_size": (11,), "conv_pool_size": 2, "units": (4,),
        "scaling": "global", "pooling": "last", "min_steps": 0, "lr_schedule": "constant",
        "dtype": "float64", "learning_rate": 1e-2, "batch_size": 32}
    assert layer_names(short) == ["InputLayer", "GRU", "Dense"]
    rng = np.random.default_rng(0)
    ragged = [rng.normal(size=n) for n in (50, 100, 100, 150)]
    long = GRUClassifier(max_iter=1, min_steps=2, random_state=0).fit(ragged, [0, 1, 0, 1])
    assert long.settings_ == {
        "conv_filters": (32, 32, 32), "conv_kernel_size": (10, 20, 40), "conv_pool_size": 1,
        "units": (), "scaling": "znorm", "pooling": "mean", "min_steps": 2,
        "lr_schedule": "plateau", "dtype": "float32", "learning_rate": 1e-3, "batch_size": 8}
    assert layer_names(long).count("Conv1D") == 4 + 2 * 5 + 1  # 1 channel in: no 1st bottleneck
    assert long.model_.dtype == np.float32
    X, y = motif_data(400, steps=100)
    assert GRUClassifier(max_iter=1, min_steps=1, random_state=0).fit(X, y).settings_[
        "batch_size"] == 32  # a tenth of 400, at most 32
    # a front end given for short sequences is of plain blocks, which feed the recurrent layers
    plain = GRUClassifier(conv_filters=(4,), max_iter=1, min_steps=2, random_state=0).fit(
        *motif_data(10, steps=30))
    assert (plain.settings_["conv_kernel_size"], plain.settings_["units"],
            plain.settings_["pooling"]) == ((11,), (64,), "max")
    # the regressor keeps the global scaling ('series' is measured on classification only)
    reg = GRURegressor(units=4, max_iter=1, min_steps=2, random_state=0).fit(ragged, [0., 1, 0, 1])
    assert reg.settings_["scaling"] == "global"


@pytest.mark.parametrize("params,match", [
    ({"units": (), "conv_filters": ()}, "no layer before the output"),
    ({"units": (), "conv_filters": (2,), "pooling": "last"}, "pooling='last'")])
def test_units_empty_needs_a_front_end_and_a_pooling(params, match):
    X, y = motif_data(10, steps=10)
    with pytest.raises(ValueError, match=match):
        GRUClassifier(**params).fit(X, y)


def test_min_steps_is_a_budget_in_optimizer_steps():
    """20 samples in batches of 32 make one step an epoch: min_steps=40 runs 40 epochs where
    max_iter alone would stop at 5, and stopping on a stale loss waits for the budget."""
    X, y = motif_data(20, steps=10)
    clf = GRUClassifier(units=4, max_iter=5, min_steps=40, n_iter_no_change=1, tol=1e9,
                        random_state=0).fit(X, y)
    assert clf.n_iter_ == 40
    reg = GRURegressor(units=4, max_iter=5, min_steps=0, n_iter_no_change=1, tol=1e9,
                       random_state=0).fit(X, y.astype(float))
    assert reg.n_iter_ == 3  # the loss "never improves by tol": stale twice, then stop


def test_plateau_schedule_halves_the_learning_rate_when_the_loss_stalls(capsys):
    X, y = motif_data(20, steps=10)
    clf = GRUClassifier(units=4, learning_rate=1e-2, lr_schedule="plateau", max_iter=8,
                        n_iter_no_change=4, tol=1e9, verbose=True, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    # every epoch is stale (tol 1e9): the rate halves every n_iter_no_change // 2 = 2 epochs
    assert out.count("Learning rate reduced") == 2
    assert clf.model_.optimizer.learning_rate == pytest.approx(1e-2 / 4)
    constant = GRUClassifier(units=4, learning_rate=1e-2, max_iter=8, n_iter_no_change=4,
                             tol=1e9, random_state=0).fit(X, y)
    assert constant.model_.optimizer.learning_rate == pytest.approx(1e-2)


@pytest.mark.parametrize("params,match", [
    ({"conv_filters": (4, 0)}, "conv_filters"), ({"conv_kernel_size": 0}, "conv_kernel_size"),
    ({"conv_pool_size": 0}, "conv_pool_size"), ({"pooling": "sum"}, "pooling"),
    ({"normalization": "group"}, "normalization"), ({"lr_schedule": "cosine"}, "lr_schedule"),
    ({"min_steps": -1}, "min_steps"), ({"scaling": "minmax"}, "scaling"),
    ({"conv_kernel_size": (3, 0)}, "conv_kernel_size"), ({"units": (4, -1)}, "units"),
    ({"dtype": "float16"}, "dtype"), ({"learning_rate": 0.0}, "learning_rate"),
    ({"batch_size": 0}, "batch_size")])
def test_bad_architecture_parameters(params, match):
    X, y = motif_data(10, steps=10)
    with pytest.raises(ValueError, match=match):
        GRUClassifier(**params).fit(X, y)


def test_fit_ends_with_the_batch_statistics_of_the_training_set():
    """After fit, BatchNormalization's moving statistics are those of the training set under
    the final weights (the running mean of the training batches' statistics): with the whole
    set in one batch, predicting it equals the training-mode forward pass, layer after layer,
    where the moving averages of a short training still lag far behind."""
    X, y = motif_data(40, steps=60)
    clf = GRUClassifier(conv_filters=(4, 4, 4), batch_size=64, max_iter=5, min_steps=0,
                        scaling="global", dtype="float64", random_state=0).fit(X, y)
    x = ((X - X.mean()) / X.std())[:, :, None]
    np.testing.assert_allclose(clf.model_.predict(x, verbose=0), clf.model_(x, training=True),
                               rtol=1e-9, atol=1e-12)
