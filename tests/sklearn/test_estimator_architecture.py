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
                        normalization=normalization, max_iter=3, min_steps=0,
                        random_state=0).fit(X, y)
    alone = np.vstack([clf.predict_proba([x]) for x in X[:6]])
    np.testing.assert_allclose(clf.predict_proba(X[:6]), alone, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(clf.predict_proba(X)[:6], alone, rtol=1e-12, atol=1e-15)
    x = rng.normal(size=(5, 30, 1))
    assert clf.model_.inference_plan() is not None  # PaddingMask is the identity there
    np.testing.assert_allclose(clf.model_.predict(x, verbose=0),  # one call into C
                               clf.model_.predict(x, verbose=0, mask=np.ones((5, 30), bool)),
                               rtol=1e-12)  # layer by layer


def test_training_batches_cut_after_their_longest_sequence_train_as_padded_ones():
    """fit cuts each batch after its longest sequence: exact, because the front end and the
    recurrent layers skip padding. A training step of the estimator's network on a batch padded
    far beyond its sequences gives the same weights as on the cut batch."""
    rng = np.random.default_rng(0)
    X = [rng.normal(size=n) for n in rng.integers(30, 61, 12)]
    y = np.arange(12) % 2
    clf = GRUClassifier(units=4, conv_filters=(3, 3), conv_kernel_size=5, max_iter=1,
                        min_steps=0, random_state=0).fit(X, y)
    lengths = np.array([len(x) for x in X])
    mask = np.arange(100) < lengths[:, None]
    x = rng.normal(size=(12, 100, 1)) * mask[:, :, None]
    padded, cut = pickle.loads(pickle.dumps(clf.model_)), pickle.loads(pickle.dumps(clf.model_))
    padded.train_on_batch(x, y.astype(float), mask=mask)
    cut.train_on_batch(x[:, :60], y.astype(float), mask=mask[:, :60])
    for a, b in zip(padded.get_weights(), cut.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_auto_settings_follow_the_sequence_length():
    """'auto': short sequences keep the plain recurrent network and the global scaling; from 100
    steps (the median of variable lengths) each sequence scaled by its own statistics, two Conv1D
    blocks, max pooling, 1000 steps at least and the plateau schedule; a parameter given
    explicitly is kept."""
    short = GRUClassifier(units=4, max_iter=1, random_state=0).fit(*motif_data(10, steps=99))
    assert short.settings_ == {"conv_filters": (), "scaling": "global", "pooling": "last",
                               "min_steps": 0, "lr_schedule": "constant"}
    assert layer_names(short) == ["InputLayer", "GRU", "Dense"]
    rng = np.random.default_rng(0)
    ragged = [rng.normal(size=n) for n in (50, 100, 100, 150)]
    long = GRUClassifier(units=4, max_iter=1, min_steps=2, random_state=0).fit(ragged,
                                                                               [0, 1, 0, 1])
    assert long.settings_ == {"conv_filters": (32, 32), "scaling": "series", "pooling": "max",
                              "min_steps": 2, "lr_schedule": "plateau"}
    assert layer_names(long).count("Conv1D") == 2
    # the regressor keeps the global scaling ('series' is measured on classification only)
    reg = GRURegressor(units=4, max_iter=1, min_steps=2, random_state=0).fit(ragged, [0., 1, 0, 1])
    assert reg.settings_["scaling"] == "global"


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
    ({"min_steps": -1}, "min_steps"), ({"scaling": "minmax"}, "scaling")])
def test_bad_architecture_parameters(params, match):
    X, y = motif_data(10, steps=10)
    with pytest.raises(ValueError, match=match):
        GRUClassifier(**params).fit(X, y)
