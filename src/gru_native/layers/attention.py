"""Attention: Keras' dot-product (Luong) or additive-style ('concat', Bahdanau) attention of a query
sequence over a value sequence, called on [query, value] or [query, value, key].

scores (batch, Tq, Tv) = query key^T (times a learnt `scale` with use_scale), or with
score_mode='concat' concat_score_weight * sum over features of tanh(scale * (q_i + k_j));
steps the value mask or `use_causal_mask` exclude get -1e9 before the softmax; the output is
softmax(scores) value, zero at the query's padded steps, and carries the query's mask on.
'dot' runs in C (kernels/attention.pyx); 'concat' in NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels.attention import attention_backward, attention_forward
from ..validation import check_bool, check_int, check_real
from .attention_weights import EXCLUDED, allowed_pairs, softmax, softmax_backward
from .base import Layer, as_shape, true_options
from .dropout import dropout_mask

SCORE_MODES = ("dot", "concat")


class Attention(Layer):
    """Dot-product or additive attention of a query sequence over a value sequence.

    As ``keras.layers.Attention``: dot-product (Luong) or additive ('concat', Bahdanau)
    attention, called on ``[query, value]`` or ``[query, value, key]``, each
    (batch, steps, features); without a key, the value is the key. The scores
    (batch, Tq, Tv) are ``query @ key.T`` (times a learnt ``scale`` with `use_scale`), or
    with 'concat' ``concat_score_weight`` times the sum over the features of
    ``tanh(scale * (q_i + k_j))``. The pairs the value's mask or the causal mask exclude have
    1e9 subtracted from their scores before the softmax over the value steps. The output
    (batch, Tq, value features) is the softmax's weights times the value, zero at the query's
    padded steps; it carries the query's mask on. 'dot' scores run in C, 'concat' in NumPy.

    Beyond ``inputs``, ``training`` and ``mask`` (a list: the query's and the value's masks,
    for a call on arrays), the call takes ``use_causal_mask`` (query step i attends to the
    key steps up to i) and ``return_attention_scores`` (the call also returns the attention
    weights, (batch, Tq, Tv), times the dropout's mask in training), both False by default.

    Parameters
    ----------
    use_scale : bool, default=False
        Learn a scalar weight ``scale`` (starting at 1) that multiplies the scores ('dot') or
        the argument of the tanh ('concat').
    score_mode : {'dot', 'concat'}, default='dot'
        The scores: dot products, or Keras' additive 'concat' form (with a learnt scalar
        ``concat_score_weight``, starting at 1).
    dropout : float, default=0.0
        Fraction of the attention weights dropped in training.
    seed : int, optional
        Kept in the config, as Keras' argument: the dropout draws from
        :func:`~gru_native.utils.rng` (see :func:`~gru_native.utils.set_random_seed`).
    **kwargs
        The arguments of :class:`~gru_native.layers.Layer`: ``name``, ``input_shape``,
        ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        For another `score_mode`, a `dropout` outside [0, 1) or a negative `seed`.
    TypeError
        For a `use_scale` that is not a bool.
    """

    multi_input = True
    call_option_names = ("use_causal_mask", "return_attention_scores")

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if score_mode not in SCORE_MODES:
            raise ValueError(f"Invalid value for argument score_mode. Expected one of "
                             f"{set(SCORE_MODES)}. Received: score_mode={score_mode}")
        self.use_scale, self.score_mode = check_bool(use_scale, "use_scale"), score_mode
        self.dropout = check_real(dropout, "dropout", 0, 1, high_open=True)
        self.seed = None if seed is None else check_int(seed, "seed", 0)

    def __call__(self, inputs: Any, training: bool = False, mask: Any = None,
                 return_attention_scores: bool = False, use_causal_mask: bool = False) -> Any:
        options = true_options(return_attention_scores=return_attention_scores,
                               use_causal_mask=use_causal_mask)
        return self._call(self._as_list(inputs), 0, training, mask, options)

    def _as_list(self, inputs):
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            raise ValueError(f"layer {self.name!r}: Attention must be called on a list of inputs, "
                             f"namely [query, value] or [query, value, key], got {inputs!r:.200}")
        return list(inputs)

    # ---- shapes and weights ---------------------------------------------------------------
    def _check_shapes(self, input_shapes):
        shapes = [as_shape(s, f"layer {self.name!r}: input shape") for s in input_shapes]
        if not 2 <= len(shapes) <= 3 or any(len(s) != 2 for s in shapes):
            raise ValueError(f"layer {self.name!r} (Attention) takes [query, value] or [query, "
                             f"value, key], each (batch, steps, features); got shapes "
                             f"{[(None,) + s for s in shapes]}")
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) == 3 else value
        if query[1] != key[1] or (len(shapes) == 3 and key[0] != value[0] and None not in
                                  (key[0], value[0])):
            raise ValueError(f"layer {self.name!r} (Attention): the query and the key need the same "
                             f"features, the key and the value the same steps; got query "
                             f"{(None,) + query}, value {(None,) + value}, key {(None,) + key}")
        return shapes

    def compute_output_shape(self, input_shapes):
        """Return the output shape: the query's steps, the value's features.

        Parameters
        ----------
        input_shapes : list of tuple
            The shapes of the query, the value and (optionally) the key, each
            ``(steps, features)`` without the batch axis.

        Returns
        -------
        tuple of int or None
            ``(Tq, value features)``, without the batch axis.

        Raises
        ------
        ValueError
            For other than two or three inputs of shape (batch, steps, features), a key whose
            features differ from the query's, or a key whose steps differ from the value's.
        """
        shapes = self._check_shapes(input_shapes)
        return (shapes[0][0], shapes[1][1])

    def node_output_shapes(self, input_shapes, state_shapes):
        """Return the shapes of what a call returns: the output, then the scores if asked.

        Parameters
        ----------
        input_shapes : list of tuple
            The shapes of the query, the value and (optionally) the key, without the batch
            axis.
        state_shapes : list of tuple
            Empty: the layer takes no initial states.

        Returns
        -------
        list of tuple
            The output's shape, followed with ``return_attention_scores`` by the scores'
            ``(Tq, Tv)``, without the batch axis.

        Raises
        ------
        ValueError
            For shapes `compute_output_shape` refuses, or initial states.
        """
        out = super().node_output_shapes(input_shapes, state_shapes)
        if self.call_options.get("return_attention_scores"):
            shapes = self._check_shapes(input_shapes)
            out.append((shapes[0][0], shapes[1][0]))
        return out

    def build(self, input_shapes):
        """Declare the weights for inputs of `input_shapes`; return the output shape.

        The weights are scalars: ``scale`` with `use_scale`, ``concat_score_weight`` with
        score_mode='concat' (both starting at 1); none otherwise.

        Parameters
        ----------
        input_shapes : list of tuple
            The shapes of the query, the value and (optionally) the key, without the batch
            axis.

        Returns
        -------
        tuple of int or None
            ``(Tq, value features)``, without the batch axis.

        Raises
        ------
        ValueError
            For shapes `compute_output_shape` refuses.
        """
        out = super().build(self._check_shapes(input_shapes))
        if self.use_scale:
            self.add_weight("scale", (), "ones")
        if self.score_mode == "concat":
            self.add_weight("concat_score_weight", (), "ones")
        return out

    def check_input_shape(self, shapes):
        """Raise ValueError for the shapes of a call the layer cannot take.

        The weights are scalars: a built layer takes any shapes `compute_output_shape` takes.

        Parameters
        ----------
        shapes : list of tuple
            The shapes of the query, the value and (optionally) the key, without the batch
            axis.

        Raises
        ------
        ValueError
            For shapes `compute_output_shape` refuses.
        """
        self._check_shapes(shapes)

    # ---- running ------------------------------------------------------------------------
    def _scale(self):
        return self.weights[0] if self.use_scale else None

    def call_node(self, inputs, masks, training):
        """Run the forward of one node: the query, value and key in, the output out.

        Parameters
        ----------
        inputs : list of ndarray
            The query (batch, Tq, features), the value (batch, Tv, value features) and
            optionally the key (batch, Tv, features).
        masks : list of ndarray or None
            The mask of each input: the query's (batch, Tq) zeroes the output at its padded
            steps, the value's (batch, Tv) excludes value steps; None for none.
        training : bool
            Whether the call is a training step (dropout applies).

        Returns
        -------
        outputs : list of ndarray
            The output (batch, Tq, value features), followed with
            ``return_attention_scores`` by the attention weights (batch, Tq, Tv).
        masks : list of ndarray or None
            The query's mask for the output, None for the scores.
        """
        q, v = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else None  # None: the value is the key
        q_mask, v_mask = masks[0], masks[1] if len(masks) > 1 else None
        self._drop = None
        if training and self.dropout > 0:
            self._drop = dropout_mask((q.shape[0], q.shape[1], v.shape[1]), self.dropout, q.dtype)
        self._inputs, self._q_mask = (q, v, key), q_mask
        causal = bool(self.call_options.get("use_causal_mask"))
        if self.score_mode == "dot":
            out, self._weights, used = attention_forward(
                q, v, key, scale=self._scale(), value_mask=v_mask, query_mask=q_mask,
                causal=causal, dropout_mask=self._drop)
        else:
            out, used = self._concat_forward(q, v, v if key is None else key, v_mask, causal)
        outputs = [out.astype(q.dtype, copy=False)]
        if self.call_options.get("return_attention_scores"):
            outputs.append(used.astype(q.dtype, copy=False))
        return outputs, [q_mask] + [None] * (len(outputs) - 1)

    def backward_node(self, d_outputs, need_dx, dy_is_logits=False):
        """Run the backward of the node just run: the outputs' gradients in, the inputs' out.

        Parameters
        ----------
        d_outputs : list of ndarray or None
            The gradient of the output, followed with ``return_attention_scores`` by that of
            the scores (None for none).
        need_dx : bool
            Whether the inputs' gradients are needed (they are computed either way).
        dy_is_logits : bool, default=False
            Unused: the layer has no final activation to fuse with a loss.

        Returns
        -------
        list of ndarray
            The gradients of the query and the value, and of the key when the call had one
            (without one, the value's includes its part as the key).
        """
        q, v, key = self._inputs
        d_out = d_outputs[0]
        d_used = d_outputs[1] if len(d_outputs) > 1 else None
        if self.score_mode == "dot":
            dq, dv, dk, dscale = attention_backward(
                q, v, key, self._weights, d_out, d_used, scale=self._scale(),
                query_mask=self._q_mask, dropout_mask=self._drop, need_dscale=self.use_scale)
            if self.use_scale:
                self.grads[0][...] = dscale
        else:
            dq, dv, dk = self._concat_backward(q, v, v if key is None else key, d_out, d_used)
            if key is None:
                dv = dv + dk
        return [dq, dv] if key is None else [dq, dv, dk]

    # ---- score_mode='concat': no kernel, the NumPy fallback ------------------------------
    def _concat_forward(self, q, v, k, v_mask, causal):
        """(out, the used weights) of Keras' concat scores."""
        scale = self._scale()
        self._tanh = np.tanh((q[:, :, None] + k[:, None]) * (1 if scale is None else scale))
        scores = self.weights[-1] * self._tanh.sum(-1)
        allowed = allowed_pairs(q.shape[1], k.shape[1], key_masks=[v_mask], causal=causal)
        if allowed is not None:
            scores = np.where(allowed, scores, scores - EXCLUDED)
        self._weights = softmax(scores)
        self._used = self._weights if self._drop is None else self._weights * self._drop
        out = self._used @ v
        if self._q_mask is not None:
            out *= self._q_mask[..., None]
        return out, self._used

    def _concat_backward(self, q, v, k, d_out, d_used):
        """(dq, dv, dk) of _concat_forward, the weights' gradients written to self.grads."""
        d_used = np.zeros_like(self._used) if d_used is None else d_used
        dv = np.zeros_like(v)
        if d_out is not None:
            if self._q_mask is not None:
                d_out = d_out * self._q_mask[..., None]
            d_used = d_used + d_out @ v.transpose(0, 2, 1)
            dv = self._used.transpose(0, 2, 1) @ d_out
        d_weights = d_used if self._drop is None else d_used * self._drop
        d_scores = softmax_backward(self._weights, d_weights)
        scale, c = self._scale(), self.weights[-1]
        self.grads[-1][...] = (d_scores * self._tanh.sum(-1)).sum()
        d_pre = c * d_scores[..., None] * (1 - self._tanh ** 2)  # d (scale * (q_i + k_j))
        if scale is not None:
            self.grads[0][...] = (d_pre * (q[:, :, None] + k[:, None])).sum()
            d_pre = d_pre * scale
        return d_pre.sum(2), dv, d_pre.sum(1)

    def get_config(self):
        """Return the layer's configuration, from which `from_config` makes it again.

        Returns
        -------
        dict
            The Layer's configuration with ``use_scale``, ``score_mode``, ``dropout`` and
            ``seed``.
        """
        return dict(super().get_config(), use_scale=self.use_scale, score_mode=self.score_mode,
                    dropout=self.dropout, seed=self.seed)

