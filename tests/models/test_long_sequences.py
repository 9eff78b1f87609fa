"""Models that read long sequences: the motif task of bench/real_data.py (a 10-step motif of one
of 3 classes at a random place in 500 steps of noise) is learnt by a model that looks at every
step (convolution and max pooling over the sequence, or attention), not by a GRU's last state."""

import importlib
import os
import sys

import numpy as np
import pytest

import gru_native
from gru_native import GRU, Dense, Input, Model
from gru_native.layers import Attention, Conv1D, GlobalAveragePooling1D, GlobalMaxPooling1D

BENCH = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "bench"))


@pytest.fixture(scope="module")
def motif_task():
    """(x_train, x_test, y_train, y_test): 300 series each, (n, 500, 1) float32."""
    sys.path.insert(0, BENCH)
    try:
        real_data = importlib.import_module("real_data")
    finally:
        sys.path.remove(BENCH)
    x_train, x_test, y_train, y_test = real_data.motif(300, 300)
    return x_train[..., None].astype(np.float32), x_test[..., None].astype(np.float32), y_train, y_test


def accuracy_after_training(body, data, epochs, learning_rate=3e-3, seed=0):
    x_train, x_test, y_train, y_test = data
    gru_native.utils.set_random_seed(seed)
    inputs = Input((500, 1))
    model = Model(inputs, Dense(3, activation="softmax")(body(inputs)))
    model.compile(gru_native.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy")
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    return np.mean(model.predict(x_test, verbose=0).argmax(axis=1) == y_test)


def conv_gru_max(x):
    x = Conv1D(16, 9, activation="relu")(x)
    return GlobalMaxPooling1D()(GRU(16, return_sequences=True)(x))


def gru_attention_mean(x):
    x = GRU(32, return_sequences=True)(x)
    return GlobalAveragePooling1D()(Attention(use_scale=True)([x, x]))


def last_state(x, units=16):
    return GRU(units)(x)


def test_conv_gru_max_pooling_finds_the_motif_and_the_last_state_does_not(motif_task):
    assert accuracy_after_training(conv_gru_max, motif_task, epochs=10) >= 0.95
    # the same training on the last state of a GRU of the same size: barely above chance (1/3)
    assert accuracy_after_training(last_state, motif_task, epochs=10) < 0.6


def test_gru_self_attention_mean_finds_the_motif_and_the_last_state_does_not(motif_task):
    """Each step's attention over the GRU's sequence, averaged: every step can look at the motif."""
    assert accuracy_after_training(gru_attention_mean, motif_task, epochs=30,
                                   learning_rate=1e-2) >= 0.95
    last_state_32 = lambda x: last_state(x, units=32)
    assert accuracy_after_training(last_state_32, motif_task, epochs=30, learning_rate=1e-2) < 0.6
