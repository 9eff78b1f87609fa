"""BackupAndRestore (src/gru_native/callbacks.py): a fit killed midway resumes from its last
backup (weights, optimizer state, random generator state) and ends with the weights of an
uninterrupted fit, bit for bit; the backup survives an interrupted fit and is removed by a
completed one; double_checkpoint falls back to the previous backup when the latest is damaged."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gru_native
from gru_native import GRU, Dense, Sequential
from gru_native.callbacks import BackupAndRestore, Callback, CallbackList, History

METADATA = "training_metadata.json"


def make_model():
    model = Sequential([GRU(8, input_shape=(10, 3), dropout=0.2), Dense(1)])
    model.compile("adam", "mse")
    return model


def data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 10, 3))
    return x, x.sum(axis=(1, 2))[:, None] / 10


class Interrupt(Callback):
    """Raises at the start of epoch `at`, as a crash would (fit then skips on_train_end)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise RuntimeError("interrupted")


class Snapshots(Callback):
    """The weights, optimizer state and generator state at the end of each epoch."""

    def __init__(self):
        super().__init__()
        self.at_epoch_end = {}

    def on_epoch_end(self, epoch, logs=None):
        self.at_epoch_end[epoch] = (self.model.get_weights(), self.model.optimizer.get_state(),
                                    gru_native.utils.rng().bit_generator.state)


def interrupted_fit(backup_dir, at=2, epochs=5, **kwargs):
    """A fit of `epochs` with a BackupAndRestore(backup_dir, **kwargs), interrupted at the start
    of epoch `at`; returns the model and the Snapshots."""
    model, snapshots = make_model(), Snapshots()
    x, y = data()
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(x, y, epochs=epochs, batch_size=8, verbose=0,
                  callbacks=[BackupAndRestore(backup_dir, **kwargs), snapshots, Interrupt(at)])
    return model, snapshots


def restored(backup_dir, **kwargs):
    """A fresh model (other weights) with the backup in `backup_dir` restored by the callback's
    on_train_begin, as fit calls it; returns the model and the callback."""
    gru_native.utils.set_random_seed(123)
    model, callback = make_model(), BackupAndRestore(backup_dir, **kwargs)
    CallbackList([callback], model=model).on_train_begin()
    return model, callback


def assert_state_is(model, snapshot):
    weights, optimizer_state, rng_state = snapshot
    for got, want in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)
    got_state = model.optimizer.get_state()
    assert set(got_state) == set(optimizer_state)
    for key, want in optimizer_state.items():
        np.testing.assert_array_equal(got_state[key], want)
    assert gru_native.utils.rng().bit_generator.state == rng_state


def model_files(backup_dir):
    return sorted(name for name in os.listdir(backup_dir) if name.endswith(".keras"))


# ---- arguments and CallbackList.resumed_epoch -----------------------------------------------

@pytest.mark.parametrize("backup_dir", ["", None])
def test_an_empty_backup_dir_is_refused_as_keras(backup_dir):
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        BackupAndRestore(backup_dir)


@pytest.mark.parametrize("save_freq", ["batch", 0, -3, 1.5, True, False, None])
def test_save_freq_must_be_epoch_or_a_positive_integer(tmp_path, save_freq):
    with pytest.raises(ValueError, match="Invalid value for argument `save_freq`"):
        BackupAndRestore(tmp_path, save_freq=save_freq)


def test_an_unbuilt_model_is_refused_as_keras(tmp_path):
    model = Sequential([GRU(4), Dense(1)])
    model.compile("adam", "mse")
    callback = BackupAndRestore(tmp_path)
    callback.set_model(model)
    with pytest.raises(ValueError, match="must be built"):
        callback.on_train_begin()


def test_callback_list_resumed_epoch_is_the_latest_restored_else_initial_epoch(tmp_path):
    class Resumed(Callback):
        def __init__(self, epoch):
            super().__init__()
            self.resumed_epoch = epoch

    assert CallbackList([Callback(), History()]).resumed_epoch(3) == 3
    assert CallbackList([Resumed(None)]).resumed_epoch(3) == 3
    assert CallbackList([Resumed(2), Resumed(None), Resumed(4)]).resumed_epoch(0) == 4
    assert CallbackList([Resumed(0)]).resumed_epoch(3) == 0  # the backup's epoch wins, as Keras
    assert CallbackList([CallbackList([Resumed(5)])]).resumed_epoch(1) == 5
    callback = BackupAndRestore(tmp_path / "nothing")
    assert callback.resumed_epoch is None
    assert CallbackList([callback]).resumed_epoch(2) == 2


# ---- backing up and restoring, hook by hook -------------------------------------------------

def test_without_a_backup_nothing_is_restored(tmp_path):
    gru_native.utils.set_random_seed(5)
    model = make_model()
    before, rng_state = model.get_weights(), gru_native.utils.rng().bit_generator.state
    callback = BackupAndRestore(tmp_path / "backup")
    CallbackList([callback], model=model).on_train_begin()
    assert callback.resumed_epoch is None
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))
    assert gru_native.utils.rng().bit_generator.state == rng_state
    assert not (tmp_path / "backup").exists()


def test_an_interrupted_fit_leaves_its_last_epoch_backup_which_restores_everything(tmp_path):
    backup = tmp_path / "backup"
    model, snapshots = interrupted_fit(backup, at=2)
    assert sorted(os.listdir(backup)) == ["model-2.keras", METADATA]  # the older one removed
    metadata = json.loads((backup / METADATA).read_text())
    assert metadata["epoch"] == 2 and metadata["batch"] == 0
    assert metadata["rng_state"] == snapshots.at_epoch_end[1][2]

    restored_model, callback = restored(backup)
    assert callback.resumed_epoch == 2
    assert_state_is(restored_model, snapshots.at_epoch_end[1])
    assert_state_is(model, snapshots.at_epoch_end[1])  # the interrupted model: the same
    # the backup is readable by load_model too: it is a model file
    loaded = gru_native.load_model(backup / "model-2.keras")
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), model.get_weights()))


def test_batch_backups_every_save_freq_batches_resume_the_epoch_in_progress(tmp_path):
    backup = tmp_path / "backup"
    saved = []

    class Record(Callback):
        def on_train_batch_end(self, batch, logs=None):
            path = backup / METADATA
            if path.exists():
                saved.append((json.loads(path.read_text())["epoch"],
                              json.loads(path.read_text())["batch"]))

    model, x, y = make_model(), *data()
    with pytest.raises(RuntimeError):
        model.fit(x, y, epochs=5, batch_size=8, verbose=0,  # 8 batches an epoch
                  callbacks=[BackupAndRestore(backup, save_freq=3), Record(), Interrupt(2)])
    # saved after batches 3, 6 of epoch 0, 1 (9th), 4, 7 of epoch 1
    assert sorted(set(saved)) == [(0, 2), (0, 5), (1, 0), (1, 3), (1, 6)]
    assert model_files(backup) == ["model-5.keras"]
    restored_model, callback = restored(backup, save_freq=3)
    assert callback.resumed_epoch == 1
    assert restored_model.optimizer.iterations == 15  # the 16th step came after the last backup


def test_a_backup_cut_short_before_its_metadata_leaves_the_previous_one_whole(tmp_path,
                                                                             monkeypatch):
    # The metadata, written last, commits a backup: dying after the model file of epoch 2 is
    # written but before its metadata leaves epoch 1's backup, consistent.
    import gru_native.callbacks as callbacks_module

    write, writes = callbacks_module.write_text, []

    def dying_write(path, text):
        writes.append(path)
        if len(writes) == 2:
            raise KeyboardInterrupt
        write(path, text)

    monkeypatch.setattr(callbacks_module, "write_text", dying_write)
    backup, snapshots, model, (x, y) = tmp_path / "backup", Snapshots(), make_model(), data()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=5, batch_size=8, verbose=0,
                  callbacks=[snapshots, BackupAndRestore(backup)])
    monkeypatch.setattr(callbacks_module, "write_text", write)
    assert sorted(os.listdir(backup)) == ["model-1.keras", "model-2.keras", METADATA]
    restored_model, callback = restored(backup)
    assert callback.resumed_epoch == 1
    assert_state_is(restored_model, snapshots.at_epoch_end[0])
    # the next backup replaces model-2.keras, the orphan, and removes model-1.keras
    callback.on_epoch_end(1)
    assert sorted(os.listdir(backup)) == ["model-2.keras", METADATA]


def test_a_completed_fit_removes_the_backup_unless_told_to_keep_it(tmp_path):
    x, y = data()
    model = make_model()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0,
              callbacks=[BackupAndRestore(tmp_path / "removed")])
    assert not (tmp_path / "removed").exists()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0,
              callbacks=[BackupAndRestore(tmp_path / "kept", delete_checkpoint=False)])
    assert sorted(os.listdir(tmp_path / "kept")) == ["model-2.keras", METADATA]


def test_a_damaged_backup_raises_without_double_checkpoint(tmp_path):
    backup = tmp_path / "backup"
    interrupted_fit(backup, at=2)
    (backup / "model-2.keras").write_bytes(b"not a zip archive")
    gru_native.utils.set_random_seed(7)
    model = make_model()
    before = model.get_weights()
    callback = BackupAndRestore(backup)
    callback.set_model(model)
    with pytest.raises(ValueError, match="not a zip archive"):
        callback.on_train_begin()
    assert callback.resumed_epoch is None
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


@pytest.mark.parametrize("damage", ["model", "metadata"])
def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path, damage):
    backup = tmp_path / "backup"
    _, snapshots = interrupted_fit(backup, at=3, double_checkpoint=True)
    assert sorted(os.listdir(backup)) == ["model-2.keras", "model-3.keras", METADATA,
                                          METADATA + ".bkp"]
    if damage == "model":
        data_bytes = (backup / "model-3.keras").read_bytes()
        (backup / "model-3.keras").write_bytes(data_bytes[:len(data_bytes) // 2])
    else:
        (backup / METADATA).write_text('{"epoch": 3, "batch"')
    model, callback = restored(backup, double_checkpoint=True)
    assert callback.resumed_epoch == 2
    assert_state_is(model, snapshots.at_epoch_end[1])
    # the previous backup became the latest: the next backups carry on from it
    assert json.loads((backup / METADATA).read_text())["model"] == "model-2.keras"


def test_an_optimizer_state_that_does_not_fit_leaves_the_model_as_it_was(tmp_path):
    backup = tmp_path / "backup"
    interrupted_fit(backup, at=1)
    model = Sequential([GRU(8, input_shape=(10, 3), dropout=0.2), Dense(1)])
    model.compile("sgd", "mse")  # no slots, Adam's backup has two
    before, rng_state = model.get_weights(), gru_native.utils.rng().bit_generator.state
    callback = BackupAndRestore(backup)
    with pytest.raises(ValueError):
        CallbackList([callback], model=model).on_train_begin()
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))
    assert gru_native.utils.rng().bit_generator.state == rng_state


# ---- resuming through fit -------------------------------------------------------------------

def test_an_interrupted_and_resumed_fit_ends_as_an_uninterrupted_one(tmp_path):
    x, y = data()
    gru_native.utils.set_random_seed(0)
    model = make_model()
    model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    uninterrupted = model.get_weights()

    backup = tmp_path / "backup"
    gru_native.utils.set_random_seed(0)
    model = make_model()
    with pytest.raises(RuntimeError):
        model.fit(x, y, epochs=5, batch_size=8, verbose=0,
                  callbacks=[BackupAndRestore(backup), Interrupt(3)])
    gru_native.utils.set_random_seed(0)
    model = make_model()
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0,
                        callbacks=[BackupAndRestore(backup)])
    assert history.epoch == [3, 4]
    assert not backup.exists()
    for got, want in zip(model.get_weights(), uninterrupted, strict=True):
        np.testing.assert_array_equal(got, want)


SCRIPT = """
    import os, signal, sys
    import numpy as np
    import gru_native
    from gru_native import GRU, Dense, Sequential
    from gru_native.callbacks import BackupAndRestore, Callback

    mode, backup_dir, out = sys.argv[1:]

    class Kill(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                os.kill(os.getpid(), signal.SIGKILL)

    gru_native.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 10, 3))
    y = x.sum(axis=(1, 2))[:, None] / 10
    model = Sequential([GRU(8, input_shape=(10, 3), dropout=0.2), Dense(1)])
    model.compile("adam", "mse")
    callbacks = {"killed": [BackupAndRestore(backup_dir), Kill()],
                 "resumed": [BackupAndRestore(backup_dir)], "uninterrupted": []}[mode]
    history = model.fit(x, y, epochs=5, batch_size=8, shuffle=True, verbose=0,
                        callbacks=callbacks)
    np.savez(out, epochs=np.array(history.epoch), *model.get_weights())
"""


def run_script(mode, backup_dir, out):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT), mode, str(backup_dir),
                           str(out)], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="2"))


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_fit_killed_midway_resumes_and_ends_bit_identical_to_an_uninterrupted_one(tmp_path):
    backup = tmp_path / "backup"
    killed = run_script("killed", backup, tmp_path / "killed.npz")
    assert killed.returncode == -9, killed.stderr  # killed at the start of the third epoch
    assert not (tmp_path / "killed.npz").exists()
    assert json.loads((backup / METADATA).read_text())["epoch"] == 2

    resumed = run_script("resumed", backup, tmp_path / "resumed.npz")
    assert resumed.returncode == 0, resumed.stderr
    assert not backup.exists()  # removed by the completed fit
    uninterrupted = run_script("uninterrupted", backup, tmp_path / "uninterrupted.npz")
    assert uninterrupted.returncode == 0, uninterrupted.stderr

    with np.load(tmp_path / "resumed.npz") as r, np.load(tmp_path / "uninterrupted.npz") as u:
        np.testing.assert_array_equal(r["epochs"], [2, 3, 4])
        np.testing.assert_array_equal(u["epochs"], [0, 1, 2, 3, 4])
        names = [name for name in u.files if name != "epochs"]
        assert names and sorted(r.files) == sorted(u.files)
        for name in names:
            np.testing.assert_array_equal(r[name], u[name])
