"""Data preparation for GRU models: forecasting windows cut from a time series, padding of
variable-length sequences (keras.utils.pad_sequences), per-feature standardisation of sequences
(SequenceScaler, a scikit-learn transformer) and Keras 2's word Tokenizer.

Nothing here needs scikit-learn; when it is installed, SequenceScaler inherits its base classes so
that clone, pipelines and grid searches treat it as one of their own.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from typing import Any, Iterable, Literal, Optional, Sequence, TypeVar, Union

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, DTypeLike

from ._sklearn_base import BaseEstimator, NotFittedError, TransformerMixin

_KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'

# Sequences as SequenceScaler takes and returns them: an array (n, T, F) or (n, T), or a list
# of arrays (T_i, F) or (T_i,) of different lengths.
SequenceData = Union[ArrayLike, Sequence[ArrayLike]]
# A text for Tokenizer: a string, or a list of tokens.
Text = Union[str, list[str]]
_Scaler = TypeVar("_Scaler", bound="SequenceScaler")
_Tokenizer = TypeVar("_Tokenizer", bound="Tokenizer")


def _check_int(value, name, minimum):
    # bool is an int subclass, but lookback=True is a mistake, not 1
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise ValueError(f"{name} must be {kind} integer, got {value!r}")
    return int(value)


def _check_finite(array, name):
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")


# ---- forecasting windows --------------------------------------------------------------------
def make_windows(series: ArrayLike, lookback: int, horizon: int = 1,
                 stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Cut a time series into (inputs, targets) pairs for forecasting.

    Window i holds `series[i*stride : i*stride + lookback]` and its target the `horizon` steps
    right after it. A series of shape (T,) gives X of shape (n, lookback, 1) and y of shape
    (n, horizon), ready for a Dense(horizon) output; a series of shape (T, F) gives X of shape
    (n, lookback, F) and y of shape (n, horizon, F). n = (T - lookback - horizon) // stride + 1;
    trailing steps that do not fill a window are left out. X and y are new arrays of the
    series' dtype.
    """
    lookback = _check_int(lookback, "lookback", 1)
    horizon = _check_int(horizon, "horizon", 1)
    stride = _check_int(stride, "stride", 1)
    series = np.asarray(series)
    if series.ndim not in (1, 2) or series.ndim == 2 and series.shape[1] == 0:
        raise ValueError("series must have shape (timesteps,) or (timesteps, features), got "
                         f"{series.shape}")
    _check_finite(series, "series")
    T = len(series)
    if T < lookback + horizon:
        raise ValueError(f"series has {T} timesteps; lookback={lookback} and horizon={horizon} "
                         f"need at least {lookback + horizon}")
    steps = series.reshape(T, -1)
    # sliding_window_view puts the window axis last, (windows, F, length); both views hold the
    # same number of windows since the inputs stop `horizon` steps before the end
    X = sliding_window_view(steps[:T - horizon], lookback, axis=0)[::stride]
    y = sliding_window_view(steps[lookback:], horizon, axis=0)[::stride]
    # copy, not ascontiguousarray: the views are read-only and share the series' memory
    X = X.transpose(0, 2, 1).copy()
    y = y.transpose(0, 2, 1).copy()
    return X, (y[..., 0] if series.ndim == 1 else y)


# ---- padding --------------------------------------------------------------------------------
def pad_sequences(sequences: Sequence[Union[Sequence[Any], np.ndarray]], maxlen: Optional[int] = None,
                  dtype: DTypeLike = "int32", padding: Literal["pre", "post"] = "pre",
                  truncating: Literal["pre", "post"] = "pre", value: Any = 0.0) -> np.ndarray:
    """Pad sequences to one length, as keras.utils.pad_sequences.

    `sequences` is a list of sequences of scalars, giving an array of shape (n, maxlen), or of
    feature vectors of one shape, giving (n, maxlen, *feature_shape). maxlen defaults to the
    longest length. Shorter sequences get `value` before them ('pre') or after ('post');
    longer ones lose their first steps ('pre') or their last ('post').
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"sequences must be a list of sequences, got {type(sequences).__name__}")
    if padding not in ("pre", "post"):
        raise ValueError(f"padding must be 'pre' or 'post', got {padding!r}")
    if truncating not in ("pre", "post"):
        raise ValueError(f"truncating must be 'pre' or 'post', got {truncating!r}")
    is_text_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_text_dtype:
        raise ValueError(f"a string value needs dtype=object or a string dtype, got {dtype!r}")
    lengths = []
    for i, seq in enumerate(sequences):
        try:
            lengths.append(len(seq))
        except TypeError:
            raise ValueError("sequences must be a list of sequences; the one at position "
                             f"{i} is {seq!r}") from None
    if maxlen is None:
        if not lengths:
            raise ValueError("sequences is empty: give maxlen to get an array of shape (0, maxlen)")
        maxlen = max(lengths)
    maxlen = _check_int(maxlen, "maxlen", 0)
    # as Keras: the first non-empty sequence sets the shape of a step
    step_shape = next((np.asarray(seq).shape[1:] for seq, n in zip(sequences, lengths) if n), ())

    rows = []
    for i, (seq, n) in enumerate(zip(sequences, lengths)):
        if n == 0 or maxlen == 0:
            continue
        kept = np.asarray(seq[n - maxlen:] if truncating == "pre" and n > maxlen else seq[:maxlen],
                          dtype=dtype)
        if kept.shape[1:] != step_shape:
            raise ValueError(f"the steps of the sequence at position {i} have shape "
                             f"{kept.shape[1:]}, the ones before have {step_shape}")
        rows.append(kept)

    x = np.full((len(lengths), maxlen) + step_shape, value, dtype=dtype)
    kept_lengths = np.minimum(np.array(lengths, dtype=np.intp), maxlen)[:, None]
    positions = np.arange(maxlen)
    filled = positions >= maxlen - kept_lengths if padding == "pre" else positions < kept_lengths
    if rows:  # the filled cells, in row-major order, are the kept steps one sequence after another
        x[filled] = np.concatenate(rows)
    return x


# ---- scaling --------------------------------------------------------------------------------
def _stacked_steps(X):
    """The timesteps of all sequences in X as one (steps, F) float array, and the function that
    puts an array of that layout back into X's form.

    X is an array (n, T, F), an array (n, T) of one feature, or a list of arrays (T_i, F) or
    (T_i,) whose lengths may differ; a list comes back as a list.
    """
    if isinstance(X, (list, tuple)):
        if not X:
            raise ValueError("X is an empty list: it holds no sequences")
        sequences = [np.asarray(seq) for seq in X]
        for i, seq in enumerate(sequences):
            if seq.ndim not in (1, 2):
                raise ValueError(f"each sequence must have shape (timesteps, features) or "
                                 f"(timesteps,); the one at position {i} has {seq.shape}")
        widths = {1 if seq.ndim == 1 else seq.shape[1] for seq in sequences}
        if len(widths) > 1:
            raise ValueError(f"the sequences have different numbers of features: {sorted(widths)}")
        width = widths.pop()
        steps = np.concatenate([seq.reshape(len(seq), width) for seq in sequences])
        ends = np.cumsum([len(seq) for seq in sequences])[:-1]

        def restore(values):
            return [part.reshape(seq.shape) for part, seq in zip(np.split(values, ends), sequences)]
    else:
        X = np.asarray(X)
        if X.ndim not in (2, 3):
            raise ValueError("X must have shape (samples, timesteps, features), (samples, "
                             f"timesteps) or be a list of sequences, got shape {X.shape}")
        steps = X.reshape(-1, X.shape[2] if X.ndim == 3 else 1)

        def restore(values):
            return values.reshape(X.shape)
    _check_finite(steps, "X")
    if steps.dtype.kind != "f":
        steps = steps.astype(np.float64)
    return steps, restore


class SequenceScaler(TransformerMixin, BaseEstimator):
    """Standardise each feature of sequences: (x - mean_) / scale_, with the statistics taken over
    all samples and timesteps, as sklearn's StandardScaler over the stacked timesteps.

    Takes arrays (n, T, F), arrays (n, T) as one feature, or lists of arrays (T_i, F) of
    different lengths (not padded, so padding does not bias the statistics), and returns the
    same form. Floating inputs keep their dtype; others become float64.

    Fitted attributes: `mean_` (None when with_mean and with_std are both False), `scale_` (the
    standard deviation, 1 for features that are constant; None when with_std is False) and
    `n_features_in_`.
    """

    def __init__(self, with_mean: bool = True, with_std: bool = True) -> None:
        self.with_mean = with_mean
        self.with_std = with_std

    def fit(self: _Scaler, X: SequenceData, y: Any = None) -> _Scaler:
        """Compute the per-feature mean and standard deviation; y is ignored."""
        for name in ("with_mean", "with_std"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        steps, _ = _stacked_steps(X)
        if len(steps) == 0:
            raise ValueError("X holds no timesteps to fit on")
        self.n_features_in_ = steps.shape[1]
        self.mean_ = None
        if self.with_mean or self.with_std:
            self.mean_ = steps.mean(axis=0, dtype=np.float64)
        self.scale_ = None
        if self.with_std:
            # constant features keep their values (minus the mean) rather than divide by ~0
            constant = np.ptp(steps, axis=0) == 0
            self.scale_ = np.where(constant, 1.0, steps.std(axis=0, dtype=np.float64))
        return self

    def transform(self, X: SequenceData) -> Union[np.ndarray, list[np.ndarray]]:
        steps, restore = self._fitted_steps(X)
        if self.with_mean:
            steps -= self.mean_
        if self.with_std:
            steps /= self.scale_
        return restore(steps)

    def inverse_transform(self, X: SequenceData) -> Union[np.ndarray, list[np.ndarray]]:
        steps, restore = self._fitted_steps(X)
        if self.with_std:
            steps *= self.scale_
        if self.with_mean:
            steps += self.mean_
        return restore(steps)

    def _fitted_steps(self, X):
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit first")
        steps, restore = _stacked_steps(X)
        if steps.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {steps.shape[1]} features, but {type(self).__name__} was "
                             f"fitted on {self.n_features_in_}")
        # a copy to compute in place: the result never shares memory with X
        return steps.copy(), restore


# ---- text -----------------------------------------------------------------------------------
class Tokenizer:
    """Keras 2's keras.preprocessing.text.Tokenizer: texts to sequences of word indices.

    Words are indexed from 1 by decreasing count, ties in order of first appearance; 0 is left
    for padding. An `oov_token` takes index 1 and stands for every word outside the vocabulary.
    `num_words` keeps only the indices below it when converting (so the num_words - 1 most
    frequent words, the OOV token included); `word_index` always holds every word seen.
    Texts are lowercased (`lower`), the characters of `filters` become separators, and the
    result is split on `split`; `char_level` makes every character a token. A text may also be
    a list of tokens, used as they are (lowercased when `lower`).

    One deliberate difference from Keras: a word of the texts equal to `oov_token` shares the OOV
    index 1 instead of moving the OOV token to another index.
    """

    def __init__(self, num_words: Optional[int] = None, oov_token: Optional[str] = None,
                 lower: bool = True, filters: str = _KERAS_FILTERS, split: str = " ",
                 char_level: bool = False) -> None:
        if num_words is not None:
            num_words = _check_int(num_words, "num_words", 1)
        if oov_token is not None and not isinstance(oov_token, str):
            raise TypeError(f"oov_token must be a string or None, got {type(oov_token).__name__}")
        if not isinstance(filters, str):
            raise TypeError(f"filters must be a string of characters, got {type(filters).__name__}")
        if not isinstance(split, str) or not split:
            raise ValueError(f"split must be a non-empty string, got {split!r}")
        self.num_words = num_words
        self.oov_token = oov_token
        self.lower = lower
        self.filters = filters
        self.split = split
        self.char_level = char_level
        self.word_counts: Counter[str] = Counter()  # insertion-ordered: first appearance breaks ties
        self.word_index: dict[str, int] = {}
        self.index_word: dict[int, str] = {}

    def fit_on_texts(self: _Tokenizer, texts: Iterable[Text]) -> _Tokenizer:
        """Count the words of `texts` (adding to earlier calls) and rebuild the index."""
        for tokens in self._tokenized(texts):
            self.word_counts.update(tokens)
        # most_common sorts stably, so equal counts keep their order of first appearance
        ranked = [w for w, _ in self.word_counts.most_common() if w != self.oov_token]
        vocabulary = ([self.oov_token] if self.oov_token is not None else []) + ranked
        self.word_index = {word: i for i, word in enumerate(vocabulary, start=1)}
        self.index_word = {i: word for word, i in self.word_index.items()}
        return self

    def texts_to_sequences(self, texts: Iterable[Text]) -> list[list[int]]:
        """Each text as a list of word indices; words out of the vocabulary or at an index of
        num_words or more become the OOV index, or are dropped without an oov_token."""
        self._check_fitted()
        oov = self.word_index.get(self.oov_token)
        limit = self.num_words or math.inf
        sequences = []
        for tokens in self._tokenized(texts):
            indices = (self.word_index.get(word, oov) for word in tokens)
            indices = (oov if i is not None and i >= limit else i for i in indices)
            sequences.append([i for i in indices if i is not None])
        return sequences

    def sequences_to_texts(self, sequences: Iterable[Iterable[int]]) -> list[str]:
        """Each sequence of indices as its words joined by spaces. As Keras, indices without a
        word (0 included) or of num_words or more become the OOV token, or are dropped."""
        self._check_fitted()
        limit = self.num_words or math.inf
        texts = []
        for sequence in sequences:
            words = (self.index_word.get(i) if i < limit else None for i in sequence)
            words = (self.oov_token if w is None else w for w in words)
            texts.append(" ".join(w for w in words if w is not None))
        return texts

    def _check_fitted(self):
        if not self.word_index:
            raise NotFittedError("the Tokenizer has no vocabulary: call fit_on_texts first")

    def _tokenized(self, texts):
        if isinstance(texts, str):
            raise TypeError("texts must be a list of strings, got one string; wrap it in a list")
        separators = str.maketrans({c: self.split for c in self.filters})
        for i, text in enumerate(texts):
            if isinstance(text, list):  # already split into tokens, as Keras
                yield [token.lower() for token in text] if self.lower else text
                continue
            if not isinstance(text, str):
                raise TypeError(f"texts must be strings or lists of tokens; the one at position "
                                f"{i} is {type(text).__name__}")
            if self.lower:
                text = text.lower()
            if self.char_level:
                yield list(text)
            else:
                yield [w for w in text.translate(separators).split(self.split) if w]
