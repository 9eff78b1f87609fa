"""What a hostile file may cost load_model and load_weights (src/gru_native/models/saving.py,
archive.py): memory and time bounded by the model the config plans, not by the archive's
entries; limits on the config; no initialiser runs; per-layer shapes; special files."""

import json
import os
import stat
import subprocess
import sys
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest

import gru_native
from gru_native import GRU, Bidirectional, Dense, Sequential, initializers, load_model
from gru_native.models import saving


def small_model():
    model = Sequential([GRU(4, input_shape=(None, 3)), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def saved_arrays(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def write_with_deflated_zeros(path, arrays, name, shape, dtype=np.float32):
    """`arrays` as an .npz archive plus an entry `name` of zeros of `shape`, deflated: 64 MB of
    zeros take 64 KB of file."""
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z, \
            z.open(name + ".npy", "w", force_zip64=True) as entry:
        np.lib.format.write_array_header_1_0(entry, {"descr": np.lib.format.dtype_to_descr(
            np.dtype(dtype)), "fortran_order": False, "shape": shape})
        chunk = bytes(2**20)
        left = int(np.prod(shape)) * np.dtype(dtype).itemsize
        while left > 0:
            entry.write(chunk[:left])
            left -= len(chunk)


def peak_bytes(call):
    """The peak of memory traced while `call()` runs (it must raise ValueError)."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as raised:
            call()
        return tracemalloc.get_traced_memory()[1], str(raised.value)
    finally:
        tracemalloc.stop()


# ---- item 2: nothing is inflated before it is checked ---------------------------------------

def test_an_unexpected_entry_is_rejected_by_name_without_reading_it(tmp_path):
    """64 MB of deflated zeros in an entry no model has: refused by its name, for a few
    hundred KB (it was inflated first: 7.8 MB of file reached 7.7 GB)."""
    model = small_model()
    path = tmp_path / "hostile.gru"
    model.save(path)
    write_with_deflated_zeros(path, saved_arrays(path), "payload", (16 * 2**20,))
    assert path.stat().st_size < 2**20
    peak, message = peak_bytes(lambda: load_model(path))
    assert "unexpected entries ['payload']" in message
    assert peak < 4 * 2**20
    peak, message = peak_bytes(lambda: model.load_weights(path))
    assert "unexpected entries ['payload']" in message
    assert peak < 4 * 2**20


@pytest.mark.parametrize("entry", ["params", "optimizer/velocity"])
def test_an_array_of_the_wrong_declared_shape_is_rejected_before_its_data_is_read(tmp_path, entry):
    model = small_model()
    model.fit(np.zeros((4, 2, 3), np.float32), np.zeros((4, 1), np.float32), verbose=0)
    path = tmp_path / "hostile.gru"
    model.save(path)
    arrays = saved_arrays(path)
    del arrays[entry]
    write_with_deflated_zeros(path, arrays, entry, (16 * 2**20,))
    peak, message = peak_bytes(lambda: load_model(path))
    assert "shape (16777216,)" in message and f"({model.count_params()},)" in message
    assert peak < 4 * 2**20
    if entry == "params":
        peak, message = peak_bytes(lambda: model.load_weights(path))
        assert f"but the model has {model.count_params()} weights" in message
        assert peak < 4 * 2**20


def test_an_entry_whose_header_claims_more_than_the_archive_holds_is_rejected(tmp_path):
    """A header declaring the planned shape, over less data: the archive's record of the
    entry's size says so before an array of the declared size is allocated."""
    model = small_model()
    path = tmp_path / "short.gru"
    model.save(path)
    arrays = saved_arrays(path)
    with open(path, "wb") as f:
        np.savez(f, **{k: v for k, v in arrays.items() if k != "params"})
    with zipfile.ZipFile(path, "a") as z:
        with z.open("params.npy", "w") as entry:
            np.lib.format.write_array_header_1_0(entry, {"descr": "<f4", "fortran_order": False,
                                                         "shape": arrays["params"].shape})
            entry.write(arrays["params"].tobytes()[:-4])
    with pytest.raises(ValueError, match=r"its entry 'params.npy' is \d+ bytes, but its header"):
        load_model(path)


# ---- item 3: limits on what a config may describe -------------------------------------------

def with_model_config(path, edit):
    arrays = saved_arrays(path)
    config = json.loads(bytes(arrays["config"]).decode())
    edit(config["model"])
    arrays["config"] = np.frombuffer(json.dumps(config).encode(), np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_a_config_listing_more_layers_than_the_limit_is_rejected(tmp_path):
    path = tmp_path / "many.gru"
    Sequential([Dense(2, input_shape=(2,))]).save(path)
    dense = {"class_name": "Dense", "config": {"units": 2}}
    with_model_config(path, lambda mc: mc["layers"].extend([dense] * saving.MAX_LAYERS))
    with pytest.raises(ValueError, match=f"more than the limit of {saving.MAX_LAYERS}"):
        load_model(path)


def test_nested_layers_past_the_limit_are_rejected(tmp_path):
    """Bidirectional layers nested 12 deep hold 2**12 GRU layers in 27 KB of JSON."""
    layer = {"class_name": "GRU", "config": {"units": 1}}
    for _ in range(12):
        layer = {"class_name": "Bidirectional",
                 "config": {"layer": layer, "backward_layer": layer, "merge_mode": "sum"}}
    path = tmp_path / "nested.gru"
    Sequential([GRU(1, input_shape=(None, 1))]).save(path)
    with_model_config(path, lambda mc: mc["layers"].__setitem__(0, layer))
    with pytest.raises(ValueError, match=f"nests layers more than {saving.MAX_NESTING} deep"):
        load_model(path)


def test_a_config_longer_than_the_limit_is_rejected_from_its_header(tmp_path):
    path = tmp_path / "long.gru"
    config = b'{"format": "gru_native.model/1", "model": ' + b" " * saving.MAX_CONFIG_BYTES + b"}"
    with open(path, "wb") as f:
        np.savez(f, config=np.frombuffer(config, np.uint8))
    with pytest.raises(ValueError, match=f"more than the limit of {saving.MAX_CONFIG_BYTES}"):
        load_model(path)


def test_models_within_the_limits_load(tmp_path):
    model = Sequential([Bidirectional(GRU(2, return_sequences=True), input_shape=(None, 2))]
                       + [Dense(2) for _ in range(300)])
    model.save(tmp_path / "deep.gru")
    x = np.ones((1, 3, 2), np.float32)
    np.testing.assert_array_equal(load_model(tmp_path / "deep.gru").predict(x), model.predict(x))


# ---- item 4: loading runs no initialiser ----------------------------------------------------

def test_loading_runs_no_initializer(tmp_path, monkeypatch):
    """The weights come from the file: an orthogonal initialiser's QR decomposition made a
    GRU(2048) take 6 s to load for 0.03 s of reading."""
    model = Sequential([Bidirectional(GRU(5, return_sequences=True), input_shape=(None, 3)),
                        GRU(4), Dense(2)])
    model.save(tmp_path / "m.gru")
    model.save_weights(tmp_path / "w.npz")
    calls = []
    for cls in vars(initializers).values():
        if isinstance(cls, type) and issubclass(cls, initializers.Initializer) \
                and "__call__" in vars(cls):
            real = vars(cls)["__call__"]
            monkeypatch.setattr(cls, "__call__", lambda self, *a, _real=real, **k: (
                calls.append(type(self).__name__), _real(self, *a, **k))[1])
    loaded = load_model(tmp_path / "m.gru")
    assert calls == []
    x = np.ones((2, 4, 3), np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    Sequential([GRU(2, input_shape=(None, 3))])  # a model built outside loading initialises
    assert calls


# ---- item 11: load_weights checks each layer's shapes ---------------------------------------

def test_weights_of_another_architecture_with_as_many_weights_are_rejected(tmp_path):
    """GRU(8) on 2 features and GRU(8, reset_after=False) on 3 have 288 weights each."""
    source = Sequential([GRU(8, input_shape=(None, 2), name="source_gru")])
    target = Sequential([GRU(8, reset_after=False, input_shape=(None, 3), name="target_gru")])
    assert source.count_params() == target.count_params() == 288
    source.save_weights(tmp_path / "w.npz")
    before = target.get_weights()
    with pytest.raises(ValueError, match=r"layer 'target_gru' has weights of shapes \[\(3, 24\), "
                                         r"\(8, 24\), \(24,\)\], but the file's layer "
                                         r"'source_gru' has \[\(2, 24\), \(8, 24\), \(2, 24\)\]"):
        target.load_weights(tmp_path / "w.npz")
    source.save(tmp_path / "m.gru")  # a model file: the layout its config plans
    with pytest.raises(ValueError, match="layer 'target_gru' has weights of shapes"):
        target.load_weights(tmp_path / "m.gru")
    for a, b in zip(target.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_weights_files_without_a_layout_still_load(tmp_path):
    """Files written before layouts were saved hold the weights alone."""
    model = Sequential([GRU(3, input_shape=(None, 2)), Dense(1)])
    with open(tmp_path / "old.npz", "wb") as f:
        np.savez(f, params=np.concatenate([w.ravel() for w in model.weights]))
    other = Sequential([GRU(3, input_shape=(None, 2)), Dense(1)])
    other.load_weights(tmp_path / "old.npz")
    for a, b in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


# ---- item 6: special files ------------------------------------------------------------------

def test_saving_to_a_fifo_writes_into_it_and_loading_from_one_is_refused(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs os.mkfifo (POSIX)")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    model = small_model()
    model.save(fifo)
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # not replaced by a regular file
    (tmp_path / "copy.gru").write_bytes(received[0])
    x = np.ones((1, 2, 3), np.float32)
    np.testing.assert_array_equal(load_model(tmp_path / "copy.gru").predict(x), model.predict(x))

    outcome = []

    def load():
        try:
            load_model(fifo)
        except ValueError as e:
            outcome.append(str(e))

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    loader.join(timeout=30)
    if loader.is_alive():  # blocked opening the FIFO: give it a writer so that it ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("load_model blocked on a FIFO")
    assert "not a regular file" in outcome[0]
    with pytest.raises(ValueError, match="not a regular file"):
        model.load_weights(fifo)


def test_saving_to_a_character_device_writes_into_it(tmp_path):
    """A device like /dev/null (made in tmp_path, never the real one) stays a device."""
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        os.close(os.open(device, os.O_WRONLY))
    except (AttributeError, OSError) as e:
        pytest.skip(f"cannot make and open a character device here ({e})")
    small_model().save(device)
    small_model().save_weights(device)
    st = os.stat(device)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]
    with pytest.raises(ValueError, match="not a regular file"):
        load_model(device)


# ---- item 12: wrong types, optimizer state, orphaned temporary files ------------------------

@pytest.mark.parametrize("key, value, message", [
    ("go_backwards", "false", "go_backwards must be True or False, got 'false'"),
    ("return_sequences", 1, "return_sequences must be True or False"),
    ("reset_after", None, "reset_after must be True or False"),
    ("trainable", "yes", "trainable must be True or False"),
    ("units", True, "units must be a positive integer, got True"),
    ("input_shape", [None, True], r"input_shape must be a tuple of integers"),
    ("input_shape", [None, 2.5], r"input_shape must be a tuple of integers"),
])
def test_config_fields_of_the_wrong_type_are_rejected(tmp_path, key, value, message):
    with pytest.raises((TypeError, ValueError), match=message):
        GRU(**dict({"units": 4}, **{key: value}))
    path = tmp_path / "m.gru"
    small_model().save(path)
    with_model_config(path, lambda mc: mc["layers"][0]["config"].update({key: value}))
    with pytest.raises(ValueError, match="model config is invalid.*" + message):
        load_model(path)


def test_integer_arguments_of_other_layers_are_rejected_when_not_integers():
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got True"):
        gru_native.Input(shape=(3,), batch_size=True)
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got '1'"):
        gru_native.layers.Attention(seed="1")


def test_optimizer_flags_of_the_wrong_type_are_rejected():
    with pytest.raises(TypeError, match="amsgrad must be True or False"):
        gru_native.optimizers.Adam(amsgrad="false")
    with pytest.raises(TypeError, match="nesterov must be True or False"):
        gru_native.optimizers.SGD(momentum=0.9, nesterov=1)


@pytest.mark.parametrize("entry, value, message", [
    ("iterations", np.array(2**63 - 2, np.int64), r"'iterations'\] must be an integer in"),
    ("velocity", lambda v: -np.ones_like(v), r"'velocity'\] holds negative values"),
    ("momentum", lambda m: np.full_like(m, np.inf), r"'momentum'\] holds NaN or infinite"),
])
def test_optimizer_state_that_would_break_fit_is_refused_at_load(tmp_path, entry, value, message):
    model = small_model()
    x, y = np.ones((4, 2, 3), np.float32), np.ones((4, 1), np.float32)
    model.fit(x, y, verbose=0)
    path = tmp_path / "m.gru"
    model.save(path)
    arrays = saved_arrays(path)
    key = "optimizer/" + entry
    arrays[key] = value(arrays[key]) if callable(value) else value
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(ValueError, match="optimizer state does not fit.*" + message):
        load_model(path)


@pytest.mark.skipif(os.name != "posix", reason="process ids are probed on POSIX only")
def test_a_save_removes_the_temporary_files_killed_saves_left(tmp_path):
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    dead = int(ended.stdout)
    orphan = tmp_path / f".model.gru.{dead}.0123456789ab.tmp"
    live = tmp_path / f".model.gru.{os.getpid()}.0123456789ab.tmp"  # a save under way
    other = tmp_path / f".other.gru.{dead}.0123456789ab.tmp"  # another target's
    for p in (orphan, live, other):
        p.write_bytes(b"half a model")
    small_model().save(tmp_path / "model.gru")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["model.gru", live.name, other.name])
