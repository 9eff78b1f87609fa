"""Sequential: a Keras-style model over layers whose weights share one parameter buffer."""

from __future__ import annotations

import os
import threading
import warnings
from typing import Any, Callable, Iterable, Literal, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .. import callbacks as callbacks_module
from .. import layers as layers_module
from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from .. import utils
from ..kernels.inference import InferencePlan
from .streaming import Stream
from ..callbacks import Callback, History
from ..layers.base import Layer, Shape, allocate, as_shape, unique_name
from ..losses import Loss
from ..optimizers import Optimizer
from .progbar import Progbar

# a file path, as open() takes it
PathLike = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]
# 'auto' (as 1 here), 0 silent, 1 a progress bar, 2 one line per epoch
Verbose = Union[Literal["auto"], int]
# (x_val, y_val) or (x_val, y_val, mask_val)
ValidationData = Union[tuple[ArrayLike, ArrayLike], tuple[ArrayLike, ArrayLike, Optional[ArrayLike]]]
# what evaluate and train_on_batch return: the loss alone, a list (loss, then the metrics) or,
# with return_dict=True, {name: value}
Logs = Union[float, list[float], dict[str, float]]
# a metric name ('mae', 'accuracy', ...), or an object with update_state, result and reset_state
MetricLike = Any


class Sequential:
    """A linear stack of layers, as keras.Sequential: compile, fit, evaluate, predict, summary.

    All weights live in one contiguous buffer and all gradients in another of the same layout,
    so an optimizer step, gradient clipping and saving are each one operation over one array.
    `dtype` is the computing precision of every layer ('float32', or 'float64').
    """

    layers: list[Layer]
    optimizer: Optional[Optimizer]
    loss: Optional[Loss]
    compiled_metrics: list[Any]
    history: Optional[History]
    input_shape: Shape  # with the batch axis (None) first; set by build
    output_shape: Shape

    def __init__(self, layers: Optional[Iterable[Layer]] = None, name: Optional[str] = None,
                 dtype: DTypeLike = "float32") -> None:
        self.name = name if name is not None else unique_name("sequential")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        self.layers = []
        self.built = False
        self.optimizer = self.loss = None
        self.compiled_metrics = []
        self.stop_training = False
        self.history = None
        self._plan = None  # (parameter buffer, inference plan) for predict
        self._last_params = None  # the weights before the current step, to undo a diverged one
        self._diverged = None
        # The layers keep per-call state (caches, scratch): one forward or training step at a
        # time goes through them. Prediction through the inference plan needs no lock.
        self._lock = threading.RLock()
        for layer in layers or []:
            self.add(layer)

    # ---- building ---------------------------------------------------------------------------
    def add(self, layer: Layer) -> None:
        if not isinstance(layer, layers_module.Layer):
            raise TypeError(f"Sequential takes gru_native layers, got {type(layer).__name__}")
        if getattr(layer, "return_state", False):
            raise ValueError(f"layer {layer.name!r} has return_state=True: a Sequential model has "
                             "a single output")
        kept = self.get_weights() if self.built else []
        self.layers.append(layer)
        if self.built or self.layers[0].input_shape_arg is not None:
            input_shape = self.input_shape if self.built else (None,) + self.layers[0].input_shape_arg
            try:
                self.build(input_shape)
            except BaseException:  # a layer that does not fit, or no memory: the model stays as it was
                self.layers.pop()
                raise
            for w, value in zip(self.weights, kept):  # the layers before keep their weights
                w[...] = value

    def build(self, input_shape: Sequence[Optional[int]]) -> None:
        """Build every layer for inputs of `input_shape` (batch axis first, as Keras)."""
        if not self.layers:
            raise ValueError("the model has no layers")
        shape = input_shape = as_shape(tuple(input_shape)[1:], "input_shape")
        for layer in self.layers:
            shape = layer.build(shape)
        # allocate binds the layers to the new buffers only once both exist (MemoryError before)
        self._params, self._grads, self._segments = allocate(self.layers, self.dtype)
        self.input_shape, self.output_shape = (None,) + input_shape, (None,) + shape
        self.built = True
        if self.optimizer is not None:
            self.optimizer.build(self._params, self._segments)

    def _batch_inputs(self, x, mask, check_finite=True) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """x and its optional step mask, checked and converted once per call; the first data
        builds the model."""
        x = self._inputs(x, check_finite)
        mask = self._step_mask(mask, x)
        if not self.built:
            self.build((None,) + x.shape[1:])
        return x, mask

    # ---- compiling --------------------------------------------------------------------------
    def compile(self, optimizer: Union[str, dict[str, Any], Optimizer] = "rmsprop",
                loss: Union[str, dict[str, Any], Loss, None] = None,
                metrics: Optional[Sequence[MetricLike]] = None) -> None:
        # everything is looked up before anything changes: a bad name leaves the model as it was
        optimizer = optimizers_module.get(optimizer)
        loss = None if loss is None else losses_module.get(loss)
        metrics = [metrics_module.get(m, loss=loss) for m in (metrics or [])]
        self.optimizer, self.loss, self.compiled_metrics = optimizer, loss, metrics
        if self.built:
            self.optimizer.build(self._params, self._segments)

    def _check_compiled(self):
        if self.optimizer is None or self.loss is None:
            raise RuntimeError("compile the model with an optimizer and a loss before training "
                               "or evaluating it: model.compile(optimizer='adam', loss='mse')")

    # ---- data -------------------------------------------------------------------------------
    def _inputs(self, x, check_finite=True) -> np.ndarray:
        """x as an array the first layer accepts, converted and checked once per call
        (check_finite=False: the caller checks for NaN and infinity)."""
        try:
            x = np.asarray(x)
        except ValueError:
            raise ValueError("x is ragged (its sequences have different shapes): pad them to one "
                             "length and pass mask=, or use the estimators, which take lists of "
                             "sequences") from None
        if x.size == 0:
            raise ValueError(f"x is empty (shape {x.shape})")
        if getattr(self.layers[0], "integer_inputs", False):
            if x.dtype.kind not in "iu":
                if x.dtype.kind != "f" or not np.array_equal(x, np.round(x)):
                    raise TypeError(f"layer {self.layers[0].name!r} takes integer token ids, got {x.dtype}")
                x = x.astype(np.int64)
        else:
            if x.dtype.kind not in "biuf":
                raise TypeError(f"x must be numeric, got dtype {x.dtype}")
            x = np.ascontiguousarray(x, dtype=self.dtype)
            if check_finite and not np.isfinite(x).all():
                raise ValueError("x contains NaN or infinite values")
        if self.built and (x.ndim != len(self.input_shape) or any(
                want is not None and got != want for got, want in zip(x.shape[1:], self.input_shape[1:]))):
            raise ValueError(f"model {self.name!r} expects inputs of shape {self.input_shape}, "
                             f"got {x.shape}")
        return x

    def _targets(self, y, n) -> np.ndarray:
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise TypeError(f"y must be numeric, got dtype {y.dtype}")
        if len(y) != n:
            raise ValueError(f"x and y hold different numbers of samples: {n} and {len(y)}")
        if y.dtype.kind == "f":
            y = np.ascontiguousarray(y, dtype=self.dtype)
            if not np.isfinite(y).all():
                raise ValueError("y contains NaN or infinite values")
        return y

    @staticmethod
    def _step_mask(mask, x) -> Optional[np.ndarray]:
        """The optional (samples, timesteps) mask of valid steps, checked against x."""
        if mask is None:
            return None
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"mask must be boolean (True marks a valid step), got dtype {mask.dtype}")
        if mask.shape != x.shape[:2]:
            raise ValueError(f"mask must have shape {x.shape[:2]} (samples, timesteps), got {mask.shape}")
        return mask

    @staticmethod
    def _count(value, name, minimum):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        return int(value)

    @staticmethod
    def _verbose(verbose):
        if verbose not in ("auto", 0, 1, 2) or isinstance(verbose, float):
            raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
        return 1 if verbose == "auto" else int(verbose)

    @staticmethod
    def _batch_size(batch_size):
        if batch_size is None:
            return 32
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        return int(batch_size)

    # ---- running ----------------------------------------------------------------------------
    def _forward(self, x, training, mask=None):
        for layer in self.layers:
            x, mask = layer.forward(x, mask, training)
        return x, mask

    def _inference_plan(self):
        """The built model as (InferencePlan, trailing elementwise functions, the plan's ops)
        for predict and stream, or None when a layer has no such form. Made once per parameter buffer: the plan points
        into it, so it sees every weight update."""
        if self._plan is not None and self._plan[0] is self._params:
            return self._plan[1]
        ops = []
        for layer in self.layers:
            layer_ops = layer.inference_ops()
            if layer_ops is None:
                return None
            ops += layer_ops
        n = next((i for i, op in enumerate(ops) if callable(op)), len(ops))
        if n == 0 or ops[0][0] not in ("gru", "lstm") or not all(callable(op) for op in ops[n:]):
            return None  # the plan runs sequences; Python steps only after it
        plan = (InferencePlan(ops[:n], self.dtype), ops[n:], ops[:n])
        self._plan = (self._params, plan)
        return plan

    def _predict_batch(self, x, mask):
        """The model's output for one batch at inference, through the inference plan when the
        model has one and there is no mask."""
        plan = self._inference_plan() if mask is None else None
        if plan is None:
            if not np.isfinite(x).all():
                raise ValueError("x contains NaN or infinite values")
            with self._lock:
                return self._forward(x, training=False, mask=mask)[0]
        y = plan[0].run(x)  # checks x for NaN and infinity
        for f in plan[1]:
            y = f(y)
        return y

    def _fused_with_loss(self):
        """Whether the last layer's activation folds into the loss (stable logits form)."""
        last = self.layers[-1]
        fused = getattr(self.loss, "fused_activation", None)
        act = getattr(last, "activation", None)
        return fused is not None and getattr(act, "name", None) == fused \
            and not getattr(self.loss, "from_logits", False)

    def _loss_weights(self, mask, y_pred):
        """Timestep weights for sequence outputs under a mask, as Keras applies them."""
        if mask is None or y_pred.ndim != 3:
            return None
        return np.asarray(mask, self.dtype)

    def _loss_and_grad(self, y, y_pred, mask):
        weights = self._loss_weights(mask, y_pred)
        if self._fused_with_loss():
            loss, dz = self.loss.value_and_grad_from_logits(y, self.layers[-1]._z, weights)
            return loss, dz, True
        if getattr(self.loss, "from_logits", False):
            loss, dy = self.loss.value_and_grad_from_logits(y, y_pred, weights)
        else:
            loss, dy = self.loss.value_and_grad(y, y_pred, weights)
        return loss, dy, False

    def _backward(self, dy, dy_is_logits):
        dy = np.asarray(dy, self.dtype)
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            layer, need_dx = self.layers[i], i > 0
            if i == last and dy_is_logits:
                dy = layer.backward(dy, need_dx=need_dx, dy_is_logits=True)
            else:
                dy = layer.backward(dy, need_dx=need_dx)

    def _train_step(self, x, y, mask=None):
        """One optimizer step on a batch. A non-finite loss, gradient or updated weight leaves
        the weights as they were before the step and sets self._diverged to what went wrong."""
        with self._lock:
            return self._locked_train_step(x, y, mask)

    def _locked_train_step(self, x, y, mask):
        self._diverged = None
        y_pred, mask = self._forward(x, training=True, mask=mask)
        loss, dy, dy_is_logits = self._loss_and_grad(y, y_pred, mask)
        if not np.isfinite(loss):
            self._diverged = f"the loss is {loss}"
            return float(loss), y_pred, mask
        self._backward(dy, dy_is_logits)
        if not _all_finite(self._grads):
            self._diverged = "a gradient is NaN or infinite"
            return float(loss), y_pred, mask
        if self._last_params is None or self._last_params.shape != self._params.shape:
            self._last_params = np.empty_like(self._params)
        np.copyto(self._last_params, self._params)
        frozen = [(w, w.copy()) for layer in self.layers if not layer.trainable for w in layer.weights]
        step = self.optimizer.iterations
        try:
            self.optimizer.apply(self._params, self._grads)
        except KeyboardInterrupt:
            # Ctrl-C can land between the optimizer's C update (whole or not at all) and its
            # count of steps: keep the count with the weights.
            changed = not np.array_equal(self._params, self._last_params)
            self.optimizer.iterations = step + changed
            raise
        finally:  # also on KeyboardInterrupt: trainable=False layers keep their weights
            for w, value in frozen:
                w[...] = value
        if not _all_finite(self._params):
            np.copyto(self._params, self._last_params)
            self._diverged = "the update made a weight NaN or infinite"
        return float(loss), y_pred, mask

    def _stop_diverged(self, where):
        warnings.warn(f"training diverged at {where}: {self._diverged}; training stops, and the "
                      "model keeps the weights of its last finite step (lower the learning rate, "
                      "or clip gradients with clipnorm)", RuntimeWarning, stacklevel=3)
        self.stop_training = True

    def _update_metrics(self, y, y_pred, mask):
        weights = self._loss_weights(mask, y_pred)
        for m in self.compiled_metrics:
            m.update_state(y, y_pred, weights)

    def _metric_logs(self, loss_sum, count):
        logs = {"loss": loss_sum / count}
        for m in self.compiled_metrics:
            logs[m.name] = float(m.result())
        return logs

    # ---- public API -------------------------------------------------------------------------
    def fit(self, x: Optional[ArrayLike] = None, y: Optional[ArrayLike] = None,
            batch_size: Optional[int] = None, epochs: int = 1, verbose: Verbose = "auto",
            callbacks: Optional[Iterable[Callback]] = None, validation_split: float = 0.0,
            validation_data: Optional[ValidationData] = None, shuffle: bool = True,
            initial_epoch: int = 0, mask: Optional[ArrayLike] = None) -> History:
        """As keras.Model.fit. `mask` (gru_native's addition, like the mask argument of a Keras
        call): a boolean (samples, timesteps) array, True where a step is valid."""
        self._check_compiled()
        epochs = self._count(epochs, "epochs", 1)
        initial_epoch = self._count(initial_epoch, "initial_epoch", 0)
        verbose = self._verbose(verbose)
        x, mask = self._batch_inputs(x, mask)
        y = self._targets(y, len(x))
        batch_size = self._batch_size(batch_size)
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        if validation_data is not None:
            if len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, mask_val)")
            x_val = self._inputs(validation_data[0])
            y_val = self._targets(validation_data[1], len(x_val))
            m_val = self._step_mask(validation_data[2], x_val) if len(validation_data) == 3 else None
        elif validation_split:
            split = int(len(x) * (1 - validation_split))  # the last samples, as Keras
            if split == 0 or split == len(x):
                raise ValueError(f"validation_split={validation_split} leaves no training or "
                                 f"no validation samples out of {len(x)}")
            x, x_val, y, y_val = x[:split], x[split:], y[:split], y[split:]
            mask, m_val = (None, None) if mask is None else (mask[:split], mask[split:])
        else:
            x_val = y_val = m_val = None
        n = len(x)
        steps = -(-n // batch_size)

        self.history = callbacks_module.History()
        cbs = callbacks_module.CallbackList(list(callbacks or []) + [self.history])
        cbs.set_model(self)
        cbs.set_params({"verbose": verbose, "epochs": epochs, "steps": steps})
        self.stop_training = False
        cbs.on_train_begin()
        rng = utils.rng()
        logs = {}
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
            bar = Progbar(steps, verbose=verbose) if verbose else None
            order = rng.permutation(n) if shuffle else None
            for m in self.compiled_metrics:
                m.reset_state()
            loss_sum = count = 0
            for step in range(steps):
                cbs.on_train_batch_begin(step)
                if order is None:
                    idx = slice(step * batch_size, (step + 1) * batch_size)
                else:
                    idx = order[step * batch_size:(step + 1) * batch_size]
                xb, yb = x[idx], y[idx]
                loss, y_pred, out_mask = self._train_step(xb, yb, None if mask is None else mask[idx])
                if self._diverged:
                    self._stop_diverged(f"epoch {epoch + 1}, batch {step + 1}")
                self._update_metrics(yb, y_pred, out_mask)
                loss_sum += loss * len(xb)
                count += len(xb)
                logs = self._metric_logs(loss_sum, count)
                cbs.on_train_batch_end(step, logs)
                if bar is not None:
                    bar.update(step + 1, list(logs.items()), finalize=False)
                if self.stop_training:
                    break
            if x_val is not None:
                val_logs = self._evaluate_arrays(x_val, y_val, batch_size, m_val)
                logs.update({"val_" + k: v for k, v in val_logs.items()})
            if bar is not None:
                bar.update(step + 1, list(logs.items()), finalize=True)
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        return self.history

    def _evaluate_arrays(self, x, y, batch_size, mask=None):
        for m in self.compiled_metrics:
            m.reset_state()
        loss_sum = count = 0
        for start in range(0, len(x), batch_size):
            sl = slice(start, start + batch_size)
            xb, yb = x[sl], y[sl]
            with self._lock:
                y_pred, out_mask = self._forward(xb, training=False, mask=None if mask is None else mask[sl])
            loss, _, _ = self._loss_and_grad(yb, y_pred, out_mask)
            self._update_metrics(yb, y_pred, out_mask)
            loss_sum += loss * len(xb)
            count += len(xb)
        return self._metric_logs(loss_sum, count)

    def evaluate(self, x: Optional[ArrayLike] = None, y: Optional[ArrayLike] = None,
                 batch_size: Optional[int] = None, verbose: Verbose = "auto",
                 return_dict: bool = False, mask: Optional[ArrayLike] = None) -> Logs:
        self._check_compiled()
        x, mask = self._batch_inputs(x, mask)
        y = self._targets(y, len(x))
        logs = self._evaluate_arrays(x, y, self._batch_size(batch_size), mask)
        if self._verbose(verbose) and verbose != "auto":
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return _as_returned(logs, return_dict)

    def predict(self, x: ArrayLike, batch_size: Optional[int] = None, verbose: Verbose = "auto",
                mask: Optional[ArrayLike] = None) -> np.ndarray:
        self._verbose(verbose)
        x, mask = self._batch_inputs(x, mask, check_finite=False)
        batch_size = self._batch_size(batch_size)
        if len(x) <= batch_size:
            return self._predict_batch(x, mask)
        return np.concatenate([
            self._predict_batch(x[s:s + batch_size], None if mask is None else mask[s:s + batch_size])
            for s in range(0, len(x), batch_size)])

    def train_on_batch(self, x: ArrayLike, y: ArrayLike, return_dict: bool = False,
                       mask: Optional[ArrayLike] = None) -> Logs:
        self._check_compiled()
        x, mask = self._batch_inputs(x, mask)
        y = self._targets(y, len(x))
        for m in self.compiled_metrics:
            m.reset_state()
        loss, y_pred, mask = self._train_step(x, y, mask)
        if self._diverged:
            self._stop_diverged("this batch")
        self._update_metrics(y, y_pred, mask)
        logs = self._metric_logs(loss, 1)
        return _as_returned(logs, return_dict)

    def test_on_batch(self, x: ArrayLike, y: ArrayLike, return_dict: bool = False) -> Logs:
        return self.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=return_dict)

    def predict_on_batch(self, x: ArrayLike, mask: Optional[ArrayLike] = None) -> np.ndarray:
        x, mask = self._batch_inputs(x, mask, check_finite=False)
        return self._predict_batch(x, mask)

    def stream(self, batch_size: int = 1) -> Stream:
        """A Stream over this model: `step(x_t)` takes one timestep (batch_size, features) and
        returns the model's output for it, keeping every GRU's and LSTM's state between calls;
        `reset()` starts again from zeros. The stream sees later weight updates."""
        if not self.built:
            raise ValueError("build the model (give input_shape, or fit/predict once) before stream")
        return Stream(self, self._count(batch_size, "batch_size", 1))

    def reset_states(self) -> None:
        for layer in self.layers:
            if hasattr(layer, "reset_states"):
                layer.reset_states()

    # ---- weights ----------------------------------------------------------------------------
    @property
    def weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.weights]

    def get_weights(self) -> list[np.ndarray]:
        return [w.copy() for w in self.weights]

    def set_weights(self, weights: Iterable[ArrayLike]) -> None:
        weights = list(weights)
        if not self.built:
            raise ValueError("build the model (give input_shape, or fit/predict once) before set_weights")
        if len(weights) != len(self.weights):
            raise ValueError(f"model {self.name!r} has {len(self.weights)} weights, got {len(weights)}")
        start = 0
        for layer in self.layers:
            k = len(layer.weights)
            layer.set_weights(weights[start:start + k])
            start += k

    def count_params(self) -> int:
        if not self.built:
            raise ValueError("the model is not built yet: give the first layer an input_shape")
        return int(self._params.size)

    def summary(self, print_fn: Optional[Callable[[str], Any]] = None) -> None:
        print_fn = print if print_fn is None else print_fn
        rows = [(f"{layer.name} ({type(layer).__name__})",
                 str((None,) + tuple(layer.output_shape)) if layer.built else "?",
                 f"{layer.count_params():,}" if layer.built else "0 (unbuilt)")
                for layer in self.layers]
        widths = [max(31, *(len(r[0]) + 2 for r in rows)), max(22, *(len(r[1]) + 2 for r in rows)), 13]

        def line(left, mid, right, fill):
            return left + mid.join(fill * (w + 2) for w in widths) + right

        def row(cells, heavy=False):
            bar = "┃" if heavy else "│"
            a, b, c = cells
            return (f"{bar} {a:<{widths[0]}} {bar} {b:<{widths[1]}} {bar} {c:>{widths[2]}} {bar}")

        out = [f'Model: "{self.name}"', line("┏", "┳", "┓", "━"),
               row(("Layer (type)", "Output Shape", "Param #"), heavy=True), line("┡", "╇", "┩", "━")]
        for i, r in enumerate(rows):
            out.append(row(r))
            out.append(line("├", "┼", "┤", "─") if i < len(rows) - 1 else line("└", "┴", "┘", "─"))
        total = self.count_params() if self.built else 0
        frozen = sum(layer.count_params() for layer in self.layers if layer.built and not layer.trainable)
        item = self.dtype.itemsize
        out += [f" Total params: {total:,} ({_human_bytes(total * item)})",
                f" Trainable params: {total - frozen:,} ({_human_bytes((total - frozen) * item)})",
                f" Non-trainable params: {frozen:,} ({_human_bytes(frozen * item)})"]
        for text in out:
            print_fn(text)

    # ---- saving -----------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name, "dtype": self.dtype.name,
                  "layers": [layers_module.serialize(layer) for layer in self.layers]}
        if self.built:
            config["build_input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        model = cls([layers_module.deserialize(c) for c in config["layers"]],
                    name=config["name"], dtype=config["dtype"])
        if not model.built and "build_input_shape" in config:
            model.build(tuple(config["build_input_shape"]))
        return model

    def save(self, filepath: PathLike) -> None:
        from .saving import save_model
        save_model(self, filepath)

    def save_weights(self, filepath: PathLike) -> None:
        from .saving import save_weights
        save_weights(self, filepath)

    def load_weights(self, filepath: PathLike) -> None:
        from .saving import load_weights
        load_weights(self, filepath)

    def export(self, filepath: PathLike, format: str = "onnx") -> None:
        """Write the model for other runtimes: format 'onnx' (gru_native/onnx_export.py)."""
        if format != "onnx":
            raise ValueError(f"unknown export format {format!r}; known: 'onnx'")
        from .onnx_export import export_onnx
        export_onnx(self, filepath)

    def __getstate__(self):
        from .saving import model_to_arrays
        return model_to_arrays(self)

    def __setstate__(self, state):
        from .saving import model_from_arrays
        self.__dict__.update(model_from_arrays(state).__dict__)


def _as_returned(logs, return_dict):
    """Keras' return value of evaluate and train_on_batch: the logs, the loss alone, or a list."""
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _human_bytes(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024


def _all_finite(a):
    """Whether `a` holds no NaN or infinity: one sum (they propagate into it), and an exact check
    only when the sum itself overflowed."""
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(a.sum())) or bool(np.isfinite(a).all())
