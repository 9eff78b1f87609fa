"""Training callbacks with the Keras 3 interface and behaviour: the base `Callback`, the
`CallbackList` a model drives, and `History`, `EarlyStopping`, `ReduceLROnPlateau`,
`ModelCheckpoint`, `TerminateOnNaN`, `LearningRateScheduler`.

A callback talks to its model through `stop_training`, `get_weights()` (which returns copies,
as in Keras), `set_weights()`, `optimizer.learning_rate`, `save(path)` and `save_weights(path)`,
and receives per-epoch `logs` dicts of plain numbers (`{'loss': 0.2, 'val_loss': 0.3}`).
"""

import math
import os
import warnings

import numpy as np

# Name fragments of metrics that improve upward (Keras' accuracies, AUC, precision, recall, F1,
# R2, IoU, cosine similarity); every other quantity, losses and errors, improves downward.
_MAXIMISED_METRICS = ("acc", "auc", "precision", "recall", "f1_score", "fbeta_score",
                      "r2_score", "iou", "cosine_similarity")


def _checked_mode(mode, owner):
    if mode in ("auto", "min", "max"):
        return mode
    warnings.warn(f"{owner} mode {mode!r} is unknown, fallback to auto mode.", stacklevel=3)
    return "auto"


def _maximises(monitor, mode):
    """Whether `monitor` improves upward: set by `mode`, or for 'auto' read from its name."""
    if mode != "auto":
        return mode == "max"
    name = monitor.removeprefix("val_")
    return not name.endswith("loss") and any(part in name for part in _MAXIMISED_METRICS)


def _beats(current, reference, maximise, min_delta):
    """Whether `current` improves on `reference` by more than `min_delta`; anything beats None."""
    if reference is None:
        return True
    if maximise:
        return current - min_delta > reference
    return current + min_delta < reference


class Callback:
    """Base class of the objects `fit`, `evaluate` and `predict` call at each stage.

    Subclasses override the hooks they need. `model` is the model being trained and `params`
    the training parameters (epochs, steps, verbose), both set by the `CallbackList`.
    """

    def __init__(self):
        self.model = None
        self.params = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    # Keras' older names of the two hooks above, still called for callbacks written against them.
    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass


class CallbackList(Callback):
    """The callbacks of one `fit`/`evaluate`/`predict` call, each hook forwarded to all of them in
    order with the same `logs` dict, so that what one callback adds (ReduceLROnPlateau's
    `learning_rate`) reaches the next ones.

    With `add_history`, a `History` is appended unless the list has one; either way the list's
    History becomes `model.history`. `params` go to every callback's `set_params`.
    """

    def __init__(self, callbacks=None, add_history=False, model=None, **params):
        super().__init__()
        self.callbacks = list(callbacks) if callbacks else []
        self.history = next((c for c in self.callbacks if isinstance(c, History)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        self.set_model(model)
        self.set_params(params)

    def set_params(self, params):
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    def set_model(self, model):
        if model is None:
            return
        self.model = model
        if self.history is not None:
            model.history = self.history
        for callback in self.callbacks:
            callback.set_model(model)

    def _call_each(self, hook, *args, logs):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            getattr(callback, hook)(*args, logs=logs)

    def on_train_begin(self, logs=None):
        self._call_each("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call_each("on_train_end", logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call_each("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call_each("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call_each("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call_each("on_train_batch_end", batch, logs=logs)

    def on_batch_begin(self, batch, logs=None):
        self._call_each("on_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch, logs=None):
        self._call_each("on_batch_end", batch, logs=logs)

    def on_test_begin(self, logs=None):
        self._call_each("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._call_each("on_test_end", logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call_each("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call_each("on_test_batch_end", batch, logs=logs)

    def on_predict_begin(self, logs=None):
        self._call_each("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._call_each("on_predict_end", logs=logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call_each("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call_each("on_predict_batch_end", batch, logs=logs)


class History(Callback):
    """Records each epoch's logs: `history[key]` is the list of that quantity's values, one per
    epoch, and `epoch` the list of epoch indices. `fit` returns it.

    As in Keras, `history` keeps growing if the same History serves several `fit` calls, while
    `epoch` restarts with each.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class EarlyStopping(Callback):
    """Stop training when `monitor` has not improved for `patience` epochs.

    An improvement is a change by more than `min_delta` in the direction `mode` gives ('auto':
    upward for accuracy-like names, downward otherwise). With a `baseline`, training also stops
    after `patience` epochs that do not beat it. Epochs before `start_from_epoch` are ignored.
    With `restore_best_weights`, the weights of the best epoch are put back when training ends.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.verbose = verbose
        self.mode = _checked_mode(mode, "EarlyStopping")
        self.maximise = _maximises(monitor, self.mode)
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._reset()

    def on_train_begin(self, logs=None):
        self._reset()  # so that one instance can serve several fit calls

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitored_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self._improves(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Patience restarts only for an epoch that beats the baseline as well.
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return

        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def _improves(self, current, reference):
        return _beats(current, reference, self.maximise, self.min_delta)

    def _monitored_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}", stacklevel=2)
        return value


class ReduceLROnPlateau(Callback):
    """Multiply the optimizer's learning rate by `factor` when `monitor` has not improved by more
    than `min_delta` for `patience` epochs, never going below `min_lr`; then wait `cooldown`
    epochs before counting again. Adds `learning_rate` to each epoch's logs. The rate of an
    optimizer built with a learning-rate schedule is not settable: reducing it raises the
    optimizer's TypeError, as in Keras.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.mode = _checked_mode(mode, "Learning rate reduction")
        self.maximise = _maximises(monitor, self.mode)
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.min_lr = min_lr
        self._reset()

    def on_train_begin(self, logs=None):
        self._reset()

    def _reset(self):
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                          f"which is not available. Available metrics are: {','.join(logs)}.",
                          stacklevel=2)
            return

        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0

        if _beats(current, self.best, self.maximise, self.min_delta):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce(epoch)

    def _reduce(self, epoch):
        old_lr = float(self.model.optimizer.learning_rate)
        if old_lr <= self.min_lr:
            return
        new_lr = max(old_lr * self.factor, self.min_lr)
        self.model.optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
        self.cooldown_counter = self.cooldown
        self.wait = 0


class ModelCheckpoint(Callback):
    """Save the model (`model.save(path)`) or its weights (`model.save_weights(path)`) at the end
    of every epoch, or every `save_freq` batches when that is an integer.

    `filepath` may hold `{epoch}` (1-based), `{batch}` (1-based, batch saving) and log keys with
    format specs: `'ckpt-{epoch:02d}-{val_loss:.2f}.keras'`; missing directories are created.
    With `save_best_only`, the model is saved only when `monitor` improves on the best value so
    far, which starts at `initial_value_threshold` when given.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. "
                             "Expected save_freq are 'epoch' or integer values")
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = _checked_mode(mode, "ModelCheckpoint")
        self.maximise = _maximises(monitor, self.mode)
        self.save_freq = save_freq
        if initial_value_threshold is not None:
            self.best = initial_value_threshold
        else:
            self.best = -math.inf if self.maximise else math.inf
        self._current_epoch = 0
        self._batches_since_saving = 0
        self._last_batch_seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._batch_saving_due(batch):
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _batch_saving_due(self, batch):
        if self.save_freq == "epoch":
            return False
        # Batch indices restart at 0 with each epoch.
        if batch <= self._last_batch_seen:
            self._batches_since_saving += batch + 1
        else:
            self._batches_since_saving += batch - self._last_batch_seen
        self._last_batch_seen = batch
        if self._batches_since_saving >= self.save_freq:
            self._batches_since_saving = 0
            return True
        return False

    def _save(self, epoch, batch, logs):
        logs = logs or {}
        path = self._file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, path):
            return
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)

    def _file_path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e}") from None

    def _should_save(self, epoch, logs, path):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {path}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=2)
            return True
        if _beats(current, self.best, self.maximise, 0):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
        return False


class TerminateOnNaN(Callback):
    """Stop training (`model.stop_training = True`) after a batch whose loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of each epoch to `schedule(epoch, lr)`
    (epoch from 0, lr the current rate), a float; a `schedule(epoch)` of Keras' older API is
    called so when the two-argument call raises TypeError. Adds `learning_rate` to each
    epoch's logs."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            learning_rate = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.float32, np.float64)):
            raise ValueError("The output of the `schedule` function should be a float. "
                             f"Got: {learning_rate}")
        optimizer.learning_rate = learning_rate
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
