"""What the GRU and LSTM layers share: Keras' recurrent-layer arguments, masks turned into
sequence lengths (and masked steps' outputs into repeats of earlier ones, as Keras 3), input and
recurrent dropout, stateful states, go_backwards' reversed output, return_state. A subclass
builds its weights and runs its kernels (`_run`, `_run_backward`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import initializers
from ..kernels.gru import GRUWorkspace
from ..kernels.plan_ops import LayerOps, RecurrentOp
from ..validation import check_bool, check_int, check_real
from .base import InitializerLike, Layer
from .dropout import dropout_mask


def lengths_from_mask(mask):
    """Per-sequence lengths for a (B, T) mask, and the step order that puts every sequence's
    unmasked steps first (None when they already are: padding at the end)."""
    mask = np.asarray(mask, bool)
    lengths = mask.sum(axis=1)
    if np.array_equal(mask, np.arange(mask.shape[1]) < lengths[:, None]):
        return lengths, None
    return lengths, np.argsort(~mask, axis=1, kind="stable")


def output_sources(mask, lengths, go_backwards):
    """Where each step's output comes from under a (B, T) mask, as Keras 3: a masked step
    repeats the output of the last valid step the layer ran before it (the previous valid step;
    with go_backwards the next one), and the initial state before any valid step. Returns the
    (B, T) indices of those valid steps among each sequence's valid steps (the kernels' compacted
    order), -1 for the initial state; None when every step is valid (outputs as they are)."""
    mask = np.asarray(mask, bool)
    if lengths.min(initial=mask.shape[1]) == mask.shape[1]:
        return None
    before = np.cumsum(mask, axis=1)  # valid steps at or before each step
    if not go_backwards:
        return before - 1
    source = before - mask  # valid steps before: the compacted index of the next valid step
    source[source == lengths[:, None]] = -1  # no valid step after: the initial state
    return source


def gather_outputs(y, source, initial):
    """The (B, T, H) outputs at the original steps from the kernels' compacted outputs y (see
    output_sources); `initial` (B, H) at source -1, or None for zeros."""
    B, T, H = y.shape
    rows = np.arange(B)[:, None] * T
    out = np.ascontiguousarray(y).reshape(B * T, H)[(rows + np.maximum(source, 0)).ravel()]
    out = out.reshape(B, T, H)
    rows, steps = np.nonzero(source < 0)
    if len(rows):
        out[rows, steps] = 0 if initial is None else initial[rows]
    return out


def scatter_gradient(dy, source, valid, repeats=True):
    """The adjoint of gather_outputs: (the gradient at the compacted outputs, the gradient
    reaching each sequence's initial state (B, H)). `valid`: the (B, T) mask. A valid step is
    its own source; the masked steps repeating one output form a run of consecutive steps,
    summed by one reduceat over the masked steps (with `repeats` False their outputs were
    zeros: they send nothing)."""
    B, T, H = dy.shape
    dy = np.ascontiguousarray(dy).reshape(B * T, H)
    flat_source = (np.arange(B)[:, None] * T + source).ravel()
    valid = np.asarray(valid, bool).ravel()
    d_compact = np.zeros((B * T, H), dy.dtype)
    d_compact[flat_source[valid]] = dy[valid]
    d_initial = np.zeros((B, H), dy.dtype)
    masked = np.flatnonzero(~valid)
    if repeats and len(masked):
        targets = flat_source[masked]  # a masked run's source (below its row's start: -1)
        starts = np.flatnonzero(np.diff(targets, prepend=-2) != 0)
        sums = np.add.reduceat(dy[masked], starts, axis=0)
        rows, steps = masked[starts] // T, source.ravel()[masked[starts]]
        to_step = steps >= 0
        d_compact[targets[starts][to_step]] += sums[to_step]  # one run per source
        np.add.at(d_initial, rows[~to_step], sums[~to_step])
    return d_compact.reshape(B, T, H), d_initial


class Recurrent(Layer):
    """The base of GRU and LSTM: Keras' recurrent-layer arguments, masks, dropout and states.

    A subclass builds its weights and runs its kernels (``_run``, ``_run_backward``).
    Masked steps (Masking, Embedding(mask_zero)) are skipped: they cost nothing and change
    nothing, the state passes through them; as in Keras 3 the sequence output at a masked step
    repeats the output of the last step run before it (the initial state before the first valid
    step; with go_backwards, of the next valid step), or is zero with zero_output_for_mask.
    ``n_states`` is the number of state arrays (GRU: h; LSTM: h and c).

    Parameters
    ----------
    units : int
        Dimension of the output and state.
    activation : {'tanh'}, default='tanh'
        The candidate's activation: the kernels compute tanh (any other raises ValueError).
    recurrent_activation : {'sigmoid'}, default='sigmoid'
        The gates' activation: the kernels compute sigmoid (any other raises ValueError).
    use_bias : bool, default=True
        Whether the layer has a bias.
    kernel_initializer : str, dict or Initializer, default='glorot_uniform'
        Initialiser of the input kernel.
    recurrent_initializer : str, dict or Initializer, default='orthogonal'
        Initialiser of the recurrent kernel.
    bias_initializer : str, dict or Initializer, default='zeros'
        Initialiser of the bias.
    dropout : float, default=0.0
        Fraction of the inputs dropped in training (one mask per sequence, for all steps).
    recurrent_dropout : float, default=0.0
        Fraction of the state dropped where it enters the recurrent products, in training
        (one mask per sequence, for all steps and gates).
    return_sequences : bool, default=False
        Return the output of every step (batch, timesteps, units), not only the last.
    return_state : bool, default=False
        Also return the final states, after the output.
    go_backwards : bool, default=False
        Read the sequences backwards (and return the reversed output sequence, as Keras).
    stateful : bool, default=False
        Keep the final states of a batch as the initial states of the next (sample i of each
        batch continues sample i of the one before) until ``reset_states()``.
    zero_output_for_mask : bool, default=False
        Zeros, not repeats, as the sequence output at masked steps (Bidirectional sets it).
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        For an activation other than tanh or a recurrent activation other than sigmoid, or an
        argument out of range.
    """

    n_states = 1

    def __init__(self, units: int, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 use_bias: bool = True, kernel_initializer: InitializerLike = "glorot_uniform",
                 recurrent_initializer: InitializerLike = "orthogonal",
                 bias_initializer: InitializerLike = "zeros", dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.units = check_int(units, "units", 1)
        if activation != "tanh" or recurrent_activation != "sigmoid":
            raise ValueError(f"the {kind} kernels compute activation='tanh' and "
                             f"recurrent_activation='sigmoid'; got {activation!r}, {recurrent_activation!r}")
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self.use_bias = check_bool(use_bias, "use_bias")
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.dropout = check_real(dropout, "dropout", 0, 1, high_open=True)
        self.recurrent_dropout = check_real(recurrent_dropout, "recurrent_dropout", 0, 1,
                                            high_open=True)
        self.return_sequences = check_bool(return_sequences, "return_sequences")
        self.return_state = check_bool(return_state, "return_state")
        self.go_backwards = check_bool(go_backwards, "go_backwards")
        self.stateful = check_bool(stateful, "stateful")
        # Keras' option: zeros, not repeats, at masked steps (Bidirectional sets it)
        self.zero_output_for_mask = check_bool(zero_output_for_mask, "zero_output_for_mask")
        self.states = None  # the carried states of a stateful layer (a list of n_states arrays)
        self._workspace = GRUWorkspace()  # scratch memory reused by every call

    def compute_output_shape(self, input_shape):
        """Return the output shape for inputs of `input_shape`, ``(timesteps, features)``.

        Parameters
        ----------
        input_shape : tuple of int or None
            The shape of the inputs without the batch axis, ``(timesteps, features)``.

        Returns
        -------
        tuple of int or None
            ``(timesteps, units)`` with return_sequences, else ``(units,)``.

        Raises
        ------
        ValueError
            For inputs of another rank.
        """
        if len(input_shape) != 2:
            raise ValueError(f"{type(self).__name__} expects inputs of shape (timesteps, "
                             f"features), got {input_shape}")
        return (input_shape[0], self.units) if self.return_sequences else (self.units,)

    def _run(self, x, lengths, states, training, recurrent_mask):
        """The kernels' forward: returns (y or None, final states list); keeps their cache."""
        raise NotImplementedError

    def _run_backward(self, dy_seq, d_finals, need_dx, need_d0):
        """The kernels' backward from dy_seq (B, T, H) and d_finals (a gradient or None per final
        state); writes self.grads and returns (dx or None, the initial states' gradients)."""
        raise NotImplementedError

    # ---- calls: x, then optionally its initial states ----------------------------------------
    def __call__(self, inputs: Any, initial_state: Any = None, training: bool = False,
                 mask: Any = None) -> Any:
        """Call the layer on a batch of sequences, as a Keras recurrent layer.

        On KerasTensors, record a node of a graph and return its symbolic outputs; on arrays,
        run the layer (building it, with weights of its own, if needed).

        Parameters
        ----------
        inputs : KerasTensor or array-like of shape (batch, timesteps, features)
            The input sequences.
        initial_state : KerasTensor, array-like or list of them, optional
            The initial states, [h] (GRU) or [h, c] (LSTM), tensors or arrays of shape
            (batch, units); their gradients flow back when training.
        training : bool, default=False
            Whether the call is a training step (dropout applies).
        mask : array-like of bool of shape (batch, timesteps), optional
            True where a step is valid.

        Returns
        -------
        KerasTensor or ndarray, or list of them
            The output; with return_state, the output followed by the final states.
        """
        states = [] if initial_state is None else (
            list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state])
        return self._call([inputs] + states, len(states), training, mask)

    def node_output_shapes(self, input_shape, state_shapes):
        """Return the shapes of what a call returns: the output, then the final states.

        Parameters
        ----------
        input_shape : tuple of int or None
            The shape of the inputs without the batch axis, ``(timesteps, features)``.
        state_shapes : list of tuple
            The shapes of the initial states the call is given, without the batch axis
            (empty: none).

        Returns
        -------
        list of tuple
            The output's shape, followed with return_state by ``(units,)`` per state, each
            without the batch axis.

        Raises
        ------
        ValueError
            For initial states other than ``n_states`` of shape (batch, units).
        """
        if state_shapes and (len(state_shapes) != self.n_states or any(
                tuple(s) != (self.units,) for s in state_shapes)):
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}) takes initial_state as "
                             f"{self.n_states} tensor(s) of shape (batch, {self.units}), got shapes "
                             f"{[(None,) + tuple(s) for s in state_shapes]}")
        y = self.compute_output_shape(input_shape)
        return [y] + [(self.units,)] * self.n_states if self.return_state else [y]

    def call_node(self, inputs, masks, training):
        """Run the forward of one node: x and its initial states in, the outputs out.

        Parameters
        ----------
        inputs : list of ndarray
            The sequences x (batch, timesteps, features), followed by the initial states
            (batch, units) when the call has them.
        masks : list of ndarray or None
            The mask of each input; x's (batch, timesteps) is the one read.
        training : bool
            Whether the call is a training step.

        Returns
        -------
        outputs : list of ndarray
            The output, followed with return_state by the final states.
        masks : list of ndarray or None
            The mask of each output: x's on a sequence output, else None.

        Raises
        ------
        ValueError
            For another number of initial states than ``n_states``, or inputs of another
            shape.
        """
        x, initial = inputs[0], inputs[1:]
        if initial and len(initial) != self.n_states:
            raise ValueError(f"layer {self.name!r} takes {self.n_states} initial state(s), got "
                             f"{len(initial)}")
        return self._forward(x, masks[0], training, initial or None)

    def forward(self, x, mask=None, training=False):
        """Run the layer over a batch of sequences, keeping what `backward` needs.

        Parameters
        ----------
        x : ndarray of shape (batch, timesteps, features)
            The input sequences.
        mask : ndarray of bool of shape (batch, timesteps), optional
            True where a step is valid; masked steps are skipped.
        training : bool, default=False
            Whether the call is a training step (dropout applies).

        Returns
        -------
        y : ndarray or list of ndarray
            The output: (batch, timesteps, units) with return_sequences, else (batch, units);
            with return_state, a list of it followed by the final states.
        mask : ndarray of bool or None
            The output's mask: `mask` on a sequence output, else None.

        Raises
        ------
        ValueError
            For inputs of another shape, or a stateful layer's batch of another size.
        """
        outputs, masks = self._forward(x, mask, training, None)
        return (outputs if self.return_state else outputs[0]), masks[0]

    def _forward(self, x, mask, training, initial):
        if x.ndim != 3 or x.shape[2] != self.input_shape[1]:
            raise ValueError(f"layer {self.name!r} expects inputs of shape (batch, timesteps, "
                             f"{self.input_shape[1]}), got {x.shape}")
        self._dropout_mask = None
        if training and self.dropout:  # one mask per sequence, the same at every step, as Keras
            self._dropout_mask = dropout_mask((x.shape[0], 1, x.shape[2]), self.dropout, x.dtype)
            x = x * self._dropout_mask
        recurrent_mask = None
        if training and self.recurrent_dropout:  # one mask per sequence for all steps and gates
            recurrent_mask = dropout_mask((x.shape[0], self.units), self.recurrent_dropout, x.dtype)
        lengths, self._order = (None, None) if mask is None else lengths_from_mask(mask)
        self._source = None if mask is None or not self.return_sequences else \
            output_sources(mask, lengths, self.go_backwards)
        self._valid = None if self._source is None else np.asarray(mask, bool)
        if self._source is not None and self.zero_output_for_mask:
            self._source[~self._valid] = -1  # -1 at masked steps only: zeros
        if self._order is not None:
            x = np.take_along_axis(x, self._order[..., None], axis=1)
        states = None
        if initial is not None:
            states = [np.ascontiguousarray(s, x.dtype) for s in initial]
            for s in states:
                if s.shape != (x.shape[0], self.units):
                    raise ValueError(f"layer {self.name!r}: an initial state must have shape "
                                     f"({x.shape[0]}, {self.units}), got {s.shape}")
        elif self.stateful and self.states is not None:
            if self.states[0].shape[0] != x.shape[0]:
                raise ValueError(f"stateful layer {self.name!r} keeps states for batches of "
                                 f"{self.states[0].shape[0]}, got a batch of {x.shape[0]}")
            states = self.states
        self._has_initial = initial is not None
        y, final = self._run(x, lengths, states, training, recurrent_mask)
        if self.stateful:
            self.states = final
        out_mask = None
        if self.return_sequences:
            if self._source is not None:  # masked steps repeat an output, as Keras 3
                y = gather_outputs(y, self._source, None if states is None or
                                   self.zero_output_for_mask else states[0])
            if self.go_backwards:
                y = y[:, ::-1]  # Keras returns the reversed sequence
            out_mask = mask
        else:
            y = final[0]
        if not self.return_state:
            return [y], [out_mask]
        return [y] + final, [out_mask] + [None] * len(final)

    def _restore_order(self, a):
        if self._order is None:
            return a
        out = np.zeros_like(a)
        np.put_along_axis(out, self._order[..., None], a, axis=1)
        return out

    def backward(self, dy, need_dx=True):
        """Write the weights' gradients from the output's; return the input's gradient.

        Parameters
        ----------
        dy : ndarray or list of ndarray
            The gradient of the loss w.r.t. the output of the last `forward` (with
            return_state, a list: the output's, then each final state's, None for none).
        need_dx : bool, default=True
            Whether the input's gradient is needed.

        Returns
        -------
        ndarray or None
            The gradient w.r.t. x, None when `need_dx` is False.
        """
        d_outputs = list(dy) if self.return_state else [dy]
        return self.backward_node(d_outputs, need_dx)[0]

    def backward_node(self, d_outputs, need_dx, dy_is_logits=False):
        """Run the backward of the node just run: the outputs' gradients in, the inputs' out.

        Parameters
        ----------
        d_outputs : list of ndarray or None
            The gradient of the output, followed with return_state by those of the final
            states (None for none).
        need_dx : bool
            Whether the gradient of x is needed.
        dy_is_logits : bool, default=False
            Unused: a recurrent layer has no final activation to fuse with a loss.

        Returns
        -------
        list of ndarray or None
            The gradient of x (None when `need_dx` is False), followed by those of the
            initial states when the call had them.
        """
        dy, d_finals = d_outputs[0], list(d_outputs[1:]) or [None] * self.n_states
        dy_seq = d_repeated_initial = None
        if self.return_sequences:
            if dy is not None:
                dy_seq = dy[:, ::-1] if self.go_backwards else dy
                if self._source is not None:  # each output's gradient to the step it repeats
                    dy_seq, d_repeated_initial = scatter_gradient(
                        dy_seq, self._source, self._valid, not self.zero_output_for_mask)
        elif dy is not None:  # the output is the final h
            d_finals[0] = dy if d_finals[0] is None else dy + d_finals[0]
        dx, d_initial = self._run_backward(dy_seq, d_finals, need_dx, self._has_initial)
        if self._has_initial and d_repeated_initial is not None and not self.zero_output_for_mask:
            d_initial = [d_initial[0] + d_repeated_initial] + list(d_initial[1:])
        if dx is not None:
            dx = self._restore_order(dx)
            if self._dropout_mask is not None:
                dx *= self._dropout_mask
        return [dx] + (d_initial if self._has_initial else [])

    def _plan_weights(self):
        """(kind, kernel, recurrent_kernel, bias, reset_after) for a RecurrentOp."""
        raise NotImplementedError

    def plan_op(self, x, initial, new_slot, reverse, return_state):
        """Return this layer's recurrent op of an inference plan, its outputs in new slots.

        Parameters
        ----------
        x : int
            The slot of the input sequence.
        initial : sequence of int
            The slots of the initial states, or ().
        new_slot : callable
            ``new_slot()`` numbers a new slot.
        reverse : bool
            Whether the op runs backwards in time.
        return_state : bool
            Whether the op also outputs the final states.

        Returns
        -------
        RecurrentOp
            The op, over the layer's weights.
        """
        kind, kernel, recurrent, bias, reset_after = self._plan_weights()
        outputs = tuple(new_slot() for _ in range(1 + (self.n_states if return_state else 0)))
        return RecurrentOp(kind, kernel, recurrent, bias, bool(reset_after), bool(reverse),
                           bool(self.return_sequences), x, tuple(initial), outputs)

    def inference_ops(self, inputs, new_slot):
        """Return what one call computes at prediction: one recurrent op.

        Parameters
        ----------
        inputs : sequence of int
            The slot of x, then those of the initial states.
        new_slot : callable
            ``new_slot()`` numbers a new slot.

        Returns
        -------
        LayerOps or None
            The op and its output slots; None (the model then predicts through `forward`)
            for a stateful layer (a carried state) or one going backwards that returns
            sequences (Keras' reversed output order).
        """
        if self.stateful or (self.go_backwards and self.return_sequences):
            return None  # carried state, or Keras' reversed output order: through forward
        op = self.plan_op(inputs[0], inputs[1:], new_slot, self.go_backwards, self.return_state)
        return LayerOps([op], list(op.outputs))

    def twin(self):
        """Return this layer for another node of a graph (a layer called twice).

        Returns
        -------
        Layer
            A copy with the same weight and gradient views and a workspace of its own
            (where a call keeps its cache).
        """
        twin = super().twin()
        twin._workspace = GRUWorkspace()  # a cache lives in its workspace: one per node
        return twin

    def reset_states(self) -> None:
        """Forget the states a stateful layer carries: the next batch starts from zeros."""
        self.states = None

    def get_config(self):
        """Return the layer's configuration, from which `from_config` makes it again.

        Returns
        -------
        dict
            The Layer's configuration with the recurrent arguments (``units``,
            ``activation``, ..., ``zero_output_for_mask``).
        """
        return dict(super().get_config(), units=self.units, activation=self.activation,
                    recurrent_activation=self.recurrent_activation, use_bias=self.use_bias,
                    kernel_initializer=initializers.to_config(self.kernel_initializer),
                    recurrent_initializer=initializers.to_config(self.recurrent_initializer),
                    bias_initializer=initializers.to_config(self.bias_initializer),
                    dropout=self.dropout, recurrent_dropout=self.recurrent_dropout,
                    return_sequences=self.return_sequences, return_state=self.return_state,
                    go_backwards=self.go_backwards, stateful=self.stateful,
                    zero_output_for_mask=self.zero_output_for_mask)
