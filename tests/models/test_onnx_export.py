"""ONNX export: onnxruntime runs the exported model and matches predict, at several batch sizes
and sequence lengths (both dynamic in the graph)."""

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

STACKS = {
    "tutorial": lambda: [layers.GRU(8, input_shape=(None, 3)), layers.Dense(1)],
    "reset_before_no_bias": lambda: [layers.GRU(6, reset_after=False, use_bias=False,
                                                input_shape=(None, 3)), layers.Dense(2)],
    "stacked_sequences": lambda: [layers.GRU(7, return_sequences=True, input_shape=(None, 3)),
                                  layers.Dropout(0.5), layers.GRU(5, return_sequences=True),
                                  layers.Dense(4, activation="softmax")],
    "go_backwards": lambda: [layers.GRU(6, go_backwards=True, return_sequences=True,
                                        input_shape=(None, 3)), layers.GRU(4, go_backwards=True),
                             layers.Dense(2, activation="tanh")],
    "bidirectional_concat": lambda: [layers.Bidirectional(layers.GRU(5, return_sequences=True),
                                                          input_shape=(None, 3)),
                                     layers.Bidirectional(layers.GRU(4)), layers.Dense(1)],
    "bidirectional_sum_ave_mul": lambda: [
        layers.Bidirectional(layers.GRU(5, return_sequences=True), merge_mode="sum",
                             input_shape=(None, 3)),
        layers.Bidirectional(layers.GRU(4, return_sequences=True), merge_mode="mul"),
        layers.Bidirectional(layers.GRU(3), merge_mode="ave"), layers.Activation("sigmoid")],
    "lstm_stacks": lambda: [
        layers.Bidirectional(layers.LSTM(5, return_sequences=True), input_shape=(None, 3)),
        layers.LSTM(4, use_bias=False, return_sequences=True, go_backwards=True),
        layers.GRU(3, return_sequences=True), layers.LSTM(2), layers.Dense(1)],
}


@pytest.mark.parametrize("name", sorted(STACKS))
def test_onnxruntime_matches_predict(rng, tmp_path, name):
    gn.utils.set_random_seed(4)
    model = gn.Sequential(STACKS[name]())
    path = tmp_path / "model.onnx"
    model.export(path, format="onnx")
    onnx.checker.check_model(onnx.load(path))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for B, T in [(1, 1), (3, 7), (5, 20)]:
        x = rng.normal(size=(B, T, 3)).astype(np.float32)
        got = session.run(None, {"input": x})[0]
        np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_export_rejects_what_it_cannot_write(tmp_path):
    model = gn.Sequential(STACKS["tutorial"]())
    with pytest.raises(ValueError, match="unknown export format 'tflite'; known: 'onnx'"):
        model.export(tmp_path / "m", format="tflite")
    masked = gn.Sequential([layers.Masking(input_shape=(None, 3)), layers.LSTM(3)])
    with pytest.raises(ValueError, match="Masking.*no ONNX export"):
        masked.export(tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="float32"):
        gn.Sequential(STACKS["tutorial"](), dtype="float64").export(tmp_path / "m.onnx")
