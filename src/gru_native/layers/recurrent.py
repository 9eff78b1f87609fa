"""What the GRU and LSTM layers share: Keras' recurrent-layer arguments, masks turned into
sequence lengths, input and recurrent dropout, stateful states, go_backwards' reversed output,
return_state. A subclass builds its weights and runs its kernels (`_run`, `_run_backward`)."""

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


class Recurrent(Layer):
    """Masked steps (Masking, Embedding(mask_zero)) are skipped: they cost nothing and change
    nothing. `n_states` is the number of state arrays (GRU: h; LSTM: h and c)."""

    n_states = 1

    def __init__(self, units: int, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 use_bias: bool = True, kernel_initializer: InitializerLike = "glorot_uniform",
                 recurrent_initializer: InitializerLike = "orthogonal",
                 bias_initializer: InitializerLike = "zeros", dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 **kwargs: Any) -> None:
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
        self.states = None  # the carried states of a stateful layer (a list of n_states arrays)
        self._workspace = GRUWorkspace()  # scratch memory reused by every call

    def compute_output_shape(self, input_shape):
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
        """As a Keras recurrent layer: `initial_state` is [h] (GRU) or [h, c] (LSTM), tensors
        or arrays of shape (batch, units); their gradients flow back when training."""
        states = [] if initial_state is None else (
            list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state])
        return self._call([inputs] + states, len(states), training, mask)

    def node_output_shapes(self, input_shape, state_shapes):
        if state_shapes and (len(state_shapes) != self.n_states or any(
                tuple(s) != (self.units,) for s in state_shapes)):
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}) takes initial_state as "
                             f"{self.n_states} tensor(s) of shape (batch, {self.units}), got shapes "
                             f"{[(None,) + tuple(s) for s in state_shapes]}")
        y = self.compute_output_shape(input_shape)
        return [y] + [(self.units,)] * self.n_states if self.return_state else [y]

    def call_node(self, inputs, masks, training):
        x, initial = inputs[0], inputs[1:]
        if initial and len(initial) != self.n_states:
            raise ValueError(f"layer {self.name!r} takes {self.n_states} initial state(s), got "
                             f"{len(initial)}")
        return self._forward(x, masks[0], training, initial or None)

    def forward(self, x, mask=None, training=False):
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
            y = self._restore_order(y)
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
        d_outputs = list(dy) if self.return_state else [dy]
        return self.backward_node(d_outputs, need_dx)[0]

    def backward_node(self, d_outputs, need_dx, dy_is_logits=False):
        dy, d_finals = d_outputs[0], list(d_outputs[1:]) or [None] * self.n_states
        dy_seq = None
        if self.return_sequences:
            if dy is not None:
                dy_seq = dy[:, ::-1] if self.go_backwards else dy
                if self._order is not None:
                    dy_seq = np.take_along_axis(dy_seq, self._order[..., None], axis=1)
        elif dy is not None:  # the output is the final h
            d_finals[0] = dy if d_finals[0] is None else dy + d_finals[0]
        dx, d_initial = self._run_backward(dy_seq, d_finals, need_dx, self._has_initial)
        if dx is not None:
            dx = self._restore_order(dx)
            if self._dropout_mask is not None:
                dx *= self._dropout_mask
        return [dx] + (d_initial if self._has_initial else [])

    def _plan_weights(self):
        """(kind, kernel, recurrent_kernel, bias, reset_after) for a RecurrentOp."""
        raise NotImplementedError

    def plan_op(self, x, initial, new_slot, reverse, return_state):
        """This layer's RecurrentOp over slot x (initial: the state slots, or ()), its outputs
        in new slots; `reverse` runs it backwards in time."""
        kind, kernel, recurrent, bias, reset_after = self._plan_weights()
        outputs = tuple(new_slot() for _ in range(1 + (self.n_states if return_state else 0)))
        return RecurrentOp(kind, kernel, recurrent, bias, bool(reset_after), bool(reverse),
                           bool(self.return_sequences), x, tuple(initial), outputs)

    def inference_ops(self, inputs, new_slot):
        if self.stateful or (self.go_backwards and self.return_sequences):
            return None  # carried state, or Keras' reversed output order: through forward
        op = self.plan_op(inputs[0], inputs[1:], new_slot, self.go_backwards, self.return_state)
        return LayerOps([op], list(op.outputs))

    def twin(self):
        twin = super().twin()
        twin._workspace = GRUWorkspace()  # a cache lives in its workspace: one per node
        return twin

    def reset_states(self) -> None:
        self.states = None

    def get_config(self):
        return dict(super().get_config(), units=self.units, activation=self.activation,
                    recurrent_activation=self.recurrent_activation, use_bias=self.use_bias,
                    kernel_initializer=initializers.to_config(self.kernel_initializer),
                    recurrent_initializer=initializers.to_config(self.recurrent_initializer),
                    bias_initializer=initializers.to_config(self.bias_initializer),
                    dropout=self.dropout, recurrent_dropout=self.recurrent_dropout,
                    return_sequences=self.return_sequences, return_state=self.return_state,
                    go_backwards=self.go_backwards, stateful=self.stateful)
