"""save/load_model and pickle (src/gru_native/saving.py): exact round trips, resumable training."""

import io
import json
import os
import pickle
import signal
import stat
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

import gru_native
from gru_native import GRU, Bidirectional, Dense, Dropout, Embedding, Sequential, load_model


def make_model():
    model = Sequential([Bidirectional(GRU(6, return_sequences=True, reset_after=False),
                                      merge_mode="sum", input_shape=(None, 3)),
                        GRU(5, dropout=0.1), Dropout(0.2), Dense(2, activation="tanh")])
    model.compile(optimizer=gru_native.optimizers.AdamW(2e-3, clipnorm=1.0), loss="huber",
                  metrics=["mae"])
    return model


@pytest.fixture
def data(rng):
    return rng.normal(size=(40, 7, 3)).astype(np.float32), rng.normal(size=(40, 2)).astype(np.float32)


def test_save_load_round_trips_predictions_and_resumes_training(tmp_path, data):
    x, y = data
    model = make_model()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / "model.gru"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.optimizer.iterations == model.optimizer.iterations
    for model_ in (model, loaded):
        gru_native.utils.set_random_seed(3)
        model_.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_pickle_round_trip(data):
    x, y = data
    model = make_model()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]


def test_embedding_model_and_weights_files(tmp_path, rng):
    model = Sequential([Embedding(30, 4, mask_zero=True, input_shape=(None,)), GRU(3), Dense(1)])
    tokens = rng.integers(0, 30, size=(5, 6))
    model.save_weights(tmp_path / "w.npz")
    other = Sequential([Embedding(30, 4, mask_zero=True, input_shape=(None,)), GRU(3), Dense(1)])
    other.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(other.predict(tokens), model.predict(tokens))
    model.save(tmp_path / "m")  # uncompiled, any file name
    np.testing.assert_array_equal(load_model(tmp_path / "m").predict(tokens), model.predict(tokens))


def test_loading_rejects_what_is_not_a_model(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, config=np.frombuffer(b'{"format": "other"}', np.uint8))
    with pytest.raises(ValueError, match="not a gru_native model"):
        load_model(bad)
    pickled = tmp_path / "pickled.npz"
    with open(pickled, "wb") as f:  # a file object: np.save would append '.npy' to the path
        np.save(f, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="not a zip archive"):
        load_model(pickled)  # never unpickles


# ---- atomic saving ----------------------------------------------------------------------------

# The child builds a model with a GRU(512) (3.2 MB of weights) and saves it over `target`, with
# np.savez given a file whose writes stall for good once half the weights are written: it then
# flushes what it wrote, drops a marker and sleeps until the test kills it. Deterministic: the
# kill always lands in the middle of the save, whatever the speed of the machine.
_STALLING_SAVE = r"""
import os, sys, time
import numpy as np
import gru_native
from gru_native import GRU, Dense, Sequential

target, marker = sys.argv[1], sys.argv[2]
gru_native.utils.set_random_seed(1)
model = Sequential([GRU(512, input_shape=(None, 8)), Dense(1)])
half = model.parameters.params.nbytes // 2
real_savez = np.savez


class StallingFile:
    def __init__(self, f):
        self._f, self._written = f, 0

    def write(self, data):
        n = self._f.write(data)
        self._written += memoryview(data).nbytes
        if self._written > half:
            self._f.flush()
            with open(marker + ".part", "w") as m:
                m.write(str(self._written))
            os.replace(marker + ".part", marker)
            time.sleep(600)
        return n

    def __getattr__(self, name):
        return getattr(self._f, name)


np.savez = lambda file, *args, **kwds: real_savez(StallingFile(file), *args, **kwds)
model.save(target)
print("save returned", flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_save_killed_midway_leaves_the_previous_file_intact(tmp_path, rng):
    folder = tmp_path / "models"
    folder.mkdir()
    target = folder / "model.gru"
    old = Sequential([GRU(8, input_shape=(None, 8)), Dense(1)])
    old.compile(optimizer="adam", loss="mse")
    old.save(target)
    x = rng.normal(size=(3, 5, 8)).astype(np.float32)
    expected = old.predict(x)
    before, stat_before = target.read_bytes(), target.stat()
    marker = tmp_path / "stalled"

    child = subprocess.Popen([sys.executable, "-c", _STALLING_SAVE, str(target), str(marker)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"the child ended (rc {child.returncode}) before stalling:\n"
                            f"{child.stderr.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail("the child did not reach the middle of its save in 120 s")
            time.sleep(0.01)
        # mid-save: the half-written temporary file is beside the target, the target unchanged
        temporaries = [p for p in folder.iterdir() if p != target]
        assert len(temporaries) == 1
        written = int(marker.read_text())
        assert temporaries[0].stat().st_size >= written > 0
        assert target.read_bytes() == before
        child.kill()
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert b"save returned" not in child.stdout.read()

    # the old file is exactly as it was, loads, and predicts as before
    assert target.read_bytes() == before
    stat_after = target.stat()
    assert (stat_after.st_ino, stat_after.st_mtime_ns) == (stat_before.st_ino, stat_before.st_mtime_ns)
    loaded = load_model(target)
    np.testing.assert_array_equal(loaded.predict(x), expected)
    assert loaded.count_params() == old.count_params()
    # the leftover of the killed save has its own hidden name and is no model
    (leftover,) = [p for p in folder.iterdir() if p != target]
    assert leftover.name.startswith(".model.gru.") and leftover.name.endswith(".tmp")
    with pytest.raises(ValueError, match="truncated or corrupted"):
        load_model(leftover)


@pytest.mark.parametrize("method", ["save", "save_weights"])
@pytest.mark.parametrize("existing", [True, False])
def test_a_failing_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, rng, monkeypatch,
                                                                    method, existing):
    model = Sequential([GRU(4, input_shape=(None, 3)), Dense(1)])
    target = tmp_path / "model.gru"
    if existing:
        getattr(model, method)(target)
        before = target.read_bytes()
    real_savez = np.savez

    def failing_savez(f, **arrays):  # half an archive, then the disk is full
        buffer = io.BytesIO()
        real_savez(buffer, **arrays)
        f.write(buffer.getvalue()[:len(buffer.getvalue()) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", failing_savez)
    model.layers[0].weights[0][...] = 0.5  # what would be saved differs from the file
    with pytest.raises(OSError, match="No space left"):
        getattr(model, method)(target)
    assert [p.name for p in tmp_path.iterdir()] == (["model.gru"] if existing else [])
    if existing:
        assert target.read_bytes() == before


def test_save_takes_str_and_pathlike_paths_and_keeps_the_file_mode(tmp_path, rng):
    model = Sequential([GRU(3, input_shape=(None, 2)), Dense(1)])
    x = rng.normal(size=(2, 4, 2)).astype(np.float32)
    model.save(str(tmp_path / "a"))
    model.save_weights(tmp_path / "b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no '.npz' appended
    np.testing.assert_array_equal(load_model(str(tmp_path / "a")).predict(x), model.predict(x))
    if os.name == "posix":
        os.chmod(tmp_path / "a", 0o640)
        model.save(tmp_path / "a")  # replaced, with the permissions it had
        assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o640
        os.symlink(tmp_path / "a", tmp_path / "link")
        model.save(tmp_path / "link")  # through the link, as open() would write
        assert os.path.islink(tmp_path / "link")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "link"]


# ---- loading damaged or foreign files --------------------------------------------------------

def saved_arrays(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def write_arrays(path, arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def with_config(arrays, edit):
    config = json.loads(bytes(arrays["config"]).decode())
    edit(config)
    return dict(arrays, config=np.frombuffer(json.dumps(config).encode(), np.uint8))


@pytest.fixture
def saved(tmp_path, data):
    """A trained, compiled model saved to a file, the file's arrays and the model's predictions."""
    x, y = data
    model = make_model()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / "good.gru"
    model.save(path)
    return path, saved_arrays(path), model.predict(x)


@pytest.mark.parametrize("fraction", [0, 0.0001, 0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999])
def test_truncated_files_are_rejected(saved, tmp_path, fraction):
    path, _, _ = saved
    content = path.read_bytes()
    cut = tmp_path / "cut.gru"
    for n in {int(len(content) * fraction), len(content) - 1 - int(len(content) * fraction)}:
        cut.write_bytes(content[:n])
        with pytest.raises(ValueError, match=r"cannot read .*cut\.gru.*(empty file|not a zip|truncated)"):
            load_model(cut)
        model = make_model()
        with pytest.raises(ValueError, match="cannot read"):
            model.load_weights(cut)


def test_random_bytes_and_foreign_files_are_rejected(tmp_path, rng):
    path = tmp_path / "random.gru"
    path.write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match="not a zip archive"):
        load_model(path)
    path.write_bytes(b"PK\x03\x04" + rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match="truncated or corrupted"):
        load_model(path)
    with zipfile.ZipFile(path, "w") as z:  # a zip, but not of NumPy arrays
        z.writestr("config.npy", "hello")
    with pytest.raises(ValueError, match="not a NumPy array"):
        load_model(path)
    np.save(tmp_path / "one.npy", np.zeros(3))  # a .npy, not an .npz
    with pytest.raises(ValueError, match="not a zip archive"):
        load_model(tmp_path / "one.npy")
    write_arrays(path, {"x": np.zeros(3)})
    with pytest.raises(ValueError, match="not a gru_native model: it has no 'config'"):
        load_model(path)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.gru")


def test_flipped_bytes_are_rejected_or_harmless(saved, tmp_path, data):
    """Every 13th byte flipped in turn: the checksums and checks reject the file, or the byte was
    one nothing depends on (a zip timestamp) and the model loads exactly."""
    path, _, expected = saved
    x, _ = data
    content = path.read_bytes()
    bad = tmp_path / "flipped.gru"
    rejected = 0
    for i in range(0, len(content), 13):
        flipped = bytearray(content)
        flipped[i] ^= 0xFF
        bad.write_bytes(flipped)
        try:
            model = load_model(bad)
        except ValueError:
            rejected += 1
        else:
            np.testing.assert_array_equal(model.predict(x), expected)
    assert rejected > 0.8 * len(range(0, len(content), 13))


def _layers(config):
    return config["model"]["layers"]


@pytest.mark.parametrize("edit, message", [
    (lambda c: c.pop("format"), "no format version"),
    (lambda c: c.update(format="gru_native.model/2"),
     "unsupported format version 'gru_native.model/2'"),
    (lambda c: c.update(format="keras"), "not a gru_native model"),
    (lambda c: c.update(extra=1), "unexpected keys"),
    (lambda c: c.pop("model"), "no 'model'"),
    (lambda c: c["model"].update(layers={}), "'layers' as a list"),
    (lambda c: c["model"].update(dtype="float16"), "dtype 'float16'"),
    (lambda c: _layers(c).__setitem__(0, "GRU"), "layer 0 of the model config"),
    (lambda c: _layers(c)[1].update(class_name="ConvLSTM2D"), "unknown layer class 'ConvLSTM2D'"),
    (lambda c: _layers(c)[0]["config"]["layer"].update(class_name="os.system"),
     "unknown layer class 'os.system'"),
    (lambda c: _layers(c)[1]["config"].update(units2=3), "model config is invalid.*units2"),
    (lambda c: _layers(c)[1]["config"].update(units="5"), "model config is invalid.*units"),
    (lambda c: _layers(c)[1]["config"].update(units=6), r"weights \('params'\) have shape"),
    (lambda c: c["model"].update(build_input_shape=[None, 7, "3"]), "build_input_shape"),
    (lambda c: c["compile"]["optimizer"].update(class_name="Adagrad"), "unknown optimizer 'Adagrad'"),
    (lambda c: c["compile"]["optimizer"]["config"].update(learning_rate=-1),
     "compile config is invalid.*learning_rate"),
    (lambda c: c["compile"]["loss"].update(class_name="hinge"), "unknown loss 'hinge'"),
    (lambda c: c["compile"].update(metrics=["mae", "auc"]), "unknown metric 'auc'"),
    (lambda c: c["compile"].update(metrics="mae"), "metrics must be a list"),
    (lambda c: c["compile"].update(optimizer={"class_name": "SGD", "config": {}}),
     "optimizer state does not fit the optimizer SGD"),
])
def test_configs_with_a_wrong_structure_are_rejected(saved, tmp_path, edit, message):
    path, arrays, _ = saved
    write_arrays(path, with_config(arrays, edit))
    with pytest.raises(ValueError, match=r"cannot load a model from .*good\.gru.*" + message):
        load_model(path)


@pytest.mark.parametrize("config, message", [
    (np.frombuffer(b'{"format": "gru_native.model/1", "model": ', np.uint8), "not valid JSON"),
    (np.frombuffer(b'\xff\xfe{}', np.uint8), "not valid JSON"),
    (np.frombuffer(b"[" * 100000 + b"]" * 100000, np.uint8), "not valid JSON"),
    (np.frombuffer(b'"a string"', np.uint8), "must be a JSON object"),
    (np.frombuffer(b'{"format": "gru_native.model/1"}', np.int8), "uint8"),
    (np.zeros((2, 3), np.uint8), "uint8"),
])
def test_config_arrays_that_are_not_json_objects_are_rejected(saved, config, message):
    path, arrays, _ = saved
    write_arrays(path, dict(arrays, config=config))
    with pytest.raises(ValueError, match=message):
        load_model(path)


@pytest.mark.parametrize("change, message", [
    (lambda p: p[:-1], r"shape \(\d+,\), but the model has \d+ weights"),
    (lambda p: np.concatenate([p, p[:1]]), r"shape \(\d+,\), but the model has"),
    (lambda p: p.reshape(1, -1), r"shape \(1, \d+\)"),
    (lambda p: p.astype(np.int32), "dtype int32"),
    (lambda p: p.astype(bool), "dtype bool"),
    (lambda p: p.astype(np.complex64), "dtype complex64"),
    (lambda p: p.astype(np.float64), "dtype float64; expected float32"),
    (lambda p: np.frombuffer(p.tobytes(), np.uint8), "dtype uint8"),
    (lambda p: np.where(np.arange(p.size) == 5, np.nan, p).astype(p.dtype), "1 NaN or infinite"),
    (lambda p: np.full_like(p, np.inf), "NaN or infinite"),
    (None, "holds no weights"),
])
def test_weights_of_the_wrong_dtype_shape_or_value_are_rejected(saved, tmp_path, change, message):
    path, arrays, _ = saved
    arrays = dict(arrays)
    if change is None:
        del arrays["params"]
    else:
        arrays["params"] = change(arrays["params"])
    write_arrays(path, arrays)
    with pytest.raises(ValueError, match=message):
        load_model(path)
    if change is not None:  # the same file as a weights file
        model = make_model()
        weights = model.get_weights()
        with pytest.raises(ValueError, match=r"cannot load weights from .*good\.gru.*" + message):
            model.load_weights(path)
        for a, b in zip(model.get_weights(), weights):  # untouched
            np.testing.assert_array_equal(a, b)


def test_object_arrays_are_never_unpickled(saved, tmp_path):
    path, arrays, _ = saved
    with open(path, "wb") as f:
        np.savez(f, **dict(arrays, params=np.array([object()], dtype=object)))
    with pytest.raises(ValueError, match="cannot read .*(pickle|Object arrays)"):
        load_model(path)
    with pytest.raises(ValueError, match="cannot read"):
        make_model().load_weights(path)


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update({"optimizer/momentum": s["optimizer/momentum"][:-1]}),
     r"'momentum'.*shape"),
    (lambda s: s.update({"optimizer/velocity": s["optimizer/velocity"].reshape(1, -1)}),
     r"'velocity'.*shape"),
    (lambda s: s.update({"optimizer/velocity": s["optimizer/velocity"].astype(np.complex64)}),
     "'velocity' has dtype complex64"),
    (lambda s: s.update({"optimizer/velocity": s["optimizer/velocity"].astype(np.int64)}),
     "'velocity' has dtype int64"),
    (lambda s: s["optimizer/momentum"].__setitem__(0, np.nan), r"'momentum'\] holds NaN"),
    (lambda s: s.pop("optimizer/velocity"), "keys"),
    (lambda s: s.update({"optimizer/slot": s["optimizer/momentum"]}), "keys"),
    (lambda s: s.update({"optimizer/iterations": np.array(2.0)}),
     "'iterations' must be an integer"),
    (lambda s: s.update({"optimizer/iterations": np.array(-1)}), "iterations"),
    (lambda s: s.update({"optimizer/learning_rate": np.array(np.nan)}), "learning_rate"),
    (lambda s: s.update(extra=np.zeros(3)), r"unexpected entries \['extra'\]"),
])
def test_optimizer_state_that_does_not_fit_is_rejected(saved, change, message):
    assert_changed_file_is_rejected(saved, change, message)


def assert_changed_file_is_rejected(saved, change, message):
    """The saved file's arrays changed by change(arrays) make load_model raise `message`."""
    path, arrays, _ = saved
    arrays = {k: v.copy() for k, v in arrays.items()}
    change(arrays)
    write_arrays(path, arrays)
    with pytest.raises(ValueError, match=message):
        load_model(path)


def test_optimizer_state_without_a_compile_config_is_rejected(saved):
    path, arrays, _ = saved
    write_arrays(path, with_config(arrays, lambda c: c.pop("compile")))
    with pytest.raises(ValueError, match="optimizer state but no compile config"):
        load_model(path)


def test_a_config_claiming_a_huge_model_is_rejected_without_allocating_it(saved):
    path, arrays, _ = saved
    write_arrays(path, with_config(arrays, lambda c: _layers(c)[1]["config"].update(units=10**7)))
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"but the model has \d+ weights"):
        load_model(path)
    assert time.perf_counter() - start < 5


def test_load_weights_needs_a_built_model_and_a_weights_file(tmp_path):
    model = Sequential([GRU(3), Dense(1)])
    with pytest.raises(ValueError, match="build the model"):
        model.load_weights(tmp_path / "missing.npz")
    model.build((None, 4, 2))
    write_arrays(tmp_path / "other.npz", {"weights": np.zeros(3)})
    with pytest.raises(ValueError, match="not a gru_native weights file"):
        model.load_weights(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError):
        model.load_weights(tmp_path / "missing.npz")


def test_the_int8_calibration_is_saved_and_pickled(tmp_path, data):
    x, y = data
    model = make_model()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # calibrates int8
    want = model.predict(x, verbose=0, precision="int8")
    model.save(tmp_path / "model.gru")
    for clone in (load_model(tmp_path / "model.gru"), pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(clone.predict(x, verbose=0, precision="int8"), want)
        for a, b in zip(clone.get_calibration(), model.get_calibration()):
            assert (a is None) == (b is None)
            for u, v in zip(a or (), b or ()):
                np.testing.assert_array_equal(u, v)
    uncalibrated = make_model()
    uncalibrated.build((None, None, 3))
    uncalibrated.save(tmp_path / "plain.gru")
    assert load_model(tmp_path / "plain.gru").get_calibration() is None


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update({"calibration/0/kernel": s["calibration/0/kernel"][:2, :2]}),
     r"'calibration/0/kernel' must be float32 of shape \(3, 3\)"),
    (lambda s: s.update({"calibration/0/kernel": s["calibration/0/kernel"].astype(np.float64)}),
     "must be float32"),
    (lambda s: s["calibration/1/recurrent_kernel"].__setitem__((0, 1), np.nan),
     "calibration is invalid.*finite"),
    (lambda s: s["calibration/1/recurrent_kernel"].__setitem__((2, 2), -1.0),
     "calibration is invalid.*positive diagonal"),
    (lambda s: s.pop("calibration/1/recurrent_kernel"), "must have the entries"),
    (lambda s: s.update({"calibration/4/recurrent_kernel": np.eye(2, dtype=np.float32)}),
     "must have the entries"),
])
def test_an_int8_calibration_that_does_not_fit_is_rejected(saved, change, message):
    assert_changed_file_is_rejected(saved, change, message)


def test_a_calibration_for_a_model_without_int8_is_rejected(tmp_path, data):
    x, _ = data
    model = Sequential([gru_native.layers.Conv1D(4, 2, input_shape=(7, 3)), GRU(3)])
    model.save(tmp_path / "conv.gru")
    arrays = saved_arrays(tmp_path / "conv.gru")
    arrays["calibration/0/kernel"] = np.eye(3, dtype=np.float32)
    write_arrays(tmp_path / "conv.gru", arrays)
    with pytest.raises(ValueError, match="calibration, which its model cannot take"):
        load_model(tmp_path / "conv.gru")
