"""Keras 2's word Tokenizer (keras.preprocessing.text.Tokenizer)."""

from __future__ import annotations

import math
from collections import Counter
from typing import Iterable, Optional, TypeVar, Union

from ..sklearn.base import NotFittedError
from ..validation import check_int

_KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
# A text for Tokenizer: a string, or a list of tokens.
Text = Union[str, list[str]]
_Tokenizer = TypeVar("_Tokenizer", bound="Tokenizer")


class Tokenizer:
    """Turn texts into sequences of word indices, as Keras 2's keras.preprocessing.text.Tokenizer.

    Words are indexed from 1 by decreasing count, ties in order of first appearance; 0 is left
    for padding. An `oov_token` takes index 1 and stands for every word outside the vocabulary.
    `num_words` keeps only the indices below it when converting (so the num_words - 1 most
    frequent words, the OOV token included); `word_index` always holds every word seen.
    Texts are lowercased (`lower`), the characters of `filters` become separators, and the
    result is split on `split`; `char_level` makes every character a token. A text may also be
    a list of tokens, used as they are (lowercased when `lower`).

    One deliberate difference from Keras: a word of the texts equal to `oov_token` shares the OOV
    index 1 instead of moving the OOV token to another index.

    Parameters
    ----------
    num_words : int, optional
        Keep only the indices below it when converting; by default every word.
    oov_token : str, optional
        The token that takes index 1 and stands for every word outside the vocabulary; by
        default such words are dropped.
    lower : bool, default=True
        Lowercase the texts.
    filters : str, default=Keras' punctuation, tab and newline
        Characters that become separators: ``'!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\\t\\n'``.
    split : str, default=' '
        The separator the texts are split on.
    char_level : bool, default=False
        Make every character a token.

    Attributes
    ----------
    word_counts : collections.Counter
        The count of each word seen, in order of first appearance.
    word_index : dict
        {word: index} of every word seen (and the OOV token).
    index_word : dict
        {index: word}, the reverse of `word_index`.

    Raises
    ------
    TypeError
        For an `oov_token` that is not a string or None, or `filters` that is not a string.
    ValueError
        For a `num_words` that is not a positive integer, or an empty `split`.
    """

    def __init__(self, num_words: Optional[int] = None, oov_token: Optional[str] = None,
                 lower: bool = True, filters: str = _KERAS_FILTERS, split: str = " ",
                 char_level: bool = False) -> None:
        if num_words is not None:
            num_words = check_int(num_words, "num_words", 1)
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
        """Count the words of `texts` (adding to earlier calls) and rebuild the index.

        Parameters
        ----------
        texts : iterable of str or of list of str
            The texts: strings, or lists of tokens used as they are.

        Returns
        -------
        self
            The tokenizer.

        Raises
        ------
        TypeError
            For one string instead of a list of them, or a text that is neither a string nor
            a list of tokens.
        """
        for tokens in self._tokenized(texts):
            self.word_counts.update(tokens)
        # most_common sorts stably, so equal counts keep their order of first appearance
        ranked = [w for w, _ in self.word_counts.most_common() if w != self.oov_token]
        vocabulary = ([self.oov_token] if self.oov_token is not None else []) + ranked
        self.word_index = {word: i for i, word in enumerate(vocabulary, start=1)}
        self.index_word = {i: word for word, i in self.word_index.items()}
        return self

    def texts_to_sequences(self, texts: Iterable[Text]) -> list[list[int]]:
        """Turn each text into a list of word indices.

        Parameters
        ----------
        texts : iterable of str or of list of str
            The texts, as `fit_on_texts` takes them.

        Returns
        -------
        list of list of int
            Each text's word indices; words out of the vocabulary or at an index of
            num_words or more become the OOV index, or are dropped without an oov_token.

        Raises
        ------
        NotFittedError
            If the tokenizer has no vocabulary yet (call `fit_on_texts` first).
        TypeError
            For one string instead of a list of them, or a text that is neither a string nor
            a list of tokens.
        """
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
        """Turn each sequence of word indices back into a text.

        Parameters
        ----------
        sequences : iterable of iterable of int
            Sequences of word indices.

        Returns
        -------
        list of str
            Each sequence's words joined by spaces. As Keras, indices without a word (0
            included) or of num_words or more become the OOV token, or are dropped.

        Raises
        ------
        NotFittedError
            If the tokenizer has no vocabulary yet (call `fit_on_texts` first).
        """
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
