"""Callbacks (src/gru_native/callbacks.py) driven by hand through a CallbackList, as fit drives
them, against a fake model and given sequences of epoch logs."""

import csv
import math
import os

import numpy as np
import pytest

from gru_native import GRU, Dense, Sequential
from gru_native.callbacks import (Callback, CallbackList, CSVLogger, EarlyStopping, History,
                                  LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau,
                                  TerminateOnNaN)
from gru_native.optimizers import SGD, Adam
from gru_native.optimizers.schedules import ExponentialDecay


class FakeOptimizer:
    def __init__(self, learning_rate):
        self.learning_rate = learning_rate


class FakeModel:
    """What callbacks see of a model: weights, an optimizer, stop_training and saving."""

    def __init__(self, learning_rate=1.0):
        self.weights = [np.zeros((2, 3)), np.zeros(3)]
        self.optimizer = FakeOptimizer(learning_rate)
        self.stop_training = False
        self.saved = []  # (method, path) of each save call

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, path):
        self.saved.append(("save", path))

    def save_weights(self, path):
        self.saved.append(("save_weights", path))


class LearningRateRecorder(Callback):
    """The learning rate after each epoch's callbacks have run."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(self.model.optimizer.learning_rate)


def run_epochs(model, callbacks, epoch_logs):
    """Drive `callbacks` as fit does, one epoch per dict of `epoch_logs`, until one stops the
    training. Epoch i leaves every weight equal to i. Returns the History."""
    cbs = CallbackList(callbacks, add_history=True, model=model,
                       epochs=len(epoch_logs), steps=1, verbose=0)
    model.stop_training = False
    cbs.on_train_begin()
    for epoch, logs in enumerate(epoch_logs):
        cbs.on_epoch_begin(epoch)
        for w in model.weights:
            w.fill(epoch)
        cbs.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    cbs.on_train_end()
    return model.history


def val_losses(*values):
    return [{"loss": 1.0, "val_loss": v} for v in values]


# ---- CallbackList and History ---------------------------------------------------------------

def test_history_collects_each_epochs_values_and_becomes_model_history():
    model = FakeModel()
    logs = [{"loss": 1.0, "mae": 0.5}, {"loss": 0.8, "mae": 0.4}, {"loss": 0.7, "mae": 0.35}]
    history = run_epochs(model, [], logs)
    assert isinstance(history, History)
    assert history.history == {"loss": [1.0, 0.8, 0.7], "mae": [0.5, 0.4, 0.35]}
    assert history.epoch == [0, 1, 2]
    assert history.params == {"epochs": 3, "steps": 1, "verbose": 0}
    assert history.model is model


def test_callback_list_uses_a_given_history_and_passes_one_logs_dict_to_all_in_order():
    seen = []

    class Recorder(Callback):
        def __init__(self, name):
            super().__init__()
            self.name = name

        def on_epoch_end(self, epoch, logs=None):
            seen.append((self.name, epoch, id(logs)))
            logs[self.name] = epoch

    history = History()
    model = FakeModel()
    cbs = CallbackList([Recorder("a"), history, Recorder("b")], add_history=True, model=model)
    assert len(cbs.callbacks) == 3 and model.history is history
    logs = {"loss": 1.0}
    cbs.on_epoch_end(4, logs)
    assert [s[:2] for s in seen] == [("a", 4), ("b", 4)]
    assert seen[0][2] == seen[1][2] == id(logs)
    assert logs == {"loss": 1.0, "a": 4, "b": 4}
    assert history.history == {"loss": [1.0], "a": [4]}  # b ran after History


def test_older_batch_hook_names_receive_train_batch_calls():
    calls = []

    class OldStyle(Callback):
        def on_batch_begin(self, batch, logs=None):
            calls.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            calls.append(("end", batch, logs["loss"]))

    cbs = CallbackList([OldStyle()], model=FakeModel())
    cbs.on_train_batch_begin(0)
    cbs.on_train_batch_end(0, {"loss": 0.5})
    assert calls == [("begin", 0), ("end", 0, 0.5)]


def test_every_hook_of_the_base_callback_can_be_dispatched():
    cbs = CallbackList([Callback()], model=FakeModel(), epochs=1)
    for hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
                 "on_predict_begin", "on_predict_end"):
        getattr(cbs, hook)({})
    for hook in ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end",
                 "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin",
                 "on_predict_batch_end", "on_batch_begin", "on_batch_end"):
        getattr(cbs, hook)(0, {})
    assert cbs.callbacks[0].params == {"epochs": 1}


# ---- EarlyStopping ------------------------------------------------------------------------

def test_early_stopping_stops_after_patience_epochs_without_improvement(capsys):
    model = FakeModel()
    stop = EarlyStopping(patience=2, verbose=1)
    history = run_epochs(model, [stop], val_losses(1.0, 0.9, 0.95, 0.96, 0.97, 0.5))
    assert history.epoch == [0, 1, 2, 3]
    assert stop.stopped_epoch == 3 and stop.best == 0.9
    assert "Epoch 4: early stopping" in capsys.readouterr().out


def test_early_stopping_with_no_patience_stops_at_the_first_epoch_that_does_not_improve():
    history = run_epochs(FakeModel(), [EarlyStopping()], val_losses(1.0, 0.9, 0.9, 0.8))
    assert history.epoch == [0, 1, 2]


def test_early_stopping_min_delta_counts_small_changes_as_no_improvement():
    logs = [{"loss": v} for v in (1.0, 0.95, 0.92, 0.9, 0.88)]
    assert run_epochs(FakeModel(), [EarlyStopping("loss", patience=2)], logs).epoch == [0, 1, 2, 3, 4]
    stop = EarlyStopping("loss", min_delta=0.1, patience=2)
    assert run_epochs(FakeModel(), [stop], logs).epoch == [0, 1, 2]
    assert stop.best == 1.0


def test_early_stopping_baseline_not_beaten_stops_after_patience_epochs():
    logs = val_losses(0.9, 0.95, 0.95, 0.95)
    assert run_epochs(FakeModel(), [EarlyStopping(patience=2)], logs).epoch == [0, 1, 2]
    # The first epoch does not beat the baseline, so it already counts against the patience.
    assert run_epochs(FakeModel(), [EarlyStopping(patience=2, baseline=0.5)], logs).epoch == [0, 1]


def test_early_stopping_baseline_beaten_restarts_patience():
    stop = EarlyStopping(patience=2, baseline=0.5)
    history = run_epochs(FakeModel(), [stop], val_losses(0.9, 0.4, 0.45, 0.46, 0.1))
    assert history.epoch == [0, 1, 2, 3]
    assert stop.best == 0.4


@pytest.mark.parametrize("restore", [True, False])
def test_early_stopping_restores_the_best_epochs_weights(restore):
    model = FakeModel()
    stop = EarlyStopping(patience=2, restore_best_weights=restore)
    history = run_epochs(model, [stop], val_losses(1.0, 0.5, 0.7, 0.8, 0.1))
    assert history.epoch == [0, 1, 2, 3]
    expected = 1 if restore else 3  # epoch 1 had the lowest val_loss; epoch 3 ran last
    assert all((w == expected).all() for w in model.weights)
    assert stop.best_epoch == 1


def test_early_stopping_restores_the_best_epoch_even_if_none_beats_the_baseline():
    model = FakeModel()
    stop = EarlyStopping(patience=2, baseline=0.1, restore_best_weights=True, start_from_epoch=1)
    run_epochs(model, [stop], val_losses(0.1, 0.9, 0.8, 0.85))
    assert stop.best_epoch == 2
    assert all((w == 2).all() for w in model.weights)


def test_early_stopping_ignores_epochs_before_start_from_epoch():
    stop = EarlyStopping("loss", start_from_epoch=2)
    history = run_epochs(FakeModel(), [stop], [{"loss": v} for v in (1.0, 2.0, 3.0, 4.0, 5.0)])
    assert history.epoch == [0, 1, 2, 3]
    assert stop.best == 3.0


def test_early_stopping_infers_max_mode_for_accuracy():
    logs = [{"val_accuracy": v} for v in (0.5, 0.6, 0.7, 0.65, 0.9)]
    stop = EarlyStopping("val_accuracy", patience=0)
    assert run_epochs(FakeModel(), [stop], logs).epoch == [0, 1, 2, 3]
    assert stop.best == 0.7


@pytest.mark.parametrize("monitor, mode, maximise", [
    ("val_loss", "auto", False),
    ("loss", "auto", False),
    ("val_mae", "auto", False),
    ("mean_squared_error", "auto", False),
    ("accuracy", "auto", True),
    ("val_acc", "auto", True),
    ("val_binary_accuracy", "auto", True),
    ("auc", "auto", True),
    ("val_precision", "auto", True),
    ("recall", "auto", True),
    ("val_r2_score", "auto", True),
    ("loss", "max", True),
    ("val_accuracy", "min", False),
])
def test_monitor_direction(monitor, mode, maximise):
    assert EarlyStopping(monitor, mode=mode).maximise is maximise
    assert ReduceLROnPlateau(monitor, mode=mode).maximise is maximise
    assert ModelCheckpoint("m.keras", monitor, mode=mode).maximise is maximise


def test_unknown_mode_warns_and_falls_back_to_auto():
    with pytest.warns(UserWarning, match="unknown, fallback to auto"):
        stop = EarlyStopping("val_accuracy", mode="largest")
    assert stop.mode == "auto" and stop.maximise


def test_early_stopping_warns_on_a_missing_monitor_and_does_not_stop():
    with pytest.warns(UserWarning, match="`val_loss` which is not available.*loss"):
        history = run_epochs(FakeModel(), [EarlyStopping()], [{"loss": 1.0}, {"loss": 2.0}])
    assert history.epoch == [0, 1]


def test_early_stopping_resets_between_fits():
    stop = EarlyStopping(patience=1)
    assert run_epochs(FakeModel(), [stop], val_losses(0.1, 0.2, 0.3)).epoch == [0, 1]
    assert run_epochs(FakeModel(), [stop], val_losses(1.0, 0.9, 0.8)).epoch == [0, 1, 2]


# ---- ReduceLROnPlateau --------------------------------------------------------------------

def test_reduce_lr_on_plateau_reduces_every_patience_epochs_without_improvement(capsys):
    model, rates = FakeModel(learning_rate=1.0), LearningRateRecorder()
    reduce = ReduceLROnPlateau(factor=0.5, patience=2, verbose=1)
    history = run_epochs(model, [reduce, rates], val_losses(1, 1, 1, 1, 1, 1, 1))
    assert rates.rates == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125]
    # The rate in each epoch's logs is the one that epoch trained with.
    assert history.history["learning_rate"] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.5." in capsys.readouterr().out


def test_reduce_lr_on_plateau_waits_for_improvements_larger_than_min_delta():
    model, rates = FakeModel(), LearningRateRecorder()
    run_epochs(model, [ReduceLROnPlateau(patience=2), rates], val_losses(1.0, 0.9, 0.8, 0.8, 0.8))
    assert rates.rates == [1.0, 1.0, 1.0, 1.0, 0.1]

    model, rates = FakeModel(), LearningRateRecorder()
    run_epochs(model, [ReduceLROnPlateau(patience=2), rates], val_losses(1.0, 0.99999, 0.99998))
    assert rates.rates == [1.0, 1.0, 0.1]  # changes below the default min_delta of 1e-4


def test_reduce_lr_on_plateau_cooldown_pauses_counting():
    model, rates = FakeModel(), LearningRateRecorder()
    reduce = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2)
    run_epochs(model, [reduce, rates], val_losses(1, 1, 1, 1, 1, 1))
    assert rates.rates == [1.0, 0.5, 0.5, 0.25, 0.25, 0.125]


def test_reduce_lr_on_plateau_stops_at_min_lr():
    model, rates = FakeModel(), LearningRateRecorder()
    reduce = ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.05)
    run_epochs(model, [reduce, rates], val_losses(1, 1, 1, 1, 1))
    assert rates.rates == pytest.approx([1.0, 0.1, 0.05, 0.05, 0.05])


def test_reduce_lr_on_plateau_infers_max_mode_for_accuracy():
    model, rates = FakeModel(), LearningRateRecorder()
    logs = [{"val_accuracy": v} for v in (0.5, 0.6, 0.7, 0.8)]
    run_epochs(model, [ReduceLROnPlateau("val_accuracy", patience=1), rates], logs)
    assert rates.rates == [1.0, 1.0, 1.0, 1.0]


def test_reduce_lr_on_plateau_rejects_a_factor_of_one_or_more():
    with pytest.raises(ValueError, match="factor >= 1.0"):
        ReduceLROnPlateau(factor=1.0)


def test_reduce_lr_on_plateau_warns_on_a_missing_monitor():
    model, rates = FakeModel(), LearningRateRecorder()
    with pytest.warns(UserWarning, match="`val_loss` which is not available"):
        run_epochs(model, [ReduceLROnPlateau(patience=0), rates], [{"loss": 1.0}] * 3)
    assert rates.rates == [1.0, 1.0, 1.0]


# ---- ModelCheckpoint ----------------------------------------------------------------------

def test_model_checkpoint_save_best_only_saves_on_improvement_to_a_formatted_path(tmp_path, capsys):
    model = FakeModel()
    pattern = str(tmp_path / "model-{epoch:02d}-{val_loss:.2f}.keras")
    checkpoint = ModelCheckpoint(pattern, save_best_only=True, verbose=1)
    run_epochs(model, [checkpoint], val_losses(0.5, 0.6, 0.4, 0.4))
    assert model.saved == [("save", str(tmp_path / "model-01-0.50.keras")),
                           ("save", str(tmp_path / "model-03-0.40.keras"))]
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from inf to 0.50000" in out
    assert "Epoch 2: val_loss did not improve from 0.50000" in out


def test_model_checkpoint_saves_weights_every_epoch(tmp_path):
    model = FakeModel()
    path = tmp_path / "best.weights.h5"
    run_epochs(model, [ModelCheckpoint(path, save_weights_only=True)], val_losses(0.5, 0.6, 0.7))
    assert model.saved == [("save_weights", str(path))] * 3


def test_model_checkpoint_initial_value_threshold_and_max_mode(tmp_path):
    model = FakeModel()
    checkpoint = ModelCheckpoint(tmp_path / "{epoch}.keras", save_best_only=True,
                                 initial_value_threshold=0.45)
    run_epochs(model, [checkpoint], val_losses(0.5, 0.6, 0.4, 0.41))
    assert [path for _, path in model.saved] == [str(tmp_path / "3.keras")]

    model = FakeModel()
    checkpoint = ModelCheckpoint(tmp_path / "{epoch}.keras", "val_accuracy", save_best_only=True)
    run_epochs(model, [checkpoint], [{"val_accuracy": v} for v in (0.5, 0.4, 0.7)])
    assert [path for _, path in model.saved] == [str(tmp_path / "1.keras"), str(tmp_path / "3.keras")]


def test_model_checkpoint_creates_the_directory(tmp_path):
    run_epochs(FakeModel(), [ModelCheckpoint(tmp_path / "a" / "b" / "m.keras")], val_losses(1))
    assert (tmp_path / "a" / "b").is_dir()


def test_model_checkpoint_saves_every_save_freq_batches(tmp_path):
    model = FakeModel()
    cbs = CallbackList([ModelCheckpoint(tmp_path / "e{epoch}-b{batch}.keras", save_freq=2)],
                       model=model)
    for epoch in range(2):
        cbs.on_epoch_begin(epoch)
        for batch in range(3):
            cbs.on_train_batch_end(batch, {"loss": 1.0})
        cbs.on_epoch_end(epoch, {"loss": 1.0, "val_loss": 1.0})
    assert [path for _, path in model.saved] == [
        str(tmp_path / name) for name in ("e1-b2.keras", "e2-b1.keras", "e2-b3.keras")]


def test_model_checkpoint_rejects_an_unknown_save_freq():
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        ModelCheckpoint("m.keras", save_freq="batch")


def test_model_checkpoint_names_a_filepath_key_missing_from_the_logs(tmp_path):
    checkpoint = ModelCheckpoint(tmp_path / "{epoch}-{val_mae:.2f}.keras")
    with pytest.raises(KeyError, match="Failed to format this callback filepath.*val_mae"):
        run_epochs(FakeModel(), [checkpoint], val_losses(1))


def test_model_checkpoint_save_best_only_warns_on_a_missing_monitor_and_saves(tmp_path):
    model = FakeModel()
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        run_epochs(model, [ModelCheckpoint(tmp_path / "m.keras", save_best_only=True)],
                   [{"loss": 1.0}, {"loss": 2.0}])
    assert len(model.saved) == 2


# ---- TerminateOnNaN -----------------------------------------------------------------------

@pytest.mark.parametrize("loss, stops", [(0.5, False), (math.nan, True), (math.inf, True),
                                         (-math.inf, True), (np.float32("nan"), True)])
def test_terminate_on_nan(loss, stops, capsys):
    model = FakeModel()
    cbs = CallbackList([TerminateOnNaN()], model=model)
    cbs.on_train_batch_end(0, {"loss": 0.3})
    cbs.on_train_batch_end(1, {"loss": loss})
    assert model.stop_training is stops
    assert ("Batch 1: Invalid loss, terminating training" in capsys.readouterr().out) is stops


def test_terminate_on_nan_ignores_logs_without_a_loss():
    model = FakeModel()
    CallbackList([TerminateOnNaN()], model=model).on_train_batch_end(0, {"mae": math.nan})
    assert model.stop_training is False


# ---- LearningRateScheduler, and learning-rate schedules ------------------------------------

def test_learning_rate_scheduler_sets_each_epochs_rate_from_the_current_one(capsys):
    model, seen = FakeModel(learning_rate=1.0), []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return lr if epoch < 2 else lr * 0.5

    history = run_epochs(model, [LearningRateScheduler(schedule, verbose=1)],
                         [{"loss": 1.0}] * 4)
    assert seen == [(0, 1.0), (1, 1.0), (2, 1.0), (3, 0.5)]
    # The rate in each epoch's logs is the one that epoch trained with.
    assert history.history["learning_rate"] == [1.0, 1.0, 0.5, 0.25]
    assert "Epoch 3: LearningRateScheduler setting learning rate to 0.5." in capsys.readouterr().out


def test_learning_rate_scheduler_takes_keras_older_one_argument_schedule():
    model = FakeModel()
    history = run_epochs(model, [LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))],
                         [{"loss": 1.0}] * 3)
    assert history.history["learning_rate"] == [0.1, 0.05, 0.1 / 3]


@pytest.mark.parametrize("rate", [1, "0.1", None, np.float16(0.1)])
def test_learning_rate_scheduler_rejects_a_rate_that_is_not_a_float(rate):
    with pytest.raises(ValueError, match="should be a float"):
        run_epochs(FakeModel(), [LearningRateScheduler(lambda epoch, lr: rate)], [{}])


def test_learning_rate_scheduler_in_fit_follows_keras_example():
    # Keras' docstring example (its inputs scaled down, for a finite loss): 0.01 for ten
    # epochs, then times exp(-0.1) each epoch
    model = Sequential([Dense(10)])
    model.compile(SGD(), loss="mse")
    scheduler = LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr * math.exp(-0.1))
    history = model.fit(np.arange(100.0).reshape(5, 20) / 100, np.zeros((5, 10)), epochs=15,
                        callbacks=[scheduler], verbose=0)
    assert round(model.optimizer.learning_rate, 5) == 0.00607
    assert history.history["learning_rate"][-1] == model.optimizer.learning_rate


def test_reduce_lr_on_plateau_logs_a_scheduled_rate_and_cannot_reduce_it_as_in_keras():
    schedule = ExponentialDecay(0.1, 10, 0.5)
    model = FakeModel()
    model.optimizer = Adam(learning_rate=schedule)
    model.optimizer.iterations = 10
    reduce, logs = ReduceLROnPlateau(patience=1), {"val_loss": 1.0}
    reduce.set_model(model)
    reduce.on_epoch_end(0, logs)
    assert logs["learning_rate"] == schedule(10) == 0.05
    with pytest.raises(TypeError, match="not settable"):
        reduce.on_epoch_end(1, {"val_loss": 1.0})  # no improvement for patience epochs


def test_learning_rate_scheduler_cannot_set_a_scheduled_rate_as_in_keras():
    model = FakeModel()
    model.optimizer = Adam(learning_rate=ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="not settable"):
        run_epochs(model, [LearningRateScheduler(lambda epoch, lr: lr)], [{}])


# ---- CSVLogger ------------------------------------------------------------------------------

def keras_callbacks():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    return keras.callbacks


def log_by_hand(logger, fits):
    """Call `logger`'s hooks as fit would: `fits` is a list of fits, each a list of epoch logs."""
    for epochs in fits:
        logger.on_train_begin()
        for epoch, logs in enumerate(epochs):
            logger.on_epoch_begin(epoch)
            logger.on_epoch_end(epoch, dict(logs))
        logger.on_train_end()


CSV_CASES = {
    "losses and metrics": ({}, [[
        {"loss": 0.25, "mae": 0.5, "val_loss": 0.125, "val_mae": 1.0},
        {"loss": 0.1 + 0.2, "mae": 1 / 3, "val_loss": 2.0, "val_mae": 3}]]),
    # no validation keys: Keras adds a val_ column for each key, filled with NA
    "no validation": ({}, [[{"loss": 0.5, "accuracy": 0.75}, {"loss": 0.25, "accuracy": 1.0}]]),
    # a key missing later is NA, a key added later is left out; strings, lists, arrays, NumPy
    # scalars and 0-d arrays as Keras writes them
    "changing keys and odd values": ({}, [[
        {"loss": np.float32(0.1), "val_loss": np.float64(0.2), "note": "a, \"b\""},
        {"loss": np.array(0.3), "extra": 1.0, "note": [1, 2.5], "val_loss": np.array([1.0, 2.0])},
        {"loss": -math.inf, "val_loss": math.nan, "note": (3,)},
    ]]),
    "separator": ({"separator": ";"}, [[{"loss": 1.5, "val_loss": 2.5},
                                        {"loss": 1, "val_loss": 2}]]),
    "no logs": ({}, [[{}, {}]]),
    # append: a second fit adds its rows under the first's header
    "append": ({"append": True}, [[{"loss": 1.0, "val_loss": 2.0}],
                                  [{"loss": 3.0, "val_loss": 4.0},
                                   {"loss": 5.0, "val_loss": 6.0}]]),
    # without append, each fit starts the file afresh
    "overwrite": ({}, [[{"loss": 1.0}], [{"loss": 2.0}, {"loss": 3.0}]]),
}


@pytest.mark.parametrize("case", CSV_CASES)
def test_csv_logger_writes_the_file_keras_writes(tmp_path, case):
    kwargs, fits = CSV_CASES[case]
    ours, theirs = tmp_path / "ours.csv", tmp_path / "keras.csv"
    log_by_hand(CSVLogger(ours, **kwargs), fits)
    log_by_hand(keras_callbacks().CSVLogger(str(theirs), **kwargs), fits)
    assert ours.read_bytes() == theirs.read_bytes()
    assert ours.read_bytes().startswith(b"epoch")


@pytest.mark.parametrize("existing", ["", "epoch,loss\r\n0,9.0\r\n"])
def test_csv_logger_appends_a_header_only_to_an_empty_file_as_keras(tmp_path, existing):
    fits = [[{"loss": 1.0}, {"loss": 2.0}]]
    ours, theirs = tmp_path / "ours.csv", tmp_path / "keras.csv"
    for path in (ours, theirs):
        path.write_bytes(existing.encode())
    log_by_hand(CSVLogger(str(ours), append=True), fits)
    log_by_hand(keras_callbacks().CSVLogger(str(theirs), append=True), fits)
    assert ours.read_bytes() == theirs.read_bytes()
    assert ours.read_bytes().count(b"epoch") == 1


def test_csv_logger_in_fit_writes_each_epoch_as_keras_would_and_flushes_it(tmp_path):
    path = tmp_path / "log.csv"
    seen, rows_so_far = [], []

    class Record(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(dict(logs))
            with open(path, newline="") as f:  # flushed: this epoch's row is already there
                rows_so_far.append(len(list(csv.reader(f))))

    x = np.random.default_rng(0).normal(size=(20, 4, 2))
    y = x.sum(axis=(1, 2))[:, None]
    model = Sequential([GRU(3, input_shape=(4, 2)), Dense(1)])
    model.compile("adam", "mse", metrics=["mae"])
    logger = CSVLogger(path)
    history = model.fit(x, y, epochs=3, batch_size=8,
                        validation_split=0.25, callbacks=[logger, Record()], verbose=0)
    assert logger.csv_file.closed
    assert rows_so_far == [2, 3, 4]  # header + one row per epoch
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    for key, values in history.history.items():
        assert [float(r[key]) for r in rows] == values  # written exactly (repr of the float)

    theirs = tmp_path / "keras.csv"
    log_by_hand(keras_callbacks().CSVLogger(str(theirs)), [seen])
    assert path.read_bytes() == theirs.read_bytes()


def test_csv_logger_takes_a_path_object_and_closes_the_file_at_train_end(tmp_path):
    logger = CSVLogger(tmp_path / "log.csv")
    assert logger.filename == str(tmp_path / "log.csv")
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 1.0})
    assert not logger.csv_file.closed
    logger.on_train_end()
    assert logger.csv_file.closed and logger.writer is None
