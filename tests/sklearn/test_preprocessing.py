"""Preprocessing (src/gru_native/preprocessing.py): forecasting windows against a loop, padding and
the Tokenizer against outputs worked out from Keras' source (keras/src/utils/sequence_utils.py,
keras/src/legacy/preprocessing/text.py), and SequenceScaler against statistics over the stacked
timesteps."""

import subprocess
import sys

import numpy as np
import pytest

import gru_native

from gru_native import preprocessing
from gru_native.preprocessing import (
    NotFittedError, SequenceScaler, Tokenizer, make_windows, pad_sequences)


# ---- make_windows ---------------------------------------------------------------------------
def windows_by_loop(series, lookback, horizon, stride):
    X, y = [], []
    start = 0
    while start + lookback + horizon <= len(series):
        X.append(series[start:start + lookback])
        y.append(series[start + lookback:start + lookback + horizon])
        start += stride
    return np.array(X), np.array(y)


def test_windows_of_a_1d_series_by_hand():
    X, y = make_windows(np.arange(10.0), lookback=3, horizon=2)
    assert X.shape == (6, 3, 1) and y.shape == (6, 2)
    np.testing.assert_array_equal(X[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(y[0], [3, 4])
    np.testing.assert_array_equal(X[-1, :, 0], [5, 6, 7])
    np.testing.assert_array_equal(y[-1], [8, 9])


def test_stride_leaves_out_the_steps_that_do_not_fill_a_window():
    X, y = make_windows(np.arange(10.0), lookback=3, horizon=2, stride=2)
    np.testing.assert_array_equal(X[:, 0, 0], [0, 2, 4])  # (10 - 5) // 2 + 1 windows
    np.testing.assert_array_equal(y, [[3, 4], [5, 6], [7, 8]])  # step 9 starts no full window


def test_windows_of_a_2d_series_keep_the_feature_axis_in_the_targets():
    series = 10.0 * np.arange(7)[:, None] + np.arange(2)  # series[t, f] = 10 t + f
    X, y = make_windows(series, lookback=2, horizon=3)
    assert X.shape == (3, 2, 2) and y.shape == (3, 3, 2)
    np.testing.assert_array_equal(X[1], [[10, 11], [20, 21]])
    np.testing.assert_array_equal(y[1], [[30, 31], [40, 41], [50, 51]])


@pytest.mark.parametrize("T,F,lookback,horizon,stride", [
    (2, None, 1, 1, 1), (2, 1, 1, 1, 1), (5, None, 4, 1, 3), (11, 3, 4, 2, 3), (12, 2, 1, 5, 7),
    (9, None, 3, 6, 1)])
def test_windows_equal_a_loop(rng, T, F, lookback, horizon, stride):
    series = rng.normal(size=(T,) if F is None else (T, F))
    X, y = make_windows(series, lookback, horizon, stride)
    want_X, want_y = windows_by_loop(series, lookback, horizon, stride)
    np.testing.assert_array_equal(X, want_X.reshape(X.shape))
    np.testing.assert_array_equal(y, want_y)
    assert X.shape == (len(want_X), lookback, F or 1)


def test_windows_are_new_writable_arrays_of_the_series_dtype():
    series = np.arange(4, dtype=np.float32)
    X, y = make_windows(series, lookback=1)  # (n, 1, 1) views would count as contiguous
    assert X.dtype == y.dtype == np.float32
    assert X.flags.writeable and y.flags.writeable
    assert not np.shares_memory(X, series) and not np.shares_memory(y, series)


@pytest.mark.parametrize("name,kwargs", [
    ("lookback", {"lookback": 0}), ("lookback", {"lookback": 2.0}),
    ("lookback", {"lookback": True}),
    ("horizon", {"lookback": 2, "horizon": 0}), ("stride", {"lookback": 2, "stride": -1})])
def test_window_sizes_must_be_positive_integers(name, kwargs):
    with pytest.raises(ValueError, match=f"{name} must be a positive integer"):
        make_windows(np.arange(9.0), **kwargs)


def test_bad_windows_raise():
    with pytest.raises(ValueError, match="4 timesteps; lookback=3 and horizon=2 need at least 5"):
        make_windows(np.arange(4.0), 3, 2)
    with pytest.raises(ValueError, match="NaN"):
        make_windows(np.array([0.0, np.nan, 1.0, 2.0]), 2)
    with pytest.raises(ValueError, match="shape"):
        make_windows(np.zeros((5, 2, 2)), 2)
    with pytest.raises(ValueError, match="shape"):
        make_windows(np.zeros((5, 0)), 2)
    with pytest.raises(TypeError, match="numeric"):
        make_windows(np.array(list("abcde")), 2)


# ---- pad_sequences --------------------------------------------------------------------------
def test_padding_examples_of_keras_documentation():
    seqs = [[1], [2, 3], [4, 5, 6]]
    out = pad_sequences(seqs)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, value=-1),
                                  [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, padding="post"),
                                  [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=2), [[0, 1], [2, 3], [5, 6]])
    # Keras 3's names for it: keras.utils.pad_sequences and keras.preprocessing.sequence's
    np.testing.assert_array_equal(gru_native.utils.pad_sequences(seqs, padding="post"),
                                  [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    assert preprocessing.sequence.pad_sequences is gru_native.utils.pad_sequences


def test_truncation_and_padding_sides():
    seqs = [[1, 2, 3, 4], [5], []]
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=3, truncating="post"),
                                  [[1, 2, 3], [0, 0, 5], [0, 0, 0]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=3, padding="post", truncating="pre"),
                                  [[2, 3, 4], [5, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=6), [[0, 0, 1, 2, 3, 4],
                                                                  [0, 0, 0, 0, 0, 5], [0] * 6])
    assert pad_sequences(seqs, maxlen=0).shape == (3, 0)
    assert pad_sequences([], maxlen=4).shape == (0, 4)
    assert pad_sequences([[], []]).shape == (2, 0)


def test_padding_sequences_of_feature_vectors():
    seqs = [np.array([[1.5, 2.5]]), [[3, 4], [5, 6], [7, 8]]]
    out = pad_sequences(seqs, maxlen=2, dtype="float32", value=-1.0)
    assert out.shape == (2, 2, 2) and out.dtype == np.float32
    np.testing.assert_array_equal(out, [[[-1, -1], [1.5, 2.5]], [[5, 6], [7, 8]]])


def test_padding_converts_as_keras():
    # Keras converts each sequence with np.asarray(..., dtype): floats to int32 drop the fraction
    np.testing.assert_array_equal(pad_sequences([[0.7, 2.2]]), [[0, 2]])
    out = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert out.tolist() == [["a", "b"], ["<pad>", "c"]]
    assert pad_sequences((np.arange(3), range(2))).tolist() == [[0, 1, 2], [0, 0, 1]]


def test_bad_padding_raises():
    with pytest.raises(ValueError, match="padding must be 'pre' or 'post'"):
        pad_sequences([[1]], padding="left")
    with pytest.raises(ValueError, match="truncating must be 'pre' or 'post'"):
        pad_sequences([[1]], truncating="middle")
    with pytest.raises(ValueError, match="position 1"):
        pad_sequences([[1], 2])
    with pytest.raises(ValueError, match="list of sequences"):
        pad_sequences(iter([[1]]))
    with pytest.raises(ValueError, match=r"position 1 have shape \(3,\)"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences([[1]], value="x")
    with pytest.raises(ValueError, match="maxlen must be a non-negative integer"):
        pad_sequences([[1]], maxlen=-1)
    with pytest.raises(ValueError, match="empty"):
        pad_sequences([])


# ---- SequenceScaler -------------------------------------------------------------------------
def test_scaler_statistics_over_samples_and_timesteps(rng):
    X = rng.normal(loc=[1.0, -3.0, 0.5], scale=[2.0, 0.1, 1.0], size=(5, 7, 3))
    scaler = SequenceScaler().fit(X)
    steps = X.reshape(-1, 3)
    np.testing.assert_allclose(scaler.mean_, steps.mean(axis=0))
    np.testing.assert_allclose(scaler.scale_, steps.std(axis=0))
    assert scaler.n_features_in_ == 3
    Z = scaler.transform(X)
    assert Z.shape == X.shape
    np.testing.assert_allclose(Z.reshape(-1, 3).mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.reshape(-1, 3).std(axis=0), 1)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X)


def test_constant_features_get_scale_one():
    X = np.stack([np.full((4, 3), 0.1), np.arange(12.0).reshape(4, 3)], axis=-1)  # (4, 3, 2)
    scaler = SequenceScaler().fit(X)
    assert scaler.scale_[0] == 1.0  # its std rounds to about 1e-17, not to 0
    np.testing.assert_allclose(scaler.transform(X)[..., 0], 0.0, atol=1e-15)


def test_2d_input_is_one_feature(rng):
    X = rng.normal(size=(4, 6))
    scaler = SequenceScaler()
    Z = scaler.fit_transform(X)
    assert scaler.n_features_in_ == 1 and Z.shape == (4, 6)
    np.testing.assert_allclose(Z, (X - X.mean()) / X.std())
    np.testing.assert_allclose(scaler.transform(X[..., None])[..., 0], Z)  # (n, T, 1) alike


def test_ragged_sequences_are_scaled_without_padding(rng):
    seqs = [rng.normal(size=(T, 2)) for T in (3, 0, 5, 1)]
    scaler = SequenceScaler().fit(seqs)
    stacked = np.concatenate(seqs)
    np.testing.assert_allclose(scaler.mean_, stacked.mean(axis=0))
    np.testing.assert_allclose(scaler.scale_, stacked.std(axis=0))
    out = scaler.transform(seqs)
    assert isinstance(out, list) and [s.shape for s in out] == [s.shape for s in seqs]
    np.testing.assert_allclose(np.concatenate(out), (stacked - stacked.mean(0)) / stacked.std(0))
    for back, seq in zip(scaler.inverse_transform(out), seqs):
        np.testing.assert_allclose(back, seq)
    one_feature = [rng.normal(size=T) for T in (2, 4)]
    assert [s.shape for s in SequenceScaler().fit_transform(one_feature)] == [(2,), (4,)]


def test_scaler_options_and_dtypes(rng):
    X = rng.normal(loc=5.0, scale=3.0, size=(3, 4, 2))
    only_std = SequenceScaler(with_mean=False).fit(X)
    np.testing.assert_allclose(only_std.transform(X), X / X.reshape(-1, 2).std(axis=0))
    only_mean = SequenceScaler(with_std=False).fit(X)
    assert only_mean.scale_ is None
    np.testing.assert_allclose(only_mean.transform(X), X - X.reshape(-1, 2).mean(axis=0))
    neither = SequenceScaler(with_mean=False, with_std=False).fit(X)
    assert neither.mean_ is None and neither.scale_ is None
    out = neither.transform(X)
    np.testing.assert_array_equal(out, X)
    assert not np.shares_memory(out, X)
    assert SequenceScaler().fit_transform(X.astype(np.float32)).dtype == np.float32
    assert SequenceScaler().fit_transform(np.arange(12).reshape(2, 3, 2)).dtype == np.float64


def test_scaler_leaves_its_input_alone(rng):
    X = rng.normal(size=(2, 3, 2))
    before = X.copy()
    scaler = SequenceScaler().fit(X)
    scaler.inverse_transform(scaler.transform(X))
    np.testing.assert_array_equal(X, before)


def test_scaler_params_follow_scikit_learn_conventions():
    scaler = SequenceScaler(with_std=False)
    assert vars(scaler) == {"with_mean": True, "with_std": False}  # __init__ stores params only
    assert scaler.get_params() == {"with_mean": True, "with_std": False}
    assert scaler.set_params(with_mean=False) is scaler and scaler.with_mean is False
    twin = type(scaler)(**scaler.get_params())  # what sklearn.base.clone does
    assert twin.get_params() == scaler.get_params()
    with pytest.raises(ValueError, match="with_men"):
        scaler.set_params(with_men=True)


def test_scaler_works_without_scikit_learn():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'sklearn':\n"
        "            raise ImportError('scikit-learn hidden')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import numpy as np\n"
        "from gru_native.preprocessing import NotFittedError, SequenceScaler\n"
        "X = np.random.default_rng(0).normal(size=(3, 4, 2))\n"
        "scaler = SequenceScaler()\n"
        "assert np.allclose(scaler.inverse_transform(scaler.fit_transform(X)), X)\n"
        "assert scaler.get_params() == {'with_mean': True, 'with_std': True}\n"
        "assert issubclass(NotFittedError, ValueError) and 'sklearn' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_bad_scaler_inputs_raise(rng):
    with pytest.raises(NotFittedError, match="not fitted"):
        SequenceScaler().transform(np.zeros((2, 3, 1)))
    assert issubclass(NotFittedError, ValueError)
    scaler = SequenceScaler().fit(rng.normal(size=(2, 3, 2)))
    with pytest.raises(ValueError, match="X has 3 features, but SequenceScaler was fitted on 2"):
        scaler.transform(np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        SequenceScaler().fit(np.array([[[np.nan]]]))
    with pytest.raises(ValueError, match="shape"):
        SequenceScaler().fit(np.zeros(5))
    with pytest.raises(ValueError, match="different numbers of features"):
        SequenceScaler().fit([np.zeros((2, 2)), np.zeros((3, 1))])
    with pytest.raises(ValueError, match="position 1"):
        SequenceScaler().fit([np.zeros((2, 2)), np.zeros((3, 2, 1))])
    with pytest.raises(ValueError, match="empty list"):
        SequenceScaler().fit([])
    with pytest.raises(ValueError, match="no timesteps"):
        SequenceScaler().fit(np.zeros((0, 3, 2)))
    with pytest.raises(TypeError, match="numeric"):
        SequenceScaler().fit(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match="with_mean must be True or False"):
        SequenceScaler(with_mean="yes").fit(np.zeros((2, 3, 1)))


# ---- Tokenizer ------------------------------------------------------------------------------
SENTENCES = ["I love my dog", "I love my cat", "You love my dog!",
             "Do you think my dog is amazing?"]


def test_word_index_by_count_then_first_appearance():
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(["The cat sat on the mat.", "The dog ate my homework."])
    assert tokenizer.word_index == {"the": 1, "cat": 2, "sat": 3, "on": 4, "mat": 5, "dog": 6,
                                    "ate": 7, "my": 8, "homework": 9}
    assert tokenizer.word_counts["the"] == 3
    assert tokenizer.texts_to_sequences(["The cat sat on the mat."]) == [[1, 2, 3, 4, 1, 5]]
    assert tokenizer.index_word[6] == "dog"


def test_oov_token_takes_index_one():
    tokenizer = Tokenizer(num_words=100, oov_token="<OOV>")
    tokenizer.fit_on_texts(SENTENCES)
    # love and dog both appear 3 times: love came first (Keras sorts the counts stably)
    assert tokenizer.word_index == {"<OOV>": 1, "my": 2, "love": 3, "dog": 4, "i": 5, "you": 6,
                                    "cat": 7, "do": 8, "think": 9, "is": 10, "amazing": 11}
    sequences = tokenizer.texts_to_sequences(["i really love my dog", "my dog loves my manatee"])
    assert sequences == [[5, 1, 3, 2, 4], [2, 4, 1, 2, 1]]
    assert tokenizer.sequences_to_texts(sequences) == ["i <OOV> love my dog",
                                                       "my dog <OOV> my <OOV>"]


def test_num_words_keeps_the_indices_below_it():
    with_oov = Tokenizer(num_words=5, oov_token="<OOV>")
    with_oov.fit_on_texts(SENTENCES)
    assert len(with_oov.word_index) == 11  # the index keeps every word, as Keras
    assert with_oov.texts_to_sequences(["I love my cat"]) == [[1, 3, 2, 1]]
    assert with_oov.sequences_to_texts([[2, 7, 4]]) == ["my <OOV> dog"]
    plain = Tokenizer(num_words=3)
    plain.fit_on_texts(SENTENCES)
    assert plain.texts_to_sequences(["I love my dog", "zebra"]) == [[2, 1], []]
    assert plain.sequences_to_texts([[2, 1, 3, 99]]) == ["love my"]


def test_sequences_to_texts_decodes_padding_as_keras():
    tokenizer = Tokenizer(oov_token="<OOV>")
    tokenizer.fit_on_texts(SENTENCES)
    padded = pad_sequences(tokenizer.texts_to_sequences(["my dog"]), maxlen=3)
    assert tokenizer.sequences_to_texts(padded) == ["<OOV> my dog"]  # 0 has no word
    plain = Tokenizer()
    plain.fit_on_texts(SENTENCES)
    assert plain.sequences_to_texts(np.array([[0, 1, 3]])) == ["my dog"]


def test_text_splitting_options():
    tokenizer = Tokenizer(lower=False, split=",", filters=".")
    tokenizer.fit_on_texts(["A b,A.c", "c"])
    assert tokenizer.word_index == {"c": 1, "A b": 2, "A": 3}
    chars = Tokenizer(char_level=True)
    chars.fit_on_texts(["Abba", "a b"])
    assert chars.word_index == {"a": 1, "b": 2, " ": 3}
    tokens = Tokenizer()
    tokens.fit_on_texts([["Hello", "world!"], "hello"])  # a list is a text already split
    assert tokens.word_index == {"hello": 1, "world!": 2}


def test_fitting_again_adds_to_the_counts():
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(["a b b"])
    tokenizer.fit_on_texts(["a a c"])
    assert tokenizer.word_counts == {"a": 3, "b": 2, "c": 1}
    assert tokenizer.word_index == {"a": 1, "b": 2, "c": 3}


def test_a_text_word_equal_to_the_oov_token_shares_its_index():
    tokenizer = Tokenizer(oov_token="unk")
    tokenizer.fit_on_texts(["unk unk a"])
    assert tokenizer.word_index == {"unk": 1, "a": 2}
    assert tokenizer.texts_to_sequences(["a unk zebra"]) == [[2, 1, 1]]


def test_bad_tokenizer_use_raises():
    with pytest.raises(ValueError, match="num_words must be a positive integer"):
        Tokenizer(num_words=0)
    with pytest.raises(TypeError, match="oov_token must be a string"):
        Tokenizer(oov_token=1)
    with pytest.raises(ValueError, match="split must be a non-empty string"):
        Tokenizer(split="")
    with pytest.raises(NotFittedError, match="fit_on_texts"):
        Tokenizer().texts_to_sequences(["a"])
    tokenizer = Tokenizer()
    with pytest.raises(TypeError, match="one string"):
        tokenizer.fit_on_texts("a text")
    with pytest.raises(TypeError, match="position 1 is NoneType"):
        tokenizer.fit_on_texts(["a", None])
