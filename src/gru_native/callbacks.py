"""Training callbacks with the Keras 3 interface and behaviour.

The base :class:`~gru_native.callbacks.Callback`, the
:class:`~gru_native.callbacks.CallbackList` a model drives, and
:class:`~gru_native.callbacks.History`, :class:`~gru_native.callbacks.EarlyStopping`,
:class:`~gru_native.callbacks.ReduceLROnPlateau`, :class:`~gru_native.callbacks.ModelCheckpoint`,
:class:`~gru_native.callbacks.TerminateOnNaN`,
:class:`~gru_native.callbacks.LearningRateScheduler`, :class:`~gru_native.callbacks.CSVLogger`
and :class:`~gru_native.callbacks.BackupAndRestore`.

A callback talks to its model through ``stop_training``, ``get_weights()`` (which returns copies,
as in Keras), ``set_weights()``, ``optimizer.learning_rate``, ``optimizer.set_state()``,
``save(path)``, ``save_weights(path)`` and ``load_weights(path)``, and receives per-epoch
``logs`` dicts of plain numbers (``{'loss': 0.2, 'val_loss': 0.3}``).
"""

import collections
import csv
import json
import math
import os
import re
import shutil
import warnings
import zipfile

import numpy as np

from . import utils
from .file_writing import write_text

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
    """Base class of the objects ``fit``, ``evaluate`` and ``predict`` call at each stage.

    Subclasses override the hooks they need: ``on_train_*`` and ``on_epoch_*`` (``fit``),
    ``on_test_*`` (``evaluate``, and each validation of ``fit``) and ``on_predict_*``
    (``predict``). Each hook receives ``logs``, a dict of plain numbers
    (``{'loss': 0.2, 'val_loss': 0.3}``). A callback talks to its model through
    ``model.stop_training``, ``model.get_weights()`` (copies, as in Keras),
    ``model.set_weights()``, ``model.optimizer``, ``model.save(path)``,
    ``model.save_weights(path)`` and ``model.load_weights(path)``.

    Attributes
    ----------
    model : Model or None
        The model being trained, set by the :class:`~gru_native.callbacks.CallbackList` (through
        :meth:`set_model`).
    params : dict or None
        The training parameters (epochs, steps, verbose), set by the
        :class:`~gru_native.callbacks.CallbackList` (through :meth:`set_params`).
    """

    def __init__(self):
        self.model = None
        self.params = None

    def set_params(self, params):
        """Set the training parameters.

        Parameters
        ----------
        params : dict
            The training parameters (epochs, steps, verbose), kept as ``params``.
        """
        self.params = params

    def set_model(self, model):
        """Set the model the callback acts on.

        Parameters
        ----------
        model : Model
            The model being trained, kept as ``model``.
        """
        self.model = model

    def on_train_begin(self, logs=None):
        """Called at the start of training, in :meth:`~gru_native.models.Model.fit`.

        Parameters
        ----------
        logs : dict, optional
            Empty: the model passes no data to this hook.
        """
        pass

    def on_train_end(self, logs=None):
        """Called at the end of training, in :meth:`~gru_native.models.Model.fit`.

        Also called when a callback stopped the training early.

        Parameters
        ----------
        logs : dict, optional
            The logs of the last epoch.
        """
        pass

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of each epoch of :meth:`~gru_native.models.Model.fit`.

        Parameters
        ----------
        epoch : int
            The index of the epoch, from 0.
        logs : dict, optional
            Empty: the model passes no data to this hook.
        """
        pass

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of each epoch of :meth:`~gru_native.models.Model.fit`.

        Parameters
        ----------
        epoch : int
            The index of the epoch, from 0.
        logs : dict, optional
            The epoch's losses and metrics (``{'loss': 0.2, 'val_loss': 0.3}``), the validation
            ones prefixed with ``val_``. What a callback adds to it (the ``learning_rate`` of
            :class:`~gru_native.callbacks.ReduceLROnPlateau`) reaches the callbacks after it.
        """
        pass

    def on_train_batch_begin(self, batch, logs=None):
        """Called at the start of each training batch.

        The base class's hook calls :meth:`on_batch_begin`, Keras' older name of this hook, so
        that callbacks written against it still work.

        Parameters
        ----------
        batch : int
            The index of the batch within its epoch, from 0.
        logs : dict, optional
            Empty: the model passes no data to this hook.
        """
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called at the end of each training batch.

        The base class's hook calls :meth:`on_batch_end`, Keras' older name of this hook, so
        that callbacks written against it still work.

        Parameters
        ----------
        batch : int
            The index of the batch within its epoch, from 0.
        logs : dict, optional
            The loss and metrics aggregated over the epoch's batches so far.
        """
        self.on_batch_end(batch, logs=logs)

    # Keras' older names of the two hooks above, still called for callbacks written against them.
    def on_batch_begin(self, batch, logs=None):
        """Called at the start of each training batch (Keras' older name).

        The base class's :meth:`on_train_batch_begin` calls it; override
        :meth:`on_train_batch_begin` in new code.

        Parameters
        ----------
        batch : int
            The index of the batch within its epoch, from 0.
        logs : dict, optional
            Empty: the model passes no data to this hook.
        """
        pass

    def on_batch_end(self, batch, logs=None):
        """Called at the end of each training batch (Keras' older name).

        The base class's :meth:`on_train_batch_end` calls it; override
        :meth:`on_train_batch_end` in new code.

        Parameters
        ----------
        batch : int
            The index of the batch within its epoch, from 0.
        logs : dict, optional
            The loss and metrics aggregated over the epoch's batches so far.
        """
        pass

    def on_test_begin(self, logs=None):
        """Called at the start of an evaluation.

        In :meth:`~gru_native.models.Model.evaluate`,
        and in each validation of :meth:`~gru_native.models.Model.fit`.

        Parameters
        ----------
        logs : dict, optional
            Empty: the model passes no data to this hook.
        """
        pass

    def on_test_end(self, logs=None):
        """Called at the end of an evaluation.

        In :meth:`~gru_native.models.Model.evaluate`,
        and in each validation of :meth:`~gru_native.models.Model.fit`.

        Parameters
        ----------
        logs : dict, optional
            The loss and metrics of the evaluation.
        """
        pass

    def on_test_batch_begin(self, batch, logs=None):
        """Called at the start of each evaluation batch.

        Parameters
        ----------
        batch : int
            The index of the batch, from 0.
        logs : dict, optional
            Empty: the model passes no data to this hook.
        """
        pass

    def on_test_batch_end(self, batch, logs=None):
        """Called at the end of each evaluation batch.

        Parameters
        ----------
        batch : int
            The index of the batch, from 0.
        logs : dict, optional
            The loss and metrics aggregated over the batches so far.
        """
        pass

    def on_predict_begin(self, logs=None):
        """Called at the start of prediction, in :meth:`~gru_native.models.Model.predict`.

        Parameters
        ----------
        logs : dict, optional
            Empty: the model passes no data to this hook.
        """
        pass

    def on_predict_end(self, logs=None):
        """Called at the end of prediction, in :meth:`~gru_native.models.Model.predict`.

        Parameters
        ----------
        logs : dict, optional
            Empty: the model passes no data to this hook.
        """
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        """Called at the start of each prediction batch.

        Parameters
        ----------
        batch : int
            The index of the batch, from 0.
        logs : dict, optional
            Empty: the model passes no data to this hook.
        """
        pass

    def on_predict_batch_end(self, batch, logs=None):
        """Called at the end of each prediction batch.

        Parameters
        ----------
        batch : int
            The index of the batch, from 0.
        logs : dict, optional
            ``{'outputs': ...}``: the batch's predictions.
        """
        pass


class CallbackList(Callback):
    """The callbacks of one ``fit``, ``evaluate`` or ``predict`` call, driven as one.

    Each hook is forwarded to all of them in order with the same ``logs`` dict, so that what one
    callback adds (the ``learning_rate`` of :class:`~gru_native.callbacks.ReduceLROnPlateau`)
    reaches the next ones.

    Parameters
    ----------
    callbacks : iterable of Callback, optional
        The callbacks, called in this order.
    add_history : bool, default=False
        Append a :class:`~gru_native.callbacks.History` unless ``callbacks`` holds one. Either way,
        the list's History (when it has one) becomes ``model.history``.
    model : Model, optional
        The model, given to every callback's ``set_model``.
    **params
        The training parameters (epochs, steps, verbose), given to every callback's
        ``set_params``.

    Attributes
    ----------
    callbacks : list of Callback
        The callbacks, a :class:`~gru_native.callbacks.History` appended by ``add_history``.
    history : History or None
        The list's History.
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
        """Set the training parameters of every callback.

        Parameters
        ----------
        params : dict
            The training parameters (epochs, steps, verbose); empty ones are not passed on.
        """
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    def set_model(self, model):
        """Set the model of every callback.

        The list's :class:`~gru_native.callbacks.History` (when it has one) becomes
        ``model.history``.

        Parameters
        ----------
        model : Model or None
            The model being trained; None changes nothing.
        """
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
        """Call the ``on_train_begin`` hook of every callback, in order.

        The hook is called at the start of training, in :meth:`~gru_native.models.Model.fit`.

        Parameters
        ----------
        logs : dict, optional
            Empty: the model passes no data to this hook.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        """Call the ``on_train_end`` hook of every callback, in order.

        The hook is called at the end of training, in :meth:`~gru_native.models.Model.fit`.

        Parameters
        ----------
        logs : dict, optional
            The logs of the last epoch.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_train_end", logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        """Call the ``on_epoch_begin`` hook of every callback, in order.

        The hook is called at the start of each epoch of :meth:`~gru_native.models.Model.fit`.

        Parameters
        ----------
        epoch : int
            The index of the epoch, from 0.
        logs : dict, optional
            Empty: the model passes no data to this hook.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        """Call the ``on_epoch_end`` hook of every callback, in order.

        The hook is called at the end of each epoch of :meth:`~gru_native.models.Model.fit`.

        Parameters
        ----------
        epoch : int
            The index of the epoch, from 0.
        logs : dict, optional
            The epoch's losses and metrics (``{'loss': 0.2, 'val_loss': 0.3}``), the validation
            ones prefixed with ``val_``. What a callback adds to it (the ``learning_rate`` of
            :class:`~gru_native.callbacks.ReduceLROnPlateau`) reaches the callbacks after it.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch, logs=None):
        """Call the ``on_train_batch_begin`` hook of every callback, in order.

        The hook is called at the start of each training batch.

        Parameters
        ----------
        batch : int
            The index of the batch within its epoch, from 0.
        logs : dict, optional
            Empty: the model passes no data to this hook.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """Call the ``on_train_batch_end`` hook of every callback, in order.

        The hook is called at the end of each training batch.

        Parameters
        ----------
        batch : int
            The index of the batch within its epoch, from 0.
        logs : dict, optional
            The loss and metrics aggregated over the epoch's batches so far.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_train_batch_end", batch, logs=logs)

    def on_batch_begin(self, batch, logs=None):
        """Call the ``on_batch_begin`` hook of every callback, in order.

        The hook is called at the start of each training batch (Keras' older name).

        Parameters
        ----------
        batch : int
            The index of the batch within its epoch, from 0.
        logs : dict, optional
            Empty: the model passes no data to this hook.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch, logs=None):
        """Call the ``on_batch_end`` hook of every callback, in order.

        The hook is called at the end of each training batch (Keras' older name).

        Parameters
        ----------
        batch : int
            The index of the batch within its epoch, from 0.
        logs : dict, optional
            The loss and metrics aggregated over the epoch's batches so far.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_batch_end", batch, logs=logs)

    def on_test_begin(self, logs=None):
        """Call the ``on_test_begin`` hook of every callback, in order.

        The hook is called at the start of an evaluation.

        Parameters
        ----------
        logs : dict, optional
            Empty: the model passes no data to this hook.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        """Call the ``on_test_end`` hook of every callback, in order.

        The hook is called at the end of an evaluation.

        Parameters
        ----------
        logs : dict, optional
            The loss and metrics of the evaluation.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_test_end", logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Call the ``on_test_batch_begin`` hook of every callback, in order.

        The hook is called at the start of each evaluation batch.

        Parameters
        ----------
        batch : int
            The index of the batch, from 0.
        logs : dict, optional
            Empty: the model passes no data to this hook.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        """Call the ``on_test_batch_end`` hook of every callback, in order.

        The hook is called at the end of each evaluation batch.

        Parameters
        ----------
        batch : int
            The index of the batch, from 0.
        logs : dict, optional
            The loss and metrics aggregated over the batches so far.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_test_batch_end", batch, logs=logs)

    def on_predict_begin(self, logs=None):
        """Call the ``on_predict_begin`` hook of every callback, in order.

        The hook is called at the start of prediction, in :meth:`~gru_native.models.Model.predict`.

        Parameters
        ----------
        logs : dict, optional
            Empty: the model passes no data to this hook.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        """Call the ``on_predict_end`` hook of every callback, in order.

        The hook is called at the end of prediction, in :meth:`~gru_native.models.Model.predict`.

        Parameters
        ----------
        logs : dict, optional
            Empty: the model passes no data to this hook.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_predict_end", logs=logs)

    def on_predict_batch_begin(self, batch, logs=None):
        """Call the ``on_predict_batch_begin`` hook of every callback, in order.

        The hook is called at the start of each prediction batch.

        Parameters
        ----------
        batch : int
            The index of the batch, from 0.
        logs : dict, optional
            Empty: the model passes no data to this hook.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch, logs=None):
        """Call the ``on_predict_batch_end`` hook of every callback, in order.

        The hook is called at the end of each prediction batch.

        Parameters
        ----------
        batch : int
            The index of the batch, from 0.
        logs : dict, optional
            ``{'outputs': ...}``: the batch's predictions.
            Every callback gets the same dict (an empty one for None).
        """
        self._call_each("on_predict_batch_end", batch, logs=logs)

    def resumed_epoch(self, initial_epoch):
        """Return the epoch ``fit`` starts from.

        Asked after ``on_train_begin``: the latest epoch a callback restored a backup of (its
        ``resumed_epoch`` attribute, as :class:`~gru_native.callbacks.BackupAndRestore`'s), else
        ``initial_epoch``. Nested CallbackLists are asked too.

        Parameters
        ----------
        initial_epoch : int or None
            The epoch to start from when no callback restored a backup.

        Returns
        -------
        int or None
            The latest epoch a callback resumed from, else ``initial_epoch``.
        """
        resumed = []
        for callback in self.callbacks:
            if isinstance(callback, CallbackList):
                epoch = callback.resumed_epoch(None)
            else:
                epoch = getattr(callback, "resumed_epoch", None)
            if epoch is not None:
                resumed.append(epoch)
        return max(resumed) if resumed else initial_epoch


class History(Callback):
    """Record each epoch's logs; ``fit`` returns it.

    As in Keras, ``history`` keeps growing if the same History serves several ``fit`` calls, while
    ``epoch`` restarts with each.

    Attributes
    ----------
    history : dict of str to list
        ``history[key]`` is the list of that quantity's values, one per epoch.
    epoch : list of int
        The indices of the epochs recorded.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        """Restart ``epoch`` for a new ``fit``.

        ``history`` keeps the values of earlier ``fit`` calls.

        Parameters
        ----------
        logs : dict, optional
            Empty: the model passes no data to this hook.
        """
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        """Record the epoch's index and each of its logs.

        Parameters
        ----------
        epoch : int
            The index of the epoch, from 0.
        logs : dict, optional
            The epoch's losses and metrics: each value is appended to ``history[key]``.
        """
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    An improvement is a change by more than ``min_delta`` in the direction ``mode`` gives ('auto':
    upward for accuracy-like names, downward otherwise). With a ``baseline``, training also stops
    after ``patience`` epochs that do not beat it. Epochs before ``start_from_epoch`` are ignored.
    With ``restore_best_weights``, the weights of the best epoch are put back when training ends.

    Parameters
    ----------
    monitor : str, default='val_loss'
        The quantity to monitor, a key of the epoch's logs. An epoch whose logs lack it is
        ignored, with a warning.
    min_delta : float, default=0
        The smallest change that counts as an improvement (its absolute value is used).
    patience : int, default=0
        The number of epochs without improvement after which training stops.
    verbose : int, default=0
        Above 0, print a message when training stops early and when the best weights are
        restored.
    mode : {'auto', 'min', 'max'}, default='auto'
        The direction of an improvement: 'min' downward, 'max' upward, 'auto' upward for
        accuracy-like names (accuracy, AUC, precision, recall, F1, R2, IoU, cosine similarity; not
        a name ending in ``loss``), downward otherwise. An unknown mode warns and falls back to
        'auto'.
    baseline : float, optional
        A value to beat: training also stops after ``patience`` epochs that do not beat it.
    restore_best_weights : bool, default=False
        Put back the weights of the best epoch when training ends.
    start_from_epoch : int, default=0
        The number of epochs to ignore at the start (a warm-up).

    Attributes
    ----------
    best : float or None
        The best value of ``monitor`` so far.
    best_epoch : int
        The epoch of ``best``, from 0.
    stopped_epoch : int
        The epoch training stopped at, from 0 (0 when it did not stop early).
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
        """Reset the callback's state for a new ``fit``.

        So one instance can serve several ``fit`` calls.

        Parameters
        ----------
        logs : dict, optional
            Empty: the model passes no data to this hook.
        """
        self._reset()  # so that one instance can serve several fit calls

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        """Compare the epoch's ``monitor`` value with the best one so far.

        Sets ``model.stop_training`` when ``patience`` epochs passed without improvement.

        Parameters
        ----------
        epoch : int
            The index of the epoch, from 0.
        logs : dict, optional
            The epoch's losses and metrics, ``monitor`` among them.
        """
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
        """Restore the best weights, with ``restore_best_weights``.

        With ``verbose``, print the epoch training stopped at.

        Parameters
        ----------
        logs : dict, optional
            The logs of the last epoch.
        """
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
    """Reduce the learning rate when ``monitor`` has stopped improving.

    Multiply the optimizer's learning rate by ``factor`` when ``monitor`` has not improved by
    more than ``min_delta`` for ``patience`` epochs, never going below ``min_lr``; then wait
    ``cooldown`` epochs before counting again. Adds ``learning_rate`` to each epoch's logs. The
    rate of an optimizer built with a learning-rate schedule is not settable: reducing it raises
    the optimizer's TypeError, as in Keras.

    Parameters
    ----------
    monitor : str, default='val_loss'
        The quantity to monitor, a key of the epoch's logs. An epoch whose logs lack it is
        ignored, with a warning.
    factor : float, default=0.1
        The factor the learning rate is multiplied by: ``new_lr = lr * factor``, below 1.
    patience : int, default=10
        The number of epochs without improvement after which the rate is reduced.
    verbose : int, default=0
        Above 0, print a message at each reduction.
    mode : {'auto', 'min', 'max'}, default='auto'
        The direction of an improvement: 'min' downward, 'max' upward, 'auto' upward for
        accuracy-like names (accuracy, AUC, precision, recall, F1, R2, IoU, cosine similarity; not
        a name ending in ``loss``), downward otherwise. An unknown mode warns and falls back to
        'auto'.
    min_delta : float, default=1e-4
        The smallest change that counts as an improvement.
    cooldown : int, default=0
        The number of epochs to wait after a reduction before counting again.
    min_lr : float, default=0.0
        The lower bound of the learning rate.

    Raises
    ------
    ValueError
        If ``factor`` is 1.0 or more.
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
        """Reset the callback's state for a new ``fit``.

        Parameters
        ----------
        logs : dict, optional
            Empty: the model passes no data to this hook.
        """
        self._reset()

    def _reset(self):
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def in_cooldown(self):
        """Return whether the callback is waiting out its cooldown.

        Returns
        -------
        bool
            True during the ``cooldown`` epochs after a reduction.
        """
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        """Reduce the learning rate if ``monitor`` has stopped improving.

        Adds the current ``learning_rate`` to the epoch's logs.

        Parameters
        ----------
        epoch : int
            The index of the epoch, from 0.
        logs : dict, optional
            The epoch's losses and metrics, ``monitor`` among them; ``learning_rate`` is added.

        Raises
        ------
        TypeError
            If the optimizer's learning rate is a schedule, which cannot be set.
        """
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
    """Save the model or its weights during training.

    Save the model (``model.save(path)``) or its weights (``model.save_weights(path)``) at the end
    of every epoch, or every ``save_freq`` batches when that is an integer.

    ``filepath`` may hold ``{epoch}`` (1-based), ``{batch}`` (1-based, batch saving) and log keys
    with format specs: ``'ckpt-{epoch:02d}-{val_loss:.2f}.keras'``; missing directories are
    created. With ``save_best_only``, the model is saved only when ``monitor`` improves on the best
    value so far, which starts at ``initial_value_threshold`` when given.

    Parameters
    ----------
    filepath : str or path-like
        Where to save, a format string as above.
    monitor : str, default='val_loss'
        The quantity that ``save_best_only`` compares, a key of the logs. When the logs lack it,
        the model is saved anyway, with a warning.
    verbose : int, default=0
        Above 0, print a message at each save (and, with ``save_best_only``, at each epoch that
        does not improve).
    save_best_only : bool, default=False
        Save only when ``monitor`` improves on the best value so far.
    save_weights_only : bool, default=False
        Save the weights only (``model.save_weights``), not the whole model (``model.save``).
    mode : {'auto', 'min', 'max'}, default='auto'
        The direction of an improvement: 'min' downward, 'max' upward, 'auto' upward for
        accuracy-like names (accuracy, AUC, precision, recall, F1, R2, IoU, cosine similarity; not
        a name ending in ``loss``), downward otherwise. An unknown mode warns and falls back to
        'auto'.
    save_freq : 'epoch' or int, default='epoch'
        Save at the end of every epoch, or every ``save_freq`` batches.
    initial_value_threshold : float, optional
        The best value to start from, for ``save_best_only``.

    Raises
    ------
    ValueError
        If ``save_freq`` is neither 'epoch' nor an integer.
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
        """Note the epoch, for the file names of batch saving.

        Parameters
        ----------
        epoch : int
            The index of the epoch, from 0.
        logs : dict, optional
            Empty: the model passes no data to this hook.
        """
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        """Save every ``save_freq`` batches, when that is an integer.

        Parameters
        ----------
        batch : int
            The index of the batch within its epoch, from 0.
        logs : dict, optional
            The loss and metrics aggregated over the epoch's batches so far.

        Raises
        ------
        KeyError
            If ``filepath`` names a key that the logs lack.
        """
        if self._batch_saving_due(batch):
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        """Save at the end of the epoch, when ``save_freq`` is 'epoch'.

        Parameters
        ----------
        epoch : int
            The index of the epoch, from 0.
        logs : dict, optional
            The epoch's losses and metrics, for ``monitor`` and ``filepath``'s keys.

        Raises
        ------
        KeyError
            If ``filepath`` names a key that the logs lack.
        """
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
    """Stop training after a batch whose loss is NaN or infinite.

    The callback sets ``model.stop_training = True``.
    """

    def on_train_batch_end(self, batch, logs=None):
        """Stop training if the batch's loss is NaN or infinite.

        Prints a message and sets ``model.stop_training``.

        Parameters
        ----------
        batch : int
            The index of the batch within its epoch, from 0.
        logs : dict, optional
            The loss and metrics aggregated over the epoch's batches so far, ``loss`` among them.
        """
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of each epoch from a schedule.

    The rate is ``schedule(epoch, lr)`` (epoch from 0, lr the current rate), a float; a
    ``schedule(epoch)`` of Keras' older API is called so when the two-argument call raises
    TypeError. Adds ``learning_rate`` to each epoch's logs.

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch, lr)`` or ``schedule(epoch)``, returning the epoch's learning rate as a
        float.
    verbose : int, default=0
        Above 0, print the rate set at each epoch.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        """Set the epoch's learning rate from ``schedule``.

        Parameters
        ----------
        epoch : int
            The index of the epoch, from 0.
        logs : dict, optional
            Empty: the model passes no data to this hook.

        Raises
        ------
        ValueError
            If the optimizer has no ``learning_rate``, or ``schedule`` returns no float.
        """
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
        """Add the current ``learning_rate`` to the epoch's logs.

        Parameters
        ----------
        epoch : int
            The index of the epoch, from 0.
        logs : dict, optional
            The epoch's losses and metrics; ``learning_rate`` is added.
        """
        logs = {} if logs is None else logs
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class CSVLogger(Callback):
    """Stream each epoch's logs to a CSV file, one row per epoch, as Keras writes it.

    The columns are 'epoch' then the first epoch's log keys sorted (with a ``val_`` twin of each
    when it has no validation keys, 'NA' where a later epoch lacks a key); strings are written as
    they are, iterables as ``'"[a, b]"'``, other values as ``csv`` writes them (str), rows end in
    ``'\\r\\n'``. The file is flushed after each row and closed when training ends.

    Parameters
    ----------
    filename : str or path-like
        The CSV file.
    separator : str, default=','
        The separator of the columns.
    append : bool, default=False
        Add rows to an existing file, its header written only when the file is empty; otherwise
        the file is overwritten at the start of each ``fit``.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        """Open the file: overwrite it, or append to it with ``append``.

        Parameters
        ----------
        logs : dict, optional
            Empty: the model passes no data to this hook.
        """
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not f.readline()
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode)
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        """Write the epoch's row and flush the file.

        The first row also writes the header (unless appending to a non-empty file).

        Parameters
        ----------
        epoch : int
            The index of the epoch, from 0.
        logs : dict, optional
            The epoch's losses and metrics, one column each.
        """
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys.extend([f"val_{key}" for key in self.keys])
        if self.writer is None:
            class Dialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, _csv_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        """Close the file.

        Parameters
        ----------
        logs : dict, optional
            The logs of the last epoch.
        """
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


def _csv_value(value):
    """A log value as Keras' CSVLogger hands it to `csv`: an iterable (but a string or a 0-d
    array) as the text '"[a, b]"', anything else as it is."""
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (
            isinstance(value, np.ndarray) and value.ndim == 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class BackupAndRestore(Callback):
    """Back up the training state so that a fit killed midway can resume.

    Back up the training state at the end of each epoch (or every ``save_freq`` batches when
    that is an integer) into ``backup_dir``, and restore it at the start of the next ``fit`` with
    the same ``backup_dir``, so that a fit killed midway resumes where its last backup was taken.

    A backup is the model saved whole (:meth:`~gru_native.models.Model.save`: weights and
    optimizer state) and a JSON file of metadata: the epoch to resume from, the last batch seen,
    and the state of gru_native's random generator (:func:`gru_native.utils.rng`), so that after a
    resume from an epoch backup shuffling and dropout draw the same numbers as an uninterrupted fit
    would, and the resumed fit ends with the same weights, bit for bit, when it runs the same
    script. The metadata is written last, atomically, and names its model file: a kill at any
    moment leaves the last complete backup in place. Each backup replaces the previous one; with
    ``double_checkpoint``, the previous one is kept as well, and restored when the latest cannot be
    read.

    At ``on_train_begin``, a backup found in ``backup_dir`` is restored (weights, optimizer state,
    random generator state) and ``resumed_epoch`` set to its epoch (None when there is none);
    ``fit`` starts from that epoch (:meth:`CallbackList.resumed_epoch
    <gru_native.callbacks.CallbackList.resumed_epoch>`). As in Keras, a batch backup resumes from
    the start of the epoch it was taken in. When ``fit`` completes, ``on_train_end`` removes
    ``backup_dir`` and everything in it (unless ``delete_checkpoint`` is False); when it is
    interrupted (an exception, Ctrl-C, a kill), the backup stays for the next run.

    ``backup_dir`` belongs to this callback: no other callback nor training run may write there.
    The model restored must be the one backed up, compiled the same way.

    Parameters
    ----------
    backup_dir : str or path-like
        The directory of the backups, created when needed.
    save_freq : 'epoch' or int, default='epoch'
        Back up at the end of every epoch, or every ``save_freq`` batches (a positive integer).
    double_checkpoint : bool, default=False
        Keep the previous backup as well, restored when the latest cannot be read.
    delete_checkpoint : bool, default=True
        Remove ``backup_dir`` when ``fit`` completes.

    Attributes
    ----------
    resumed_epoch : int or None
        The epoch the last ``on_train_begin`` restored a backup of, None when it found none.

    Raises
    ------
    ValueError
        If ``backup_dir`` is empty, or ``save_freq`` is neither 'epoch' nor a positive integer.
    """

    _METADATA = "training_metadata.json"
    _MODEL_FILE = re.compile(r"model-(\d+)\.keras\Z")

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool)
                                     or save_freq < 1):
            raise ValueError("Invalid value for argument `save_freq`. "
                             f"Received: save_freq={save_freq!r}. "
                             "Expected either 'epoch' or a positive integer value.")
        self.backup_dir = os.fspath(backup_dir)
        if not self.backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self.resumed_epoch = None
        self._metadata_path = os.path.join(self.backup_dir, self._METADATA)
        self._prev_metadata_path = f"{self._metadata_path}.bkp"
        self._saves = 0  # backups written so far into this backup_dir: numbers the model files
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0

    # -- restoring ---------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        """Restore the backup found in ``backup_dir``, if any.

        Weights, optimizer state and random generator state, all or nothing; sets
        ``resumed_epoch`` to the backup's epoch (None when there is no backup). A latest
        backup that cannot be read falls back to the previous one (``double_checkpoint``).

        Parameters
        ----------
        logs : dict, optional
            Empty: the model passes no data to this hook.

        Raises
        ------
        ValueError
            If the model is not built (call it on a batch of data before ``fit``), or the
            backup's metadata is invalid.
        OSError
            Or another error of reading a damaged backup, when there is no previous one to
            fall back to.
        """
        self.resumed_epoch = None
        self._saves = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        if not self.model.built:
            raise ValueError("To use the BackupAndRestore callback, your model must be built "
                             f"before you call `fit()`. Model {self.model} is unbuilt. You can "
                             "build it beforehand by calling it on a batch of data.")
        if not os.path.exists(self._metadata_path):
            return
        try:
            metadata = self._restore(self._metadata_path)
        except _UNREADABLE_BACKUP:
            # The latest backup is damaged: fall back to the previous one (double_checkpoint).
            if not os.path.exists(self._prev_metadata_path):
                raise
            with open(self._prev_metadata_path, encoding="utf-8") as f:
                write_text(self._metadata_path, f.read())
            metadata = self._restore(self._metadata_path)
        self.resumed_epoch = self._current_epoch = metadata["epoch"]
        self._saves = metadata["saves"]

    def _restore(self, metadata_path):
        """Put the backup that `metadata_path` describes into the model, the optimizer and the
        random generator, all or nothing; returns its metadata."""
        with open(metadata_path, encoding="utf-8") as f:
            metadata = _checked_metadata(json.load(f))
        generator = utils.rng()
        probe = type(generator.bit_generator)()
        probe.state = metadata["rng_state"]  # a state of another generator type raises here
        model_path = os.path.join(self.backup_dir, metadata["model"])
        before = self.model.get_weights()
        self.model.load_weights(model_path)  # checks the whole file before it changes anything
        try:
            optimizer = self.model.optimizer
            if optimizer is not None:
                with np.load(model_path, allow_pickle=False) as archive:
                    state = {name[len(_OPTIMIZER_PREFIX):]: archive[name]
                             for name in archive.files if name.startswith(_OPTIMIZER_PREFIX)}
                optimizer.set_state(state)  # checks every entry before it changes anything
        except BaseException:
            self.model.set_weights(before)
            raise
        generator.bit_generator.state = probe.state
        return metadata

    # -- backing up --------------------------------------------------------------------------

    def on_epoch_begin(self, epoch, logs=None):
        """Note the epoch, for the batch backups' metadata.

        Parameters
        ----------
        epoch : int
            The index of the epoch, from 0.
        logs : dict, optional
            Empty: the model passes no data to this hook.
        """
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        """Back up, when ``save_freq`` is 'epoch'.

        The backup resumes from the next epoch.

        Parameters
        ----------
        epoch : int
            The index of the epoch, from 0.
        logs : dict, optional
            The epoch's losses and metrics (``{'loss': 0.2, 'val_loss': 0.3}``), the validation
            ones prefixed with ``val_``. What a callback adds to it (the ``learning_rate`` of
            :class:`~gru_native.callbacks.ReduceLROnPlateau`) reaches the callbacks after it.
        """
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._backup()

    def on_train_batch_end(self, batch, logs=None):
        """Back up every ``save_freq`` batches, when that is an integer.

        Such a backup resumes from the start of its epoch.

        Parameters
        ----------
        batch : int
            The index of the batch within its epoch, from 0.
        logs : dict, optional
            The loss and metrics aggregated over the epoch's batches so far.
        """
        if self._should_save_on_batch(batch):
            self._backup()

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        # Batch indices restart at 0 with each epoch.
        if batch <= self._last_batch_seen:
            self._batches_seen_since_last_saving += batch + 1
        else:
            self._batches_seen_since_last_saving += batch - self._last_batch_seen
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _backup(self):
        """Write the model to a new file, then the metadata naming it (atomically: the commit
        point), then remove the model files no metadata names any more."""
        os.makedirs(self.backup_dir, exist_ok=True)
        self._saves += 1
        model_file = f"model-{self._saves}.keras"
        self.model.save(os.path.join(self.backup_dir, model_file))
        if self.double_checkpoint and os.path.exists(self._metadata_path):
            with open(self._metadata_path, encoding="utf-8") as f:
                write_text(self._prev_metadata_path, f.read())
        metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen,
                    "rng_state": utils.rng().bit_generator.state, "model": model_file,
                    "saves": self._saves}
        write_text(self._metadata_path, json.dumps(metadata))
        self._remove_unused_model_files()

    def _remove_unused_model_files(self):
        used = set()
        for path in (self._metadata_path, self._prev_metadata_path):
            try:
                with open(path, encoding="utf-8") as f:
                    used.add(json.load(f).get("model"))
            except (OSError, ValueError, AttributeError):
                continue
        for entry in os.listdir(self.backup_dir):
            if self._MODEL_FILE.match(entry) and entry not in used:
                try:
                    os.unlink(os.path.join(self.backup_dir, entry))
                except OSError:
                    pass

    def on_train_end(self, logs=None):
        """Remove ``backup_dir``, unless ``delete_checkpoint`` is False.

        Called only when ``fit`` completes: an interrupted fit leaves its backup.

        Parameters
        ----------
        logs : dict, optional
            The logs of the last epoch.
        """
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)


# The entries of the optimizer's state in a file `model.save` wrote (models/saving.py).
_OPTIMIZER_PREFIX = "optimizer/"
# What reading a damaged backup raises (a truncated archive: zipfile.BadZipFile, a ValueError).
_UNREADABLE_BACKUP = (OSError, ValueError, TypeError, KeyError, EOFError, zipfile.BadZipFile)


def _checked_metadata(metadata):
    """The metadata of a backup, checked: ValueError naming what is wrong."""
    def count(key):
        value = metadata.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"the backup's metadata needs {key!r} as a non-negative integer, "
                             f"got {value!r:.200}")

    if not isinstance(metadata, dict):
        raise ValueError(f"the backup's metadata must be a JSON object, got "
                         f"{type(metadata).__name__}")
    for key in ("epoch", "batch", "saves"):
        count(key)
    if not isinstance(metadata.get("rng_state"), dict):
        raise ValueError("the backup's metadata needs 'rng_state' as an object")
    model = metadata.get("model")
    if not (isinstance(model, str) and BackupAndRestore._MODEL_FILE.match(model)):
        raise ValueError(f"the backup's metadata names no model file, got {model!r:.200}")
    return metadata
