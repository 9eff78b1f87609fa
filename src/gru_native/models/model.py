"""Model: the engine for any directed acyclic graph of layer calls, as keras.Model built with
the functional API (Sequential is its simplest case: a chain).

All weights of a model live in one contiguous buffer and all gradients in another of the same
layout (`model.parameters`), so an optimizer step, gradient clipping and saving are each one
operation over one array. A layer called twice shares its weights (one copy in the buffer) and
the gradients of its calls add; a tensor read by several layers gets the sum of their gradients.
Prediction of a graph of layers with C ops (GRU, LSTM, Dense, merges, RepeatVector, ...) runs
as one call into C (the inference plan); other graphs (masks, stateful layers, Embedding) run
node by node, declared by `inference_plan()` returning None.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import threading
import warnings
from typing import Any, Callable, Iterable, Literal, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .. import callbacks as callbacks_module
from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from .. import utils
from ..validation import all_finite, c_array, check_bool, check_choice, check_int, check_real
from ..callbacks import Callback, History
from ..distributed import DataParallel, is_dask_collection, predict_lazily
from ..kernels.inference import PRECISIONS
from ..layers import KerasTensor, Layer
from ..layers.base import Parameters, allocate, allocations, unique_name
from ..losses import Loss
from ..optimizers import Optimizer
from . import saving, summary
from .batches import ArrayBatches, dataset_batches, is_dataset, read_in_batches, sliced
from .sample_weights import check_sample_weight, class_sample_weights, loss_weights, metric_weights
from .saving import PathLike
from .graph import Graph, flatten_tensors, unique_names
from .onnx_export import export_onnx
from .calibration import calibration_factors, checked_calibration
from .plan import build_plan, why_no_plan
from .progbar import Progbar
from .streaming import Stream

# 'auto' (as 1 here), 0 silent, 1 a progress bar, 2 one line per epoch
Verbose = Union[Literal["auto"], int]
# (x_val, y_val), (x_val, y_val, sample_weight_val) or (x_val, y_val, sample_weight_val, mask_val)
ValidationData = Union[tuple[Any, Any], tuple[Any, Any, Any], tuple[Any, Any, Any, Any]]
# what evaluate and train_on_batch return: the loss alone, a list (loss, then the metrics) or,
# with return_dict=True, {name: value}
Logs = Union[float, list[float], dict[str, float]]
# a metric name ('mae', 'accuracy', ...), or an object with update_state, result and reset_state
MetricLike = Any
# x or y: one array, a list in input (output) order, or a dict by input (output layer) name
Data = Union[ArrayLike, Sequence[ArrayLike], dict[str, ArrayLike]]
# what predict returns: one array, or a list / dict as the model's outputs were given
Outputs = Union[np.ndarray, list[np.ndarray], dict[str, np.ndarray]]
# fit keeps at most this many of its training samples (and bytes of them) to calibrate int8
# inference on, when it is first used
CALIBRATION_SAMPLES = 512
CALIBRATION_BYTES = 16 << 20


class Model:
    """The graph of layer calls from `inputs` to `outputs`, as keras.Model's functional API.

    ``Model(inputs, outputs, name=None)``, with Keras' compile, fit, evaluate, predict, summary
    and save. All weights live in one contiguous buffer and all gradients in another
    (`parameters`); a layer called twice keeps one copy of its weights.

    Parameters
    ----------
    inputs : KerasTensor, list or dict of KerasTensor, optional
        The Input tensors (`gru_native.Input`): one, a list or a dict.
    outputs : KerasTensor, list or dict of KerasTensor, optional
        The output tensors, computed from `inputs` by layer calls: one, a list or a dict.
    name : str, optional
        The model's name; by default a unique one ('functional', 'functional_1', ...).
    dtype : {'float32', 'float64'}, default='float32'
        The computing precision of every layer.

    Raises
    ------
    ValueError
        For a dtype other than float32 or float64, or only one of `inputs` and `outputs`.

    Examples
    --------
    A GRU read by two heads, a value and a class, trained together:

    >>> import numpy as np
    >>> from gru_native import Input, Model
    >>> from gru_native.layers import GRU, Dense
    >>> from gru_native.utils import set_random_seed
    >>> set_random_seed(0)
    >>> x = np.random.default_rng(0).normal(size=(32, 10, 3)).astype("float32")
    >>> y_value = x[:, :, 0].mean(axis=1, keepdims=True)
    >>> y_kind = x[:, -1, :].argmax(axis=1)
    >>> inputs = Input(shape=(10, 3))
    >>> hidden = GRU(8)(inputs)
    >>> value = Dense(1, name="value")(hidden)
    >>> kind = Dense(3, activation="softmax", name="kind")(hidden)
    >>> model = Model(inputs, [value, kind])
    >>> model.output_shape
    [(None, 1), (None, 3)]
    >>> model.compile(optimizer="adam", loss=["mse", "sparse_categorical_crossentropy"])
    >>> history = model.fit(x, [y_value, y_kind], epochs=2, batch_size=16, verbose=0)
    >>> sorted(history.history)
    ['kind_loss', 'loss', 'value_loss']
    >>> [p.shape for p in model.predict(x, verbose=0)]
    [(32, 1), (32, 3)]
    """

    optimizer: Optional[Optimizer]
    history: Optional[History]
    show_connections = True  # summary's "Connected to" column (a Sequential's is implied)
    onnx_names = None  # (input, output) names of an exported file; None: the layers' names

    def __init__(self, inputs: Any = None, outputs: Any = None, name: Optional[str] = None,
                 dtype: DTypeLike = "float32") -> None:
        self.name = name if name is not None else unique_name(self._default_name())
        self.dtype = np.dtype(dtype).newbyteorder("=")  # a precision: '>f4' computes in float32
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        self.built = False
        self._weighted: list[Layer] = []  # the layers with weights, once built
        self.parameters: Optional[Parameters] = None
        self.optimizer = None
        self.distribute = None  # a DataParallel: fit trains together with the other ranks
        self.losses: list[Optional[Loss]] = []
        self.loss_weights: list[float] = []
        self.output_metrics: list[list[Any]] = []  # per output
        self.output_weighted_metrics: list[list[Any]] = []  # per output, given sample weights
        self.stop_training = False
        self.history = None
        self._plans = {}  # precision: (parameter buffer, inference plan), for predict and stream
        self._calibration = None  # (parameter buffer, int8 error feedback factors per plan op)
        self._calibration_samples = None  # (parameter buffer, fit's inputs to calibrate on)
        self._checked_targets: set = set()  # (loss id, y.shape[1:], y.dtype) checked
        self._last_params = None  # the weights before the current step, to undo a diverged one
        self._diverged = None
        # The layers keep per-call state (caches, scratch): one forward or training step at a
        # time goes through them. Prediction through the inference plan needs no lock.
        self._lock = threading.RLock()
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("a functional Model needs both inputs and outputs")
            self._set_graph(inputs, outputs)

    def _default_name(self) -> str:
        return "functional"

    # ---- the graph ------------------------------------------------------------------------
    def _set_graph(self, inputs, outputs) -> None:
        """Take the graph from `inputs` to `outputs` and give its layers one parameter buffer.
        Layers that already hold weights keep their values; when every layer with weights is
        already in one buffer (a sub-model of a built model, the encoder of a trained seq2seq
        model), the model shares that buffer, as Keras models share their layers' variables."""
        input_list, self._input_keys = flatten_tensors(inputs, "inputs")
        output_list, self._output_keys = flatten_tensors(outputs, "outputs")
        self.graph = Graph(input_list, output_list)
        self._all_layers = self.graph.layers()
        self._weighted = [layer for layer in self._all_layers if layer.weight_specs()]
        self._integer = self.graph.integer_inputs()
        self._input_names = self._input_keys or [t.layer.name for t in self.graph.inputs]
        self._output_names = self._output_keys or unique_names(
            [t.layer.name for t in self.graph.outputs])
        # an input of fully known shape accepts an array of exactly that shape as it is
        self._exact_shapes = [t.shape[1:] if None not in t.shape[1:] else None
                              for t in self.graph.inputs]
        self._bind_parameters()
        self.built = True  # last: a thread that sees it finds the weights bound (see _inputs)

    def _bind_parameters(self) -> None:
        """Put the layers' weights in one buffer: the one they already share, or a new one
        that keeps their values. A layer later taken into another model's new buffer moves
        there (its values kept); this model then takes its layers' buffer again, and its
        optimizer keeps each weight's state."""
        kept = self._optimizer_state_by_weight()
        self._allocations = allocations()  # no layer moved to another buffer since this count
        shared = _shared_parameters(self._weighted)
        if shared is None:
            _check_addressable(self._weighted, self.dtype)
        self.parameters = shared if shared is not None else allocate(
            self._weighted, self.dtype, keep=True)
        self._offsets = self._weight_offsets()
        # a buffer shared with another model also holds weights this model does not train:
        # their gradients stay zero and an update (weight decay included) leaves them as they were
        self._outside = None
        if sum(w.size for w in self.weights) != self.parameters.params.size:
            self._outside = np.ones(self.parameters.params.size, bool)
            for offset, w in zip(self._offsets, self.weights):
                self._outside[offset:offset + w.size] = False
        # one caller per node: the layer for its first node, a twin (same weights, own caches)
        # for each further call
        seen: set[int] = set()
        self._callers = {}
        for node in self.graph.nodes:
            caller = node.layer.twin() if id(node.layer) in seen else node.layer
            self._callers[node.id] = caller.with_options(node.options) if node.options else caller
            seen.add(id(node.layer))
        if self.optimizer is not None:
            self.optimizer.build(self.parameters.params, self.parameters.segments)
            if kept is not None:
                self._restore_optimizer_state(kept)

    def _weight_offsets(self) -> list[int]:
        """Where each of the model's weights starts in its parameter buffer."""
        start = self.parameters.params.ctypes.data
        return [(w.ctypes.data - start) // w.itemsize for w in self.weights]

    def _optimizer_state_by_weight(self):
        """The optimizer's state cut per weight (before the weights move to another buffer),
        or None when there is none."""
        if self.optimizer is None or not self.optimizer.built or self.parameters is None:
            return None
        state = self.optimizer.get_state()
        sizes = [w.size for w in self.weights]
        slots = {name: [a[o:o + n].copy() for o, n in zip(self._offsets, sizes)]
                 for name, a in state.items() if name not in ("iterations", "learning_rate")}
        return state["iterations"], state["learning_rate"], slots

    def _restore_optimizer_state(self, kept) -> None:
        iterations, learning_rate, slots = kept
        state = {"iterations": iterations, "learning_rate": learning_rate}
        for name, parts in slots.items():
            a = np.zeros(self.parameters.params.size, self.dtype)
            for offset, part in zip(self._offsets, parts):
                a[offset:offset + part.size] = part
            state[name] = a
        self.optimizer.set_state(state)

    def _check_parameters(self) -> None:
        if self._allocations != allocations() and any(
                layer.parameters is not self.parameters for layer in self._weighted):
            self._bind_parameters()
        self._allocations = allocations()

    @property
    def inputs(self) -> list[KerasTensor]:
        """The model's input tensors, as a list in input order."""
        return list(self.graph.inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        """The model's output tensors, as a list in output order."""
        return list(self.graph.outputs)

    @property
    def input(self) -> Any:
        """The input tensors as given: one tensor, a list or a dict by name."""
        return _structured(self.graph.inputs, self._input_keys)

    @property
    def output(self) -> Any:
        """The output tensors as given: one tensor, a list or a dict by name."""
        return _structured(self.graph.outputs, self._output_keys)

    @property
    def layers(self) -> list[Layer]:
        """The model's layers in run order (empty until the model is built)."""
        return list(self._all_layers) if self.built else []

    @property
    def input_shape(self) -> Any:
        """The input shape, batch axis first (None); a list of them for several inputs."""
        shapes = [t.shape for t in self.graph.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        """The output shape, batch axis first (None); a list of them for several outputs."""
        shapes = [t.shape for t in self.graph.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def input_names(self) -> list[str]:
        """The inputs' names: the keys of an inputs dict, else the Input layers' names."""
        return list(self._input_names)

    @property
    def output_names(self) -> list[str]:
        """The outputs' names: the keys of an outputs dict, else the output layers' names."""
        return list(self._output_names)

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None) -> Layer:
        """Return a layer of the model by name or by index, as keras.Model.get_layer.

        Parameters
        ----------
        name : str, optional
            The layer's name.
        index : int, optional
            The layer's position in `layers`; when given, `name` is not looked at.

        Returns
        -------
        Layer
            The layer.

        Raises
        ------
        ValueError
            If no layer has that name (the message lists the layers' names).
        """
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r} in model {self.name!r}; its layers: "
                         f"{[layer.name for layer in self.layers]}")

    # ---- compiling --------------------------------------------------------------------------
    def compile(self, optimizer: Union[str, dict[str, Any], Optimizer] = "rmsprop",
                loss: Any = None, loss_weights: Any = None,
                metrics: Optional[Any] = None, weighted_metrics: Optional[Any] = None,
                distribute: Optional[DataParallel] = None) -> None:
        """Set the optimizer, losses and metrics for training, as keras.Model.compile.

        Everything is looked up before anything changes: a bad name leaves the model as it was.

        Parameters
        ----------
        optimizer : str, dict or Optimizer, default='rmsprop'
            An optimizer name ('sgd', 'adam', 'adamw', 'rmsprop'), a config dict or an
            `Optimizer` (`gru_native.optimizers`).
        loss : str, Loss, list or dict, optional
            One loss for every output, or one per output (a list in output order or a dict by
            output name; None leaves an output out of the loss).
        loss_weights : list or dict of float, optional
            A weight per output's loss (a list or a dict, as `loss`); by default 1 each.
        metrics : list, list of lists or dict, optional
            Metric names or objects: a list (one output), or a list of lists / a dict per
            output.
        weighted_metrics : list, list of lists or dict, optional
            As `metrics`, computed with the sample (or class) weights.
        distribute : DataParallel, optional
            A `gru_native.distributed.DataParallel`, to train over MPI ranks.

        Raises
        ------
        TypeError
            If `distribute` is not a DataParallel.
        ValueError
            For an unknown optimizer, loss or metric name, or losses, weights or metrics that do
            not match the outputs.
        """
        if distribute is not None and not isinstance(distribute, DataParallel):
            raise TypeError("distribute must be a gru_native.distributed.DataParallel, got "
                            f"{type(distribute).__name__}")
        # everything is looked up before anything changes: a bad name leaves the model as it was
        optimizer = optimizers_module.get(optimizer)
        n = len(self.graph.outputs) if self.built else 1
        names = self.output_names if self.built else ["output"]
        per_output = self._per_output(loss, n, names, "loss", broadcast=True)
        losses = [None if item is None else losses_module.get(item) for item in per_output]
        weights = [1.0] * n if loss_weights is None else [
            float(w) for w in self._per_output(loss_weights, n, names, "loss_weights")]
        output_metrics = self._metric_lists(metrics, n, names, losses, "metrics")
        weighted = self._metric_lists(weighted_metrics, n, names, losses, "weighted_metrics")
        self.optimizer, self.losses, self.loss_weights = optimizer, losses, weights
        self.output_metrics, self.output_weighted_metrics = output_metrics, weighted
        self.distribute = distribute
        self._checked_targets.clear()
        if self.built:
            self.optimizer.build(self.parameters.params, self.parameters.segments)

    def _metric_lists(self, metrics, n, names, losses, what) -> list[list[Any]]:
        """The metric objects of each output, from compile's `metrics` or `weighted_metrics`."""
        if metrics is None:
            metric_lists = [[] for _ in range(n)]
        elif n == 1 and isinstance(metrics, (list, tuple)) and not any(
                isinstance(m, (list, tuple)) for m in metrics):
            metric_lists = [list(metrics)]
        else:
            metric_lists = [[] if m is None else (list(m) if isinstance(m, (list, tuple)) else [m])
                            for m in self._per_output(metrics, n, names, what)]
        return [[metrics_module.get(m if isinstance(m, str) or i == 0 else copy.deepcopy(m),
                                    loss=loss_i) for m in ms]
                for i, (ms, loss_i) in enumerate(zip(metric_lists, losses))]

    @staticmethod
    def _per_output(value, n, names, what, broadcast=False) -> list:
        """`value` as one entry per output: from a dict by output name, a list in output order,
        or (broadcast) the same for every output."""
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(names))
            if unknown:
                raise ValueError(f"{what} names unknown outputs {unknown}; the outputs are {names}")
            return [value.get(name) for name in names]
        if isinstance(value, (list, tuple)):
            if len(value) != n:
                raise ValueError(f"{what} must have one entry per output ({n}: {names}), got "
                                 f"{len(value)}")
            return list(value)
        if broadcast or n == 1:
            return [value] * n
        raise ValueError(f"{what} for a model with {n} outputs must be a list or a dict by "
                         f"output name ({names})")

    @property
    def loss(self) -> Any:
        """The compiled loss: one Loss for a single output, else the list per output."""
        return self.losses[0] if len(self.losses) == 1 else self.losses

    @property
    def compiled_metrics(self) -> list[Any]:
        """Every compiled metric object: each output's metrics, then its weighted metrics."""
        return [m for ms in self.output_metrics + self.output_weighted_metrics for m in ms]

    def _check_compiled(self):
        if self.optimizer is None or not any(loss is not None for loss in self.losses):
            raise RuntimeError("compile the model with an optimizer and a loss before training "
                               "or evaluating it: model.compile(optimizer='adam', loss='mse')")

    # ---- data -------------------------------------------------------------------------------
    def _as_list(self, data, names, what) -> list:
        """x or y as a list in input (output) order."""
        n = len(names)
        if n == 1 and type(data) is np.ndarray:
            return [data]
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(names))
            if unknown:
                raise ValueError(f"{what} names unknown {'inputs' if what == 'x' else 'outputs'} "
                                 f"{unknown}; model {self.name!r} has {names}")
            missing = [name for name in names if name not in data]
            if missing:
                raise ValueError(f"{what} has no data for {missing} of model {self.name!r} "
                                 f"(it has {names})")
            return [data[name] for name in names]
        if isinstance(data, (list, tuple)) and n > 1:
            if len(data) != n:
                raise ValueError(f"model {self.name!r} has {n} {'inputs' if what == 'x' else 'outputs'} "
                                 f"{names}, but {what} holds {len(data)} arrays")
            return list(data)
        if n > 1:
            raise ValueError(f"model {self.name!r} has {n} {'inputs' if what == 'x' else 'outputs'} "
                             f"{names}: give {what} as a list or a dict by name")
        if isinstance(data, (list, tuple)) and len(data) == 1 and isinstance(data[0], np.ndarray):
            return [data[0]]
        return [data]

    def _inputs(self, x, check_finite=True) -> list[np.ndarray]:
        """x as one array per input, converted and checked once per call (check_finite=False:
        the caller checks for NaN and infinity)."""
        if not self.built:
            with self._lock:  # concurrent first calls: one builds, the others use its weights
                if not self.built:
                    x = self._build_from_data(x)
        self._check_parameters()
        arrays = [self._input_array(i, a, check_finite)
                  for i, a in enumerate(self._as_list(x, self._input_names, "x"))]
        if len({len(a) for a in arrays}) > 1:
            raise ValueError(f"the inputs hold different numbers of samples: "
                             f"{[len(a) for a in arrays]}")
        return arrays

    def _build_from_data(self, x):
        """Sequential builds from its first data; a functional model is built from the start."""
        return x

    def _input_array(self, i, x, check_finite) -> np.ndarray:
        """Input i's array, converted and checked."""
        if type(x) is np.ndarray and x.dtype == self.dtype and x.flags.c_contiguous \
                and x.flags.aligned and x.shape[1:] == self._exact_shapes[i] and len(x) and not self._integer[i]:
            if check_finite and not np.isfinite(x).all():  # as it is: the common case, fast
                raise ValueError("x contains NaN or infinite values")
            return x
        tensor, integer = self.graph.inputs[i], self._integer[i]
        name = tensor.layer.name
        try:
            x = np.asarray(x)
        except ValueError:
            raise ValueError("x is ragged (its sequences have different shapes): pad them to one "
                             "length and pass mask=, or use the estimators, which take lists of "
                             "sequences") from None
        if x.size == 0:
            raise ValueError(f"x is empty (shape {x.shape})")
        if integer:
            if x.dtype.kind not in "iu":
                if x.dtype.kind != "f" or not np.array_equal(x, np.round(x)):
                    raise TypeError(f"input {name!r} takes integer token ids, got {x.dtype}")
                x = x.astype(np.int64)
        else:
            if x.dtype.kind not in "biuf":
                raise TypeError(f"x must be numeric, got dtype {x.dtype}")
            x = c_array(x, self.dtype)
            if check_finite and not np.isfinite(x).all():
                raise ValueError("x contains NaN or infinite values")
        want = tensor.shape
        if x.ndim != len(want) or any(w is not None and g != w for g, w in zip(x.shape[1:], want[1:])):
            raise ValueError(f"model {self.name!r} expects input {name!r} of shape {want}, got "
                             f"{x.shape}" if len(self.graph.inputs) > 1 else
                             f"model {self.name!r} expects inputs of shape {want}, got {x.shape}")
        return x

    def _targets(self, y, n) -> list[np.ndarray]:
        if y is None:
            raise ValueError("y is needed to train or evaluate")
        out = []
        for a in self._as_list(y, self._output_names, "y"):
            a = np.asarray(a)
            if a.dtype.kind not in "biuf":
                raise TypeError(f"y must be numeric, got dtype {a.dtype}")
            if len(a) != n:
                raise ValueError(f"x and y hold different numbers of samples: {n} and {len(a)}")
            if a.dtype.kind == "f":
                a = np.ascontiguousarray(a, dtype=self.dtype)
                if not np.isfinite(a).all():
                    raise ValueError("y contains NaN or infinite values")
            out.append(a)
        self._check_target_shapes(out)
        return out

    def _check_target_shapes(self, ys) -> None:
        """Each loss checks its targets against the shape of the predictions they will meet (a
        length the graph leaves open taken from the targets) before any step runs: a bad y then
        changes nothing, not even a stateful layer's states. A loss that checks shapes alone
        passes the kinds of targets it passed before (a dataset's every batch) unchecked."""
        for y, loss, tensor in zip(ys, self.losses, self.graph.outputs):
            if loss is None:
                continue
            kind = (id(loss), y.shape[1:], y.dtype.str)
            if kind in self._checked_targets and not loss.checks_target_values:
                continue
            shape = (len(y),) + tuple(
                d if d is not None else (y.shape[axis] if axis < y.ndim else 1)
                for axis, d in enumerate(tensor.shape[1:], start=1))
            loss.check_targets(y, shape, self.dtype)
            if len(self._checked_targets) > 64:  # a bound on what varying lengths add
                self._checked_targets.clear()
            self._checked_targets.add(kind)

    def _sample_weights(self, sample_weight, class_weight, ys) -> list[Optional[np.ndarray]]:
        """One weight array (or None) per output: `sample_weight` (one array for every output,
        or a list / dict by output name) or the weights of `class_weight` for y's classes."""
        if sample_weight is None and class_weight is None:
            return [None] * len(ys)
        n = len(ys[0])
        shapes = [(n,) + tuple(d if d is not None else (y.shape[axis] if axis < y.ndim else 1)
                               for axis, d in enumerate(tensor.shape[1:], start=1))
                  for y, tensor in zip(ys, self.graph.outputs)]
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("You cannot use class_weight and sample_weight at the same time")
            if len(ys) != 1:
                raise ValueError("class_weight is only supported for models with a single output; "
                                 "give sample_weight per output instead")
            return [class_sample_weights(ys[0], class_weight, len(shapes[0]), self.dtype)]
        if sample_weight is None:
            return [None] * len(ys)
        if isinstance(sample_weight, (dict, list, tuple)) and len(ys) > 1:
            per_output = self._per_output(sample_weight, len(ys), self.output_names, "sample_weight")
        else:
            per_output = [sample_weight] * len(ys)
        return [None if w is None else check_sample_weight(w, n, shape, self.dtype)
                for w, shape in zip(per_output, shapes)]

    def _step_mask(self, mask, xs) -> Optional[np.ndarray]:
        """The optional (samples, timesteps) mask of the first input's valid steps."""
        if mask is None:
            return None
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"mask must be boolean (True marks a valid step), got dtype {mask.dtype}")
        if mask.shape != xs[0].shape[:2]:
            raise ValueError(f"mask must have shape {xs[0].shape[:2]} (samples, timesteps), got "
                             f"{mask.shape}")
        return mask

    @staticmethod
    def _verbose(verbose):
        """Keras' verbose as an int: 'auto' is 1 (a progress bar)."""
        verbose = check_choice(verbose, "verbose", ("auto", 0, 1, 2))
        return 1 if verbose == "auto" else int(verbose)

    @staticmethod
    def _batch_size(batch_size):
        return 32 if batch_size is None else check_int(batch_size, "batch_size", 1)

    # ---- running ----------------------------------------------------------------------------
    def _forward(self, xs, training, mask=None):
        """Every node in order: (the outputs, their masks)."""
        values = {id(t): x for t, x in zip(self.graph.inputs, xs)}
        masks = {id(t): None for t in self.graph.inputs}
        masks[id(self.graph.inputs[0])] = mask
        for node in self.graph.nodes:
            outputs, out_masks = self._callers[node.id].call_node(
                [values[id(t)] for t in node.inputs], [masks[id(t)] for t in node.inputs], training)
            for t, y, m in zip(node.outputs, outputs, out_masks):
                values[id(t)], masks[id(t)] = y, m
        return [values[id(t)] for t in self.graph.outputs], [masks[id(t)] for t in self.graph.outputs]

    def inference_plan(self, precision: str = "float32"):
        """Return the built model's inference plan for predict and stream, or None.

        The plan is the model's graph as typed ops over one scratch arena, run by one nogil
        call into C (``models/plan.py``). It is None when a node has no plan op (masks,
        stateful layers, Embedding...: predict then runs node by node). It is made once per
        parameter buffer and precision: the plan points into the buffer, so it sees every
        weight update (a reduced-precision plan packs its copies again when the weights they
        were made from changed).

        Parameters
        ----------
        precision : {'float32', 'bfloat16', 'int8'}, default='float32'
            The precision the plan computes in, as for `predict`.

        Returns
        -------
        InferencePlan or None
            The plan, or None when the model has none.
        """
        precision = check_choice(precision, "precision", PRECISIONS)
        if precision == "int8":
            self._calibrate_on_fit_samples()
        held = self._plans.get(precision)
        if held is not None and held[0] is self.parameters.params:
            return held[1]
        plan = build_plan(self, precision)
        if plan is not None and precision == "int8" and self._calibration is not None \
                and self._calibration[0] is self.parameters.params:
            plan.calibrate(self._calibration[1])
        if plan is not None:
            self._plans[precision] = (self.parameters.params, plan)
        return plan

    def calibrate(self, x: Data, batch_size: Optional[int] = None) -> None:
        """Calibrate the model's int8 inference on representative inputs.

        ``predict(..., precision='int8')`` and ``stream(..., precision='int8')`` then round
        the int8 copies of the weights with error feedback (GPTQ): each product's rounding
        error is steered to the directions its inputs in `x` seldom take, which keeps the
        outputs closer to float32's than rounding each weight to its nearest (on the closest
        calls of a sharp classifier, about half the error). `fit` keeps up to 512 of its
        training samples (arrays only) and the model calibrates on them the first time int8
        is used after it (an int8 predict or stream, get_calibration, save, pickling).
        Calibrate again to use other data, or after set_weights or load_weights (a
        calibration stays with the weights it was measured on until then). `save` and
        pickling keep it; a model whose parameters are later rebuilt drops it.

        Parameters
        ----------
        x : array-like or list of array-like
            Inputs like those the model will predict on (a few hundred samples are enough),
            as for `predict`: arrays only, no mask.
        batch_size : int, optional
            The samples run at once (default 32).

        Raises
        ------
        ValueError
            When the model has no int8 inference plan (a float64 model, a layer with no int8
            kernel, no inference plan at all) or `x` is not arrays of the model's inputs.
        """
        batch_size = self._batch_size(batch_size)
        if read_in_batches(x):
            raise ValueError("calibrate takes arrays (one per model input), not a dataset")
        self.set_calibration(calibration_factors(self, self._inputs(x), batch_size))

    def get_calibration(self) -> Optional[list]:
        """Return the model's int8 calibration (what `calibrate` measured), or None.

        Returns
        -------
        list or None
            Per op of the model's inference plan: None, or the error feedback factors of its
            kernel and recurrent kernel (None for a dense op), float32 (k, k) arrays, copies.
            None when the model is not calibrated.
        """
        self._calibrate_on_fit_samples()
        if self._calibration is None or self._calibration[0] is not self.parameters.params:
            return None
        return [None if pair is None else tuple(None if u is None else u.copy() for u in pair)
                for pair in self._calibration[1]]

    def set_calibration(self, calibration: list) -> None:
        """Set the model's int8 calibration, as `get_calibration` gave it (`save` keeps it).

        Parameters
        ----------
        calibration : list
            Per op of the model's inference plan: None, or (kernel factor, recurrent kernel
            factor or None), each a (k, k) array, finite with a positive diagonal.

        Raises
        ------
        ValueError
            When it does not fit the model's int8 plan, or the model has none (the model's
            calibration is then left as it was).
        """
        checked = checked_calibration(self, calibration)
        self._calibration = (self.parameters.params, checked)
        self._calibration_samples = None  # this calibration wins over fit's pending one
        held = self._plans.get("int8")
        if held is not None and held[0] is self.parameters.params:
            held[1].calibrate(checked)  # streams made before hold this plan too

    def _keep_calibration_samples(self, train) -> None:
        """After fit: keep up to CALIBRATION_SAMPLES of its training arrays (evenly spaced, at
        most CALIBRATION_BYTES), on which int8 inference is calibrated when first used rather
        than at the end of every fit (a forward pass over them, as long as a short fit's own).
        Nothing for a dataset (not read again) or a model without an int8 plan."""
        if not isinstance(train, ArrayBatches) or self.dtype != np.float32 \
                or why_no_plan(self, "int8") is not None:
            return
        xs = train.arrays[0]
        sample_bytes = sum(x[:1].nbytes for x in xs)
        keep = max(1, min(CALIBRATION_SAMPLES, CALIBRATION_BYTES // max(sample_bytes, 1)))
        every = -(-len(xs[0]) // keep)
        self._calibration_samples = (self.parameters.params, [x[::every].copy() for x in xs])

    def _calibrate_on_fit_samples(self) -> None:
        """Calibrate int8 inference on the samples fit kept, if it kept some for the current
        parameter buffer (once: they are dropped)."""
        pending, self._calibration_samples = self._calibration_samples, None
        if pending is not None and pending[0] is self.parameters.params:
            self.calibrate(pending[1])

    def _predict_batch(self, xs, mask, precision="float32"):
        """The model's outputs for one batch at inference, through the inference plan when the
        model has one and there is no mask (in reduced precision: always, or ValueError)."""
        plan = self.inference_plan(precision) if mask is None else None
        if plan is None and precision != "float32":
            why = "a mask was given" if mask is not None else why_no_plan(self, precision)
            raise ValueError(f"precision={precision!r} runs through the inference plan, which "
                             f"model {self.name!r} cannot use: {why}")
        if plan is None:
            for x in xs:
                if x.dtype.kind == "f" and not np.isfinite(x).all():
                    raise ValueError("x contains NaN or infinite values")
            with self._lock:
                return self._forward(xs, training=False, mask=mask)[0]
        return plan.run(xs)  # checks x for NaN and infinity

    def _fused_logits(self, i):
        """The logits of output i when its loss fuses the final activation (stable logits
        form) and nothing else reads that output."""
        loss, tensor = self.losses[i], self.graph.outputs[i]
        fused = getattr(loss, "fused_activation", None)
        if fused is None or getattr(loss, "from_logits", False) or self.graph.consumers.get(id(tensor)) \
                or sum(t is tensor for t in self.graph.outputs) > 1 or len(tensor.node.outputs) > 1:
            return None
        return self._callers[tensor.node.id].fused_logits(fused)

    def _loss_and_grads(self, ys, y_preds, masks, sws=None):
        """The weighted total loss, each output's loss, and the gradient per output (w.r.t. the
        logits where fused, flagged in the third list); sws: each output's sample weights."""
        sws = sws or [None] * len(self.losses)
        total, per_output, grads, logits_flags = 0.0, [], [], []
        for i, (loss, w) in enumerate(zip(self.losses, self.loss_weights)):
            if loss is None:
                per_output.append(None)
                grads.append(None)
                logits_flags.append(False)
                continue
            weights = loss_weights(sws[i], masks[i], y_preds[i], self.dtype)
            logits = self._fused_logits(i)
            if logits is not None:
                value, d = loss.value_and_grad_from_logits(ys[i], logits, weights)
            elif getattr(loss, "from_logits", False):
                value, d = loss.value_and_grad_from_logits(ys[i], y_preds[i], weights)
            else:
                value, d = loss.value_and_grad(ys[i], y_preds[i], weights)
            total += w * float(value)
            per_output.append(float(value))
            grads.append(np.asarray(d, self.dtype) * w if w != 1.0 else np.asarray(d, self.dtype))
            logits_flags.append(logits is not None)
        return total, per_output, grads, logits_flags

    def _backward(self, d_outputs, logits_flags):
        """Every node in reverse: the gradients of the tensors each reads add up; a layer
        called several times sums its weight gradients; a layer no gradient reaches gets zeros."""
        grads: dict[int, np.ndarray] = {}
        logits_of: set[int] = set()
        for t, d, is_logits in zip(self.graph.outputs, d_outputs, logits_flags):
            if d is None:
                continue
            grads[id(t)] = d if id(t) not in grads else grads[id(t)] + d
            if is_logits:
                logits_of.add(id(t))
        inputs = {id(t) for t in self.graph.inputs}
        reached: set[int] = set()
        for node in reversed(self.graph.nodes):
            d_outs = [grads.pop(id(t), None) for t in node.outputs]
            if all(d is None for d in d_outs):
                continue
            layer = node.layer
            kept = [g.copy() for g in layer.grads] if id(layer) in reached else None
            need_dx = any(id(t) not in inputs for t in node.inputs)
            d_ins = self._callers[node.id].backward_node(
                d_outs, need_dx, dy_is_logits=id(node.outputs[0]) in logits_of)
            if kept is not None:
                for g, k in zip(layer.grads, kept):
                    g += k
            reached.add(id(layer))
            for t, d in zip(node.inputs, d_ins):
                if d is None or id(t) in inputs:
                    continue
                grads[id(t)] = d if id(t) not in grads else grads[id(t)] + d
        for layer in self._weighted:
            if id(layer) not in reached:
                for g in layer.grads:
                    g[...] = 0

    def _train_step(self, xs, ys, mask, sws):
        """One optimizer step on a batch (sws: each output's sample weights, or None). A
        non-finite loss, gradient, updated weight or optimizer slot leaves the weights and the
        optimizer's state as they were before the step and sets self._diverged to what went
        wrong."""
        with self._lock:
            return self._locked_train_step(xs, ys, mask, sws)

    def _locked_train_step(self, xs, ys, mask, sws):
        """A step on one batch; with DataParallel, xs None on a rank whose batches are used
        up while another rank's are not (it adds nothing to the averaged gradients)."""
        self._diverged = None
        params, grads = self.parameters.params, self.parameters.grads
        loss, per_output, y_preds, masks = 0.0, [None] * len(self.losses), None, None
        # what a training forward moves besides the gradients (BatchNormalization's moving
        # statistics), with its values before: DataParallel averages its changes too
        moving = [(w, w.copy()) for w in self._moving_statistics()] if self.distribute else []
        if xs is not None:
            y_preds, masks = self._forward(xs, training=True, mask=mask)
            loss, per_output, d_outputs, logits_flags = self._loss_and_grads(
                ys, y_preds, masks, sws)
        if self._outside is not None or xs is None:
            grads[...] = 0
        if xs is not None and np.isfinite(loss):
            self._backward(d_outputs, logits_flags)
        if self.distribute is not None:
            samples = 0 if xs is None else len(xs[0])
            if not self.distribute.average_gradients(grads, samples, bool(np.isfinite(loss)),
                                                     moving):
                self._diverged = "the loss is not finite on a rank"
                return loss, per_output, y_preds, masks
        elif not np.isfinite(loss):
            self._diverged = f"the loss is {loss}"
            return loss, per_output, y_preds, masks
        if not all_finite(grads):
            self._diverged = "a gradient is NaN or infinite"
            return loss, per_output, y_preds, masks
        if self._last_params is None or self._last_params.shape != params.shape:
            self._last_params = np.empty_like(params)
        np.copyto(self._last_params, params)
        self.optimizer.save_step_state()
        frozen = [(w, w.copy()) for layer in self._weighted for w in layer.non_trainable_weights]
        step = self.optimizer.iterations
        try:
            self.optimizer.apply(params, grads)
        except KeyboardInterrupt:
            # Ctrl-C can land between the optimizer's C update (whole or not at all) and its
            # count of steps: keep the count with the weights.
            changed = not np.array_equal(params, self._last_params)
            self.optimizer.iterations = step + changed
            raise
        finally:  # also on KeyboardInterrupt: non-trainable weights keep their values
            for w, value in frozen:
                w[...] = value
            if self._outside is not None:  # and so do the other models' layers in a shared buffer
                np.copyto(params, self._last_params, where=self._outside)
            self.parameters.written()
        weights_finite = all_finite(params)
        if not weights_finite or not self.optimizer.slots_are_finite():
            # undo the whole step, optimizer state included: saving then writes finite slots
            # that load_model takes, and a resumed fit starts from the last finite step
            np.copyto(params, self._last_params)
            self.parameters.written()
            self.optimizer.undo_step()
            self._diverged = ("the update made a weight NaN or infinite" if not weights_finite
                              else "the update made an optimizer slot NaN or infinite")
        return loss, per_output, y_preds, masks

    def _moving_statistics(self) -> list[np.ndarray]:
        """The weights of trainable layers that no optimizer moves (moving statistics)."""
        return [w for layer in self._weighted if layer.trainable
                for spec, w in zip(layer.weight_specs(), layer.weights) if not spec.trainable]

    def _stop_diverged(self, where):
        warnings.warn(f"training diverged at {where}: {self._diverged}; training stops, and the "
                      "model keeps the weights of its last finite step (lower the learning rate, "
                      "or clip gradients with clipnorm)", RuntimeWarning, stacklevel=3)
        self.stop_training = True

    def _update_metrics(self, ys, y_preds, masks, sws):
        for metrics, weighted, y, y_pred, mask, sw in zip(
                self.output_metrics, self.output_weighted_metrics, ys, y_preds, masks, sws):
            plain = metric_weights(None, mask, y_pred, self.dtype)
            for m in metrics:
                m.update_state(y, y_pred, plain)
            for m in weighted:
                m.update_state(y, y_pred, metric_weights(sw, mask, y_pred, self.dtype))

    def _reset_metrics(self):
        for m in self.compiled_metrics:
            m.reset_state()

    def _metric_logs(self, loss_sum, output_sums, count, results):
        """Keras' log names: 'loss' and the metric names for one output; for several, also
        '<output>_loss' and '<output>_<metric>'. results: each compiled metric's, in order."""
        results = iter(results)
        logs = {"loss": loss_sum / count}
        several = len(self.output_metrics) > 1
        if several:
            for name, s, loss in zip(self.output_names, output_sums, self.losses):
                if loss is not None:
                    logs[f"{name}_loss"] = s / count
        for name, metrics in zip(self.output_names, self.output_metrics):
            for m in metrics:
                logs[f"{name}_{m.name}" if several else m.name] = next(results)
        for name, metrics in zip(self.output_names, self.output_weighted_metrics):
            for m in metrics:  # Keras: 'weighted_' only where the name is already taken
                key = f"{name}_{m.name}" if several else m.name
                if key in logs:
                    key = f"{name}_weighted_{m.name}" if several else f"weighted_{m.name}"
                logs[key] = next(results)
        return logs

    # ---- public API -------------------------------------------------------------------------
    def fit(self, x: Optional[Data] = None, y: Optional[Data] = None,
            batch_size: Optional[int] = None, epochs: int = 1, verbose: Verbose = "auto",
            callbacks: Optional[Iterable[Callback]] = None, validation_split: float = 0.0,
            validation_data: Optional[ValidationData] = None, shuffle: bool = True,
            class_weight: Optional[dict[int, float]] = None,
            sample_weight: Optional[Data] = None, initial_epoch: int = 0,
            steps_per_epoch: Optional[int] = None, validation_steps: Optional[int] = None,
            validation_batch_size: Optional[int] = None,
            validation_freq: Union[int, Sequence[int]] = 1,
            mask: Optional[ArrayLike] = None) -> History:
        """Train the model for a number of epochs, as keras.Model.fit.

        Parameters
        ----------
        x : array-like, list or dict of array-like, PyDataset, generator or iterable
            The inputs: an array (a list in input order or a dict by input name for several
            inputs), or a PyDataset, a generator or another iterable of (x, y) /
            (x, y, sample_weight) batches (read in a background thread while the kernels run).
        y : array-like, list or dict of array-like, optional
            The targets, as `x` for several outputs; None when `x` yields batches.
        batch_size : int, optional
            Samples per gradient step (default 32) for arrays.
        epochs : int, default=1
            Train until the epoch of index `epochs` (with `initial_epoch` above 0, for
            epochs - initial_epoch epochs), as Keras.
        verbose : {'auto', 0, 1, 2}, default='auto'
            0 silent, 1 (and 'auto') a progress bar, 2 one line per epoch.
        callbacks : list of Callback, optional
            Callbacks (`gru_native.callbacks`) whose hooks fire during training.
        validation_split : float, default=0.0
            The fraction of the array data (its last samples, as Keras) held out to validate on
            after each epoch.
        validation_data : tuple or dataset, optional
            Data to validate on after each epoch: (x_val, y_val), (x_val, y_val,
            sample_weight_val), (x_val, y_val, sample_weight_val, mask_val) or a dataset.
        shuffle : bool, default=True
            Shuffle the array samples before each epoch.
        class_weight : dict, optional
            {class: weight} for binary, sparse or one-hot targets, sequence targets included.
        sample_weight : array-like, list or dict of array-like, optional
            (samples,) or, for a sequence output, (samples, timesteps) weights (one array for
            every output, or a list / dict by output name).
        initial_epoch : int, default=0
            The epoch to start at (to resume a training).
        steps_per_epoch : int, optional
            Batches per epoch from a dataset or generator (default: until it ends).
        validation_steps : int, optional
            Batches of `validation_data` per validation (default: until it ends).
        validation_batch_size : int, optional
            Samples per validation batch (default: `batch_size`).
        validation_freq : int or sequence of int, default=1
            Validate every `validation_freq` epochs, or after the listed (1-based) epochs.
        mask : array-like of bool, optional
            A boolean (samples, timesteps) array, True where a step of the first input is valid
            (gru_native's addition, like the mask argument of a Keras call).

        Returns
        -------
        History
            The losses and metrics of each epoch (``history.history``), also kept as
            ``model.history``.

        Raises
        ------
        ValueError
            For arguments, data or weights that do not fit the model, checked before anything
            changes, or a batch that raises or changes shape (fit stops, the model as its last
            complete step left it).

        Examples
        --------
        >>> import numpy as np
        >>> from gru_native.layers import GRU, Dense
        >>> from gru_native.models import Sequential
        >>> from gru_native.utils import set_random_seed
        >>> set_random_seed(0)
        >>> x = np.random.default_rng(0).normal(size=(32, 10, 3)).astype("float32")
        >>> y = x[:, :, 0].mean(axis=1, keepdims=True)
        >>> model = Sequential([GRU(8, input_shape=(10, 3)), Dense(1)])
        >>> model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        >>> history = model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0)
        >>> sorted(history.history)
        ['loss', 'mae', 'val_loss', 'val_mae']
        >>> len(history.history["loss"])
        2
        >>> model.history is history
        True
        """
        dp = self.distribute
        with dp.collective() if dp is not None else contextlib.nullcontext():
            self._check_compiled()
            epochs = check_int(epochs, "epochs", 1)
            initial_epoch = check_int(initial_epoch, "initial_epoch", 0)
            verbose = self._verbose(verbose) if dp is None or dp.is_chief else 0
            validation_freq = _checked_validation_freq(validation_freq)
            steps_per_epoch = _optional_steps(steps_per_epoch, "steps_per_epoch")
            validation_steps = _optional_steps(validation_steps, "validation_steps")
            batch_size = self._batch_size(batch_size)
            validation_batch_size = (batch_size if validation_batch_size is None
                                     else self._batch_size(validation_batch_size))
            validation_split = check_real(validation_split, "validation_split", 0, 1,
                                          high_open=True)
            train, validation = self._training_batches(
                x, y, sample_weight, class_weight, mask, batch_size, steps_per_epoch, shuffle,
                validation_split)
            if validation_data is not None:
                validation = self._validation_batches(validation_data, validation_batch_size,
                                                      validation_steps)
            steps = train.num_batches

            cbs = callbacks_module.CallbackList(callbacks, add_history=True, model=self,
                                                verbose=verbose, epochs=epochs, steps=steps)
            self.stop_training = False
            reduce = None
            if dp is not None:
                self._start_data_parallel(epochs, initial_epoch, steps_per_epoch,
                                          validation is not None, validation_freq)
                reduce = dp.sum
            cbs.on_train_begin()
            initial_epoch = cbs.resumed_epoch(initial_epoch)  # BackupAndRestore's restored epoch
            rng = utils.rng()
            logs = {}
            for epoch in range(initial_epoch, epochs):
                cbs.on_epoch_begin(epoch)
                if verbose:
                    print(f"Epoch {epoch + 1}/{epochs}")
                bar = Progbar(steps, verbose=verbose) if verbose else None
                totals = self._totals(reduce)
                step, logs = 0, {}
                with contextlib.closing(train.epoch(rng)) as batches:
                    for step, batch in enumerate(batches if dp is None else dp.batches(batches)):
                        # batch None: this rank's are used up, another rank's are not
                        xb, yb, swb, mb = batch if batch is not None else (None,) * 4
                        cbs.on_train_batch_begin(step)
                        loss, per_output, y_preds, out_masks = self._train_step(xb, yb, mb, swb)
                        if self._diverged:
                            self._stop_diverged(f"epoch {epoch + 1}, batch {step + 1}")
                        size = 0 if xb is None else len(xb[0])
                        logs = totals.add(loss, per_output, size, yb, y_preds, out_masks, swb)
                        cbs.on_train_batch_end(step, logs)
                        if bar is not None:
                            bar.update(step + 1, list(logs.items()), finalize=False)
                        if dp is not None:  # a callback on one rank stops every rank
                            self.stop_training = dp.any(self.stop_training)
                        if self.stop_training:
                            break
                train.on_epoch_end()
                if not logs:  # a generator used up in an earlier epoch: nothing left to train on
                    break
                if validation is not None and _validates(epoch, validation_freq):
                    val_logs = self._evaluate_batches(validation, cbs, reduce)
                    logs.update({"val_" + k: v for k, v in val_logs.items()})
                if bar is not None:
                    bar.update(step + 1, list(logs.items()), finalize=True)
                cbs.on_epoch_end(epoch, logs)
                if dp is not None:
                    self.stop_training = dp.any(self.stop_training)
                if self.stop_training:
                    break
            cbs.on_train_end(logs)
            self._keep_calibration_samples(train)
            return self.history

    def _start_data_parallel(self, *fit_arguments) -> None:
        """Before a DataParallel fit: every rank trains the same layers with the same fit
        arguments (else ValueError on every rank), from rank 0's weights and optimizer state."""
        signature = {
            "layers": [(type(layer).__name__, [w.shape for w in layer.weights])
                       for layer in self._weighted],
            "dtype": str(self.dtype),
            "optimizer": type(self.optimizer).__name__,
            "fit arguments (epochs, initial_epoch, steps_per_epoch, validation, "
            "validation_freq)": fit_arguments}
        state = self.distribute.start(signature, self.parameters.params,
                                      self.optimizer.get_state())
        self.parameters.written()
        self.optimizer.set_state(state)

    def _training_batches(self, x, y, sample_weight, class_weight, mask, batch_size, steps,
                          shuffle, validation_split):
        """fit's batches, and those of its validation_split (None without one)."""
        if read_in_batches(x) or steps is not None:
            if mask is not None or validation_split:
                raise ValueError(f"{'mask' if mask is not None else 'validation_split'} is only "
                                 "supported for arrays read in batches of batch_size (without "
                                 "steps_per_epoch); give a dataset's validation set as "
                                 "validation_data, and its masks by a Masking layer")
            prepare = functools.partial(self._prepared, class_weight=class_weight)
            return dataset_batches(x, y, sample_weight, batch_size, steps, shuffle, prepare), None
        xs = self._inputs(x)
        mask = self._step_mask(mask, xs)
        ys = self._targets(y, len(xs[0]))
        arrays = (xs, ys, self._sample_weights(sample_weight, class_weight, ys), mask)
        if not validation_split:
            return ArrayBatches(*arrays, batch_size, shuffle), None
        n_all = len(xs[0])
        split = int(n_all * (1 - validation_split))  # the last samples, as Keras
        if split == 0 or split == n_all:
            raise ValueError(f"validation_split={validation_split} leaves no training or "
                             f"no validation samples out of {n_all}")
        return (ArrayBatches(*sliced(slice(None, split), *arrays), batch_size, shuffle),
                ArrayBatches(*sliced(slice(split, None), *arrays), batch_size))

    def _validation_batches(self, validation_data, batch_size, steps):
        """fit's validation_data: a dataset, or Keras' (x, y) or (x, y, sample_weight) arrays,
        with a step mask (x, y, sample_weight, mask)."""
        if is_dataset(validation_data):
            return dataset_batches(validation_data, None, None, batch_size, steps, False,
                                   self._prepared)
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3, 4):
            raise ValueError("validation_data must be a dataset, or a tuple (x_val, y_val), "
                             "(x_val, y_val, sample_weight_val) or (x_val, y_val, "
                             "sample_weight_val, mask_val)")
        x, y, sample_weight, mask = (tuple(validation_data) + (None, None))[:4]
        if read_in_batches(x) or steps is not None:
            if mask is not None:
                raise ValueError("mask_val is only supported for arrays without validation_steps")
            return dataset_batches(x, y, sample_weight, batch_size, steps, False, self._prepared)
        xs = self._inputs(x)
        ys = self._targets(y, len(xs[0]))
        return ArrayBatches(xs, ys, self._sample_weights(sample_weight, None, ys),
                            self._step_mask(mask, xs), batch_size)

    def _prepared(self, x, y, sample_weight, class_weight=None):
        """A dataset's batch converted and checked, as fit converts arrays (only x without y)."""
        if y is None:
            if sample_weight is not None:
                raise ValueError("a batch holds sample weights but no targets")
            return self._inputs(x, check_finite=False), None, None, None
        xs = self._inputs(x)
        ys = self._targets(y, len(xs[0]))
        return xs, ys, self._sample_weights(sample_weight, class_weight, ys), None

    def _totals(self, reduce=None) -> _Totals:
        """The running loss and metrics of an epoch (or an evaluate), from zero; reduce: how
        the logs are summed over DataParallel ranks (None: this process's own)."""
        self._reset_metrics()
        return _Totals(self, reduce)

    def _evaluate_batches(self, batches, cbs, reduce=None):
        """The loss and metrics over the batches, with the test hooks; the batches' logs are
        this rank's, the returned ones summed by `reduce` over the ranks when given."""
        cbs.on_test_begin()
        totals = self._totals()
        logs = {}
        with contextlib.closing(batches.epoch(utils.rng())) as epoch:
            for step, (xb, yb, swb, mb) in enumerate(epoch):
                if yb is None:
                    raise ValueError("y is needed to evaluate: the data's batches hold no targets")
                cbs.on_test_batch_begin(step)
                with self._lock:
                    y_preds, out_masks = self._forward(xb, training=False, mask=mb)
                    loss, per_output, _, _ = self._loss_and_grads(yb, y_preds, out_masks, swb)
                logs = totals.add(loss, per_output, len(xb[0]), yb, y_preds, out_masks, swb)
                cbs.on_test_batch_end(step, logs)
        batches.on_epoch_end()
        if reduce is not None:
            totals.reduce = reduce
            logs = totals.logs()
        cbs.on_test_end(logs)
        return logs

    def evaluate(self, x: Optional[Data] = None, y: Optional[Data] = None,
                 batch_size: Optional[int] = None, verbose: Verbose = "auto",
                 sample_weight: Optional[Data] = None, steps: Optional[int] = None,
                 callbacks: Optional[Iterable[Callback]] = None, return_dict: bool = False,
                 mask: Optional[ArrayLike] = None) -> Logs:
        """Compute the loss and metrics over x, as keras.Model.evaluate.

        The callbacks' ``on_test_*`` hooks fire.

        Parameters
        ----------
        x : array-like, list or dict of array-like, or dataset
            The inputs, as `fit` takes them.
        y : array-like, list or dict of array-like, optional
            The targets; None when `x` yields batches.
        batch_size : int, optional
            Samples per batch (default 32).
        verbose : {'auto', 0, 1, 2}, default='auto'
            0 silent, 1 (and 'auto') a progress bar; with 1 or 2 the results are printed.
        sample_weight : array-like, list or dict of array-like, optional
            Weights of the samples (or timesteps), as `fit` takes them.
        steps : int, optional
            Batches to read from a dataset or generator (default: until it ends).
        callbacks : list of Callback, optional
            Callbacks whose ``on_test_*`` hooks fire.
        return_dict : bool, default=False
            Return {name: value} instead of the loss (a list: the loss, then the metrics).
        mask : array-like of bool, optional
            A (samples, timesteps) array, True where a step of the first input is valid.

        Returns
        -------
        float, list of float or dict
            The loss alone, a list (the loss, then the metrics) or, with `return_dict`,
            {name: value}.

        Raises
        ------
        ValueError
            For data that does not fit the model, or no batch in it.
        """
        self._check_compiled()
        verbose_level = self._verbose(verbose)
        batch_size = self._batch_size(batch_size)
        steps = _optional_steps(steps, "steps")
        if read_in_batches(x) or steps is not None:
            if mask is not None:
                raise ValueError("mask is only supported for arrays without steps")
            batches = dataset_batches(x, y, sample_weight, batch_size, steps, False, self._prepared)
        else:
            xs = self._inputs(x)
            ys = self._targets(y, len(xs[0]))
            batches = ArrayBatches(xs, ys, self._sample_weights(sample_weight, None, ys),
                                   self._step_mask(mask, xs), batch_size)
        cbs = callbacks_module.CallbackList(callbacks, model=self, verbose=verbose_level,
                                            epochs=1, steps=batches.num_batches)
        logs = self._evaluate_batches(batches, cbs)
        if not logs:
            raise ValueError("evaluate found no batch in its data")
        if verbose_level and verbose != "auto":
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return _as_returned(logs, return_dict)

    def predict(self, x: Data, batch_size: Optional[int] = None, verbose: Verbose = "auto",
                steps: Optional[int] = None, callbacks: Optional[Iterable[Callback]] = None,
                mask: Optional[ArrayLike] = None, precision: str = "float32") -> Outputs:
        """Compute the outputs for x batch by batch, as keras.Model.predict.

        Through the inference plan when the model has one; the callbacks' ``on_predict_*``
        hooks fire.

        Parameters
        ----------
        x : array-like, list or dict of array-like, dataset or dask array
            The inputs, as `fit` takes them. A dask array (or a list / dict of them) gives a
            lazy dask array of the outputs, one task per chunk of rows, the model one key of
            the graph (sent to each worker once).
        batch_size : int, optional
            Samples per batch (default 32).
        verbose : {'auto', 0, 1, 2}, default='auto'
            0 silent, 1 (and 'auto') a progress bar.
        steps : int, optional
            Batches to read from a dataset or generator (default: until it ends).
        callbacks : list of Callback, optional
            Callbacks whose ``on_predict_*`` hooks fire.
        mask : array-like of bool, optional
            A (samples, timesteps) array, True where a step of the first input is valid.
        precision : {'float32', 'bfloat16', 'int8'}, default='float32'
            'float32' (the model's dtype), or for a float32 model 'bfloat16' or 'int8': the
            GRU, LSTM and Dense products read bfloat16 copies of the weights, or int8 ones (per
            column; rounded with error feedback once the model is calibrated: `calibrate`,
            which fit does) with their input rounded to bfloat16 (quantised to int16 on a CPU
            without AVX512_BF16) as it comes; sums, gates, states and every other op stay
            float32.

        Returns
        -------
        ndarray, list or dict of ndarray, or dask array
            The outputs: one array, or a list / dict as the model's outputs were given.

        Raises
        ------
        ValueError
            For a precision the model cannot run in (no inference plan, a layer with weights
            and no such kernel: Conv1D), or data that does not fit the model.

        Examples
        --------
        >>> import numpy as np
        >>> from gru_native.layers import GRU, Dense
        >>> from gru_native.models import Sequential
        >>> from gru_native.utils import set_random_seed
        >>> set_random_seed(0)
        >>> x = np.random.default_rng(0).normal(size=(32, 10, 3)).astype("float32")
        >>> model = Sequential([GRU(8, input_shape=(10, 3)), Dense(2)])
        >>> y = model.predict(x, verbose=0)
        >>> y.shape, y.dtype
        ((32, 2), dtype('float32'))
        >>> bool(np.allclose(model.predict(x, batch_size=4, verbose=0), y, atol=1e-6))
        True
        >>> y_bf16 = model.predict(x, verbose=0, precision="bfloat16")
        >>> bool(np.allclose(y_bf16, y, atol=0.05))
        True
        """
        verbose = self._verbose(verbose)
        precision = check_choice(precision, "precision", PRECISIONS)
        batch_size = self._batch_size(batch_size)
        steps = _optional_steps(steps, "steps")
        if is_dask_collection(x):
            if steps is not None or callbacks is not None or mask is not None:
                raise ValueError("steps, callbacks and mask are not supported with dask input")
            return predict_lazily(self, "predict", x, batch_size=batch_size, verbose=0,
                                  precision=precision)
        if read_in_batches(x) or steps is not None:
            if mask is not None:
                raise ValueError("mask is only supported for arrays without steps")
            batches = dataset_batches(x, None, None, batch_size, steps, False,
                                      lambda x, y, sample_weight: self._prepared(x, None, None))
        else:
            xs = self._inputs(x, check_finite=False)
            mask = self._step_mask(mask, xs)
            if len(xs[0]) <= batch_size and callbacks is None:
                return self._structured_outputs(self._predict_batch(xs, mask, precision))
            batches = ArrayBatches(xs, [], [], mask, batch_size)
        cbs = callbacks_module.CallbackList(callbacks, model=self, verbose=verbose, epochs=1,
                                            steps=batches.num_batches)
        cbs.on_predict_begin()
        parts = []
        with contextlib.closing(batches.epoch(utils.rng())) as epoch:
            for step, (xb, _, _, mb) in enumerate(epoch):
                cbs.on_predict_batch_begin(step)
                parts.append(self._predict_batch(xb, mb, precision))
                cbs.on_predict_batch_end(step, {"outputs": self._structured_outputs(parts[-1])})
        batches.on_epoch_end()
        cbs.on_predict_end()
        if not parts:
            raise ValueError("predict found no batch in its data")
        return self._structured_outputs([np.concatenate(p) for p in zip(*parts)])

    def _structured_outputs(self, ys):
        """One array, a list or a dict, as the model's outputs were given."""
        if self._output_keys is not None:
            return dict(zip(self._output_keys, ys))
        return ys[0] if len(ys) == 1 and not self._outputs_are_list() else list(ys)

    def _outputs_are_list(self) -> bool:
        return len(self.graph.outputs) > 1

    def train_on_batch(self, x: Data, y: Data, sample_weight: Optional[Data] = None,
                       class_weight: Optional[dict[int, float]] = None,
                       return_dict: bool = False, mask: Optional[ArrayLike] = None) -> Logs:
        """Run one optimizer step on x as one batch, as keras.Model.train_on_batch.

        Parameters
        ----------
        x : array-like, list or dict of array-like
            The batch's inputs, as `fit` takes them.
        y : array-like, list or dict of array-like
            The batch's targets, as `fit` takes them.
        sample_weight : array-like, list or dict of array-like, optional
            Weights of the samples (or timesteps), as `fit` takes them.
        class_weight : dict, optional
            {class: weight}, as `fit` takes it; not together with `sample_weight`.
        return_dict : bool, default=False
            Return {name: value} instead of the loss (a list: the loss, then the metrics).
        mask : array-like of bool, optional
            A (samples, timesteps) array, True where a step of the first input is valid.

        Returns
        -------
        float, list of float or dict
            The batch's loss alone, a list (the loss, then the metrics) or, with
            `return_dict`, {name: value}.

        Raises
        ------
        ValueError
            With a DataParallel (`compile`'s `distribute`: train with `fit` instead), or for
            data that does not fit the model.
        RuntimeError
            If the model is not compiled with an optimizer and a loss.
        """
        self._check_compiled()
        if self.distribute is not None:
            raise ValueError("train_on_batch does not train over DataParallel ranks: use fit "
                             "(or compile without distribute)")
        xs = self._inputs(x)
        mask = self._step_mask(mask, xs)
        ys = self._targets(y, len(xs[0]))
        sws = self._sample_weights(sample_weight, class_weight, ys)
        totals = self._totals()
        loss, per_output, y_preds, masks = self._train_step(xs, ys, mask, sws)
        if self._diverged:
            self._stop_diverged("this batch")
        return _as_returned(totals.add(loss, per_output, 1, ys, y_preds, masks, sws), return_dict)

    def test_on_batch(self, x: Data, y: Data, sample_weight: Optional[Data] = None,
                      return_dict: bool = False, mask: Optional[ArrayLike] = None) -> Logs:
        """Compute the loss and metrics of x as one batch, as keras.Model.test_on_batch.

        Parameters
        ----------
        x : array-like, list or dict of array-like
            The batch's inputs, as `fit` takes them.
        y : array-like, list or dict of array-like
            The batch's targets, as `fit` takes them.
        sample_weight : array-like, list or dict of array-like, optional
            Weights of the samples (or timesteps), as `fit` takes them.
        return_dict : bool, default=False
            Return {name: value} instead of the loss (a list: the loss, then the metrics).
        mask : array-like of bool, optional
            A (samples, timesteps) array, True where a step of the first input is valid.

        Returns
        -------
        float, list of float or dict
            The loss alone, a list (the loss, then the metrics) or, with `return_dict`,
            {name: value}.
        """
        xs = self._inputs(x)
        return self.evaluate(xs, y, batch_size=len(xs[0]), verbose=0, sample_weight=sample_weight,
                             return_dict=return_dict, mask=mask)

    def __call__(self, x: Data, training: bool = False,
                 mask: Optional[ArrayLike] = None) -> Outputs:
        """The outputs for x as one batch, as Keras' model(x, training=...). training=True
        computes as fit does, without a gradient or an optimizer step: BatchNormalization
        normalises by the batch's statistics and moves its moving statistics, Dropout drops."""
        if not check_bool(training, "training"):
            return self.predict_on_batch(x, mask)
        xs = self._inputs(x)
        mask = self._step_mask(mask, xs)
        with self._lock:
            return self._structured_outputs(self._forward(xs, training=True, mask=mask)[0])

    def predict_on_batch(self, x: Data, mask: Optional[ArrayLike] = None) -> Outputs:
        """Compute the outputs for x as one batch, as keras.Model.predict_on_batch.

        Through the inference plan when the model has one and there is no mask.

        Parameters
        ----------
        x : array-like, list or dict of array-like
            The batch's inputs, as `fit` takes them.
        mask : array-like of bool, optional
            A (samples, timesteps) array, True where a step of the first input is valid.

        Returns
        -------
        ndarray, list or dict of ndarray
            The outputs: one array, or a list / dict as the model's outputs were given.
        """
        xs = self._inputs(x, check_finite=False)
        return self._structured_outputs(self._predict_batch(xs, self._step_mask(mask, xs)))

    def stream(self, batch_size: int = 1, precision: str = "float32") -> Stream:
        """Return a Stream that predicts one timestep at a time, keeping the states.

        The stream's ``step(x_t)`` takes one timestep (batch_size, features) and returns the
        model's output for it, keeping every GRU's and LSTM's state between calls; ``reset()``
        starts again from zeros. The stream sees later weight updates (in reduced precision,
        those the package makes, or all after ``reset()``: see Stream).

        Parameters
        ----------
        batch_size : int, default=1
            Sequences streamed side by side.
        precision : {'float32', 'bfloat16', 'int8'}, default='float32'
            As for `predict`.

        Returns
        -------
        Stream
            The stream over this model.

        Raises
        ------
        ValueError
            If the model is not built yet (give input_shape, or fit / predict once).

        Examples
        --------
        Step through a sequence one timestep at a time: the last output is what `predict`
        gives for the whole sequence.

        >>> import numpy as np
        >>> from gru_native.layers import GRU, Dense
        >>> from gru_native.models import Sequential
        >>> from gru_native.utils import set_random_seed
        >>> set_random_seed(0)
        >>> x = np.random.default_rng(0).normal(size=(1, 10, 3)).astype("float32")
        >>> model = Sequential([GRU(8, input_shape=(10, 3)), Dense(1)])
        >>> stream = model.stream(batch_size=1)
        >>> for t in range(10):
        ...     y_t = stream.step(x[:, t])
        >>> y_t.shape
        (1, 1)
        >>> bool(np.allclose(y_t, model.predict(x, verbose=0), atol=1e-5))
        True
        >>> stream.reset()
        """
        if not self.built:
            raise ValueError("build the model (give input_shape, or fit/predict once) before stream")
        return Stream(self, check_int(batch_size, "batch_size", 1),
                      check_choice(precision, "precision", PRECISIONS))

    def reset_states(self) -> None:
        """Reset the states of the model's stateful layers to zeros, as Keras."""
        for layer in self.layers:
            if hasattr(layer, "reset_states"):
                layer.reset_states()

    # ---- weights ----------------------------------------------------------------------------
    @property
    def weights(self) -> list[np.ndarray]:
        """The weights of every layer, in order: views into the one parameter buffer."""
        return [w for layer in self._weighted for w in layer.weights]

    def get_weights(self) -> list[np.ndarray]:
        """Return copies of the model's weights, as keras.Model.get_weights.

        Returns
        -------
        list of ndarray
            A copy of each weight, in the order of `weights`.
        """
        return [w.copy() for w in self.weights]

    def set_weights(self, weights: Iterable[ArrayLike]) -> None:
        """Set the model's weights from a list of arrays, as keras.Model.set_weights.

        Each layer checks its arrays (shapes, finite values) before it writes them; when a
        later layer refuses its arrays, the earlier ones get their values back: a bad list
        changes nothing.

        Parameters
        ----------
        weights : iterable of array-like
            One array per weight, in the order of `get_weights`.

        Raises
        ------
        ValueError
            If the model is not built yet, for a list of the wrong length, or for an array a
            layer refuses.
        """
        weights = list(weights)
        if not self.built:
            raise ValueError("build the model (give input_shape, or fit/predict once) before set_weights")
        if len(weights) != len(self.weights):
            raise ValueError(f"model {self.name!r} has {len(self.weights)} weights, got {len(weights)}")
        # each layer checks its arrays (shapes, finite values) before it writes them; when a
        # later layer refuses its arrays, the earlier ones get their values back: a bad list
        # changes nothing
        before = self.get_weights()
        start = 0
        try:
            for layer in self._weighted:
                k = len(layer.weights)
                layer.set_weights(weights[start:start + k])
                start += k
        except BaseException:
            for w, value in zip(self.weights, before):
                w[...] = value
            self.parameters.written()
            raise

    def count_params(self) -> int:
        """Return the number of weights in the model, as keras.Model.count_params.

        Returns
        -------
        int
            The total size of the model's weights.

        Raises
        ------
        ValueError
            If the model is not built yet.
        """
        if not self.built:
            raise ValueError("the model is not built yet: give the first layer an input_shape")
        return sum(layer.count_params() for layer in self._weighted)

    def summary(self, print_fn: Optional[Callable[[str], Any]] = None) -> None:
        """Print Keras 3's table of the layers, their output shapes and parameter counts.

        A functional model's table also says what each layer is connected to.

        Parameters
        ----------
        print_fn : callable, optional
            Called with the text to print; by default ``print``.
        """
        summary.print_summary(self, print if print_fn is None else print_fn)

    # ---- saving -----------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Return the model's config, as keras.Model.get_config.

        Returns
        -------
        dict
            Its layers, its nodes in run order (each the layer and its inputs as [layer
            name, node index, tensor index]), and its inputs and outputs likewise.
        """
        return saving.graph_config(self)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        """Create a model from its config, as keras.Model.from_config.

        Parameters
        ----------
        config : dict
            A config from `get_config`.

        Returns
        -------
        Model
            A new model with the config's graph (new weights).
        """
        inputs, outputs = saving.graph_from_config(config)
        return cls(inputs, outputs, name=config["name"], dtype=config["dtype"])

    def save(self, filepath: PathLike) -> None:
        """Write the model (architecture, weights, optimizer) to a .keras-style archive.

        With DataParallel, rank 0 writes and the other ranks, which hold the same weights, do
        not. `gru_native.load_model` reads it back.

        Parameters
        ----------
        filepath : str or os.PathLike
            Where to write.

        Examples
        --------
        >>> import os
        >>> import tempfile
        >>> import numpy as np
        >>> from gru_native import load_model
        >>> from gru_native.layers import GRU, Dense
        >>> from gru_native.models import Sequential
        >>> from gru_native.utils import set_random_seed
        >>> set_random_seed(0)
        >>> x = np.random.default_rng(0).normal(size=(4, 10, 3)).astype("float32")
        >>> model = Sequential([GRU(8, input_shape=(10, 3)), Dense(1)])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "model.keras")
        ...     model.save(path)
        ...     restored = load_model(path)
        >>> type(restored).__name__
        'Sequential'
        >>> bool(np.array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0)))
        True
        """
        if self.distribute is None or self.distribute.is_chief:
            saving.save_model(self, filepath)

    def save_weights(self, filepath: PathLike) -> None:
        """Write the weights alone, and their layout, to a file.

        With DataParallel, rank 0 writes and the other ranks do not, as `save`.
        `load_weights` reads it back.

        Parameters
        ----------
        filepath : str or os.PathLike
            Where to write.

        Raises
        ------
        ValueError
            If the model is not built yet.
        """
        if self.distribute is None or self.distribute.is_chief:
            saving.save_weights(self, filepath)

    def load_weights(self, filepath: PathLike) -> None:
        """Set the weights from a file written by `save_weights` (or `save`).

        The file's weights are checked layer by layer against the model's before any is set:
        on any error the model is left as it was.

        Parameters
        ----------
        filepath : str or os.PathLike
            The file to read.

        Raises
        ------
        ValueError
            If the model is not built yet, or for a file that is not a gru_native weights
            file or whose weights do not fit the model.
        """
        saving.load_weights(self, filepath)

    def export(self, filepath: PathLike, format: str = "onnx") -> None:
        """Write the model for other runtimes, as an ONNX file.

        For onnxruntime and other ONNX runtimes (``models/onnx_export.py``); needs the
        ``onnx`` package.

        Parameters
        ----------
        filepath : str or os.PathLike
            Where to write.
        format : {'onnx'}, default='onnx'
            The file format.

        Raises
        ------
        ValueError
            For a format other than 'onnx'.
        """
        if format != "onnx":
            raise ValueError(f"unknown export format {format!r}; known: 'onnx'")
        export_onnx(self, filepath)

    def __getstate__(self):
        return saving.model_to_arrays(self)

    def __setstate__(self, state):
        self.__dict__.update(saving.model_from_arrays(state).__dict__)


saving.register_model_class("Functional", Model)


def _shared_parameters(layers) -> Optional[Parameters]:
    """The one Parameters every layer of `layers` is already bound into, or None."""
    owners = {id(p.parameters): p.parameters for p in layers if getattr(p, "parameters", None) is not None}
    if len(owners) == 1 and all(getattr(layer, "parameters", None) is not None for layer in layers):
        return next(iter(owners.values()))
    return None


def _check_addressable(layers, dtype) -> None:
    """Raise a MemoryError naming the layer when the weights are too many for any buffer
    (units=10**9), instead of NumPy's 'Maximum allowed dimension exceeded' from allocate."""
    counts = [(sum(math.prod(spec.shape) for spec in layer.weight_specs()), layer)
              for layer in layers]
    nbytes = 2 * sum(n for n, _ in counts) * dtype.itemsize  # the weights and their gradients
    if nbytes > np.iinfo(np.intp).max:
        n, layer = max(counts, key=lambda count: count[0])
        raise MemoryError(f"the model's weights and gradients would need {nbytes / 2**30:.3g} GiB: "
                          f"layer {layer.name!r} ({type(layer).__name__}) alone has {n:.3g} "
                          "weights, its units (or its input's size) are too large")


class _Totals:
    """The running logs of an epoch or an evaluate: the loss as the mean of the batch losses
    weighted by batch size (Keras' loss tracker) and the metrics' running states. With
    `reduce` (DataParallel's sum over the ranks), the logs are those of every rank's batches."""

    def __init__(self, model: Model, reduce: Optional[Callable[[np.ndarray], np.ndarray]]) -> None:
        self.model, self.reduce = model, reduce
        self.loss_sum = 0.0
        self.count = 0
        self.output_sums = [0.0] * len(model.losses)

    def add(self, loss, per_output, size, ys, y_preds, masks, sws) -> dict[str, float]:
        """Count one batch of `size` samples (none: a rank with no batch left); the logs
        so far."""
        if size:
            self.model._update_metrics(ys, y_preds, masks, sws)
            self.loss_sum += loss * size
            self.output_sums = [s + (v or 0.0) * size
                                for s, v in zip(self.output_sums, per_output)]
            self.count += size
        return self.logs()

    def logs(self) -> dict[str, float]:
        """The logs of the batches counted so far ({} before any)."""
        metrics = self.model.compiled_metrics
        if self.reduce is None:
            if not self.count:
                return {}
            return self.model._metric_logs(self.loss_sum, self.output_sums, self.count,
                                           [float(m.result()) for m in metrics])
        # A metric's result is a ratio of sums (Mean's total / count); a metric that does not
        # say which counts with this rank's result weighted by its samples.
        parts = [metrics_module.result_parts(m, self.count) for m in metrics]
        k = len(self.output_sums)
        total = self.reduce(np.array([self.loss_sum, self.count, *self.output_sums,
                                      *(x for pair in parts for x in pair)], np.float64))
        if not total[1]:
            return {}
        pairs = total[2 + k:].reshape(-1, 2)
        return self.model._metric_logs(total[0], list(total[2:2 + k]), total[1],
                                       [n / d if d else 0.0 for n, d in pairs])


def _checked_validation_freq(freq):
    """Keras' validation_freq: validate every `freq` epochs, or after the listed (1-based) ones."""
    if isinstance(freq, (list, tuple, set, range)):
        return {check_int(epoch, "validation_freq entries", 1) for epoch in freq}
    return check_int(freq, "validation_freq", 1)


def _optional_steps(steps, name):
    return None if steps is None else check_int(steps, name, 1)


def _validates(epoch, freq) -> bool:
    return (epoch + 1) % freq == 0 if isinstance(freq, int) else epoch + 1 in freq


def _structured(tensors, keys):
    if keys is not None:
        return dict(zip(keys, tensors))
    return tensors[0] if len(tensors) == 1 else list(tensors)


def _as_returned(logs, return_dict):
    """Keras' return value of evaluate and train_on_batch: the logs, the loss alone, or a list."""
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
