"""
Sentiment of short reviews: Embedding and GRU
=============================================

Sentiment of short reviews with a GRU over word embeddings.

Reviews are written from word lists: an aspect ("the staff"), a verb, an optional negation and
intensifier, an opinion word, sometimes a second clause after "but", and sometimes a closing
remark. A negation flips the opinion ("the food was not great" is negative) and in "X but Y" the
second clause gives the verdict, so word counts alone cannot tell the classes apart: the model
has to read the words in order.

Pipeline: gru_native.preprocessing.Tokenizer -> pad_sequences(padding='post') ->
Embedding(mask_zero=True) -> GRU -> Dense(softmax), in a gru_native.Sequential. The padding
zeros are masked, so the GRU reads each review up to its own last word.

Run: python examples/classify_text.py    (GRU_NATIVE_EXAMPLE_QUICK=1 trains briefly)
"""

import os

import numpy as np

import gru_native
from gru_native.preprocessing import Tokenizer, pad_sequences

QUICK = os.environ.get("GRU_NATIVE_EXAMPLE_QUICK") == "1"
rng = np.random.default_rng(0)
gru_native.utils.set_random_seed(0)

ASPECTS = ["the food", "the service", "the staff", "our room", "the view", "the breakfast",
           "the location", "the price", "the music", "the waiter", "the bed", "the coffee"]
VERBS = ["was", "is", "seemed", "felt", "looked"]
POSITIVE = ["great", "lovely", "excellent", "friendly", "delicious", "clean", "perfect",
            "wonderful", "pleasant", "superb", "fantastic", "comfortable"]
NEGATIVE = ["awful", "rude", "dirty", "terrible", "bland", "noisy", "disappointing", "cold",
            "horrible", "slow", "overpriced", "poor"]
INTENSIFIERS = ["", "", "really", "very", "quite", "truly", "rather"]
NEGATIONS = ["not", "never"]
REMARKS = ["", "", "", "to be honest", "this time", "as usual", "on the whole", "for once"]


def clause():
    """A clause and its sentiment: 1 positive, 0 negative."""
    positive_word = rng.random() < 0.5
    negated = rng.random() < 0.35
    words = [rng.choice(ASPECTS), rng.choice(VERBS)]
    if negated:
        words.append(rng.choice(NEGATIONS))
    words += [rng.choice(INTENSIFIERS), rng.choice(POSITIVE if positive_word else NEGATIVE)]
    return words, int(positive_word != negated)


def review():
    """A review and its label. In "X but Y" the second clause carries the verdict."""
    words, label = clause()
    if rng.random() < 0.3:
        second, label = clause()
        words += ["but"] + second
    words.append(rng.choice(REMARKS))
    return " ".join(w for w in words if w), label


texts, labels = zip(*(review() for _ in range(800)))
labels = np.array(labels)
split = 600
train_texts, test_texts = texts[:split], texts[split:]

tokenizer = Tokenizer(oov_token="<unk>")  # words of the test reviews unseen in training: <unk>
tokenizer.fit_on_texts(train_texts)
maxlen = max(len(s) for s in tokenizer.texts_to_sequences(texts))


def encode(batch):
    return pad_sequences(tokenizer.texts_to_sequences(batch), maxlen=maxlen, padding="post")


x_train, x_test = encode(train_texts), encode(test_texts)
vocabulary = len(tokenizer.word_index) + 1  # index 0 is the padding

model = gru_native.Sequential([
    gru_native.Embedding(vocabulary, 16, mask_zero=True, input_shape=(maxlen,)),
    gru_native.GRU(32),
    gru_native.Dense(2, activation="softmax"),
])
model.compile(optimizer=gru_native.optimizers.Adam(learning_rate=0.01),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, labels[:split], batch_size=32, epochs=8 if QUICK else 20, verbose=0)
loss, accuracy = model.evaluate(x_test, labels[split:], verbose=0)
print(f"{len(train_texts)} training reviews, {vocabulary - 1} words in the vocabulary")
print(f"test accuracy: {accuracy:.3f} on {len(test_texts)} reviews (test loss {loss:.3f})")

new_reviews = ["the staff was really friendly", "the coffee was not delicious to be honest",
               "the view was superb but our room was never clean",
               "the price seemed quite poor but the breakfast was not disappointing"]
probabilities = model.predict(encode(new_reviews), verbose=0)
for text, p in zip(new_reviews, probabilities):
    print(f"  {text!r}: {'positive' if p[1] > 0.5 else 'negative'} (p = {p[1]:.2f})")
