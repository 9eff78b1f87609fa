"""MultiHeadAttention: Keras 3's multi-head scaled dot-product attention (Vaswani et al. 2017) of
a query sequence over a value sequence, over the steps axis of (batch, steps, features) inputs.

Each head h projects the query, key and value (Keras' EinsumDense kernels (features, heads,
dim), biases (heads, dim)), scores (batch, heads, Tq, Tv) = (q_h / sqrt(key_dim)) k_h^T, takes
the softmax over the key steps (dropout on it in training) and its product with v_h; the heads'
results (heads, value_dim) go through the output kernel (heads, value_dim, *output_shape).

Masks: a pair (query step, key step) counts when the query step, the value step and the key
step are valid, the causal mask allows it and `attention_mask` does; a query step with no such
pair has all-zero weights (its output is the output bias), and the output carries the query's
mask on, as Keras. In a graph the masks travel with the tensors; a call on arrays takes them as
query_mask, value_mask and key_mask (Keras 3 ignores an explicit query_mask on arrays; it is
honoured here). The node's inputs are [query, value], [query, value, key] or, with an
attention mask, [query, value, key (the value when none), attention_mask].
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .. import initializers
from ..validation import check_bool, check_int, check_real
from .attention_weights import EXCLUDED, allowed_pairs, softmax, softmax_backward
from .base import InitializerLike, Layer, as_shape, true_options
from .dropout import dropout_mask
from .node import is_symbolic

_STEPS_AXES = ((1,), (-2,))  # the steps axis of (batch, steps, features), as Keras counts it


def _attention_axes(axes):
    """attention_axes as a tuple (an int as a 1-tuple), or None: only the steps axis."""
    if axes is None:
        return None
    given = (axes,) if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool) else axes
    if not isinstance(given, (list, tuple)) or tuple(given) not in _STEPS_AXES:
        raise ValueError(f"attention_axes must be None, 1 or -2 (the steps axis of (batch, steps, "
                         f"features) inputs: other axes are not supported), got {axes!r}")
    return tuple(given)


def _output_dims(output_shape):
    """output_shape as a tuple of positive ints, or None: the query's features."""
    if output_shape is None:
        return None
    dims = (output_shape,) if not isinstance(output_shape, (list, tuple)) else output_shape
    if not dims:
        raise ValueError("output_shape must be a positive integer, a non-empty tuple of them or "
                         "None, got ()")
    return tuple(check_int(d, "output_shape", 1) for d in dims)


def _project(x, kernel, bias):
    """x (batch, steps, features) through an EinsumDense kernel (features, heads, dim) and bias
    (heads, dim): (batch, heads, steps, dim)."""
    B, T, F = x.shape
    y = x.reshape(B * T, F) @ kernel.reshape(F, -1)
    if bias is not None:
        y += bias.reshape(-1)
    return y.reshape(B, T, *kernel.shape[1:]).transpose(0, 2, 1, 3)


def _project_backward(x, kernel, d_heads, d_kernel, d_bias, need_dx):
    """The backward of _project: writes d_kernel and d_bias, returns dx (None: not needed)."""
    B, T, F = x.shape
    d = d_heads.transpose(0, 2, 1, 3).reshape(B * T, -1)
    d_kernel[...] = (x.reshape(B * T, F).T @ d).reshape(d_kernel.shape)
    if d_bias is not None:
        d_bias[...] = d.sum(0).reshape(d_bias.shape)
    return (d @ kernel.reshape(F, -1).T).reshape(B, T, F) if need_dx else None


class MultiHeadAttention(Layer):
    """Multi-head scaled dot-product attention of a query sequence over a value sequence.

    As ``keras.layers.MultiHeadAttention`` (Vaswani et al. 2017; its EinsumDense weight
    layouts), over the steps axis of (batch, steps, features) inputs. Each head projects the
    query, key and value (kernels (features, heads, dim), biases (heads, dim)), scores
    (batch, heads, Tq, Tv) = ``(q_h / sqrt(key_dim)) @ k_h.T``, takes the softmax over the key
    steps (dropout on it in training) and its product with ``v_h``; the heads' results
    ``(heads, value_dim)`` go through the output kernel ``(heads, value_dim, *output_shape)``.

    Called as ``layer(query, value, key=None, query_mask=None, value_mask=None,
    key_mask=None, attention_mask=None, return_attention_scores=False, training=None,
    use_causal_mask=False)``: without a key, the value is the key; ``attention_mask``
    (batch, Tq, Tv) is True (or 1) where a query step may attend to a key step. A pair
    (query step, key step) counts when the query step, the value step and the key step are
    valid, the causal mask allows it and ``attention_mask`` does; a query step with no such
    pair has all-zero weights (its output is the output bias). The output
    ``(batch, Tq, *output_shape)`` carries the query's mask on, as Keras; with
    ``return_attention_scores`` the call also returns the weights
    (batch, num_heads, Tq, Tv), before dropout, as Keras. In a graph the masks travel with
    the tensors; a call on arrays takes them as ``query_mask``, ``value_mask`` and
    ``key_mask`` (Keras 3 ignores an explicit query_mask on arrays; it is honoured here).

    Parameters
    ----------
    num_heads : int
        The number of attention heads.
    key_dim : int
        The size of each head's query and key projections.
    value_dim : int, optional
        The size of each head's value projection (default: `key_dim`).
    dropout : float, default=0.0
        Fraction of the attention weights dropped in training.
    use_bias : bool, default=True
        Whether the projections have biases.
    output_shape : int or tuple of int, optional
        The shape of the output at each query step (default: the query's features).
    attention_axes : int or tuple of int, optional
        The axes attention runs over: only the steps axis is supported (None, 1 or -2, or a
        tuple of one of them).
    kernel_initializer : str, dict or Initializer, default='glorot_uniform'
        Initialiser of the projection kernels.
    bias_initializer : str, dict or Initializer, default='zeros'
        Initialiser of the projection biases.
    seed : int, optional
        Kept in the config, as Keras' argument: the dropout draws from
        :func:`~gru_native.utils.rng` (see :func:`~gru_native.utils.set_random_seed`).
    **kwargs
        The arguments of :class:`~gru_native.layers.Layer`: ``name``, ``input_shape``,
        ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        For an argument out of range, an `output_shape` that is not positive integers, or
        `attention_axes` other than the steps axis; at a call in a graph, for explicit masks
        (query_mask, value_mask, key_mask are for calls on arrays).
    """

    multi_input = True
    call_option_names = ("use_causal_mask", "return_attention_scores")

    def __init__(self, num_heads: int, key_dim: int, value_dim: Optional[int] = None,
                 dropout: float = 0.0, use_bias: bool = True, output_shape: Any = None,
                 attention_axes: Any = None, kernel_initializer: InitializerLike = "glorot_uniform",
                 bias_initializer: InitializerLike = "zeros", seed: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_heads = check_int(num_heads, "num_heads", 1)
        self.key_dim = check_int(key_dim, "key_dim", 1)
        self.value_dim = self.key_dim if value_dim is None else check_int(value_dim, "value_dim", 1)
        self.dropout = check_real(dropout, "dropout", 0, 1, high_open=True)
        self.use_bias = check_bool(use_bias, "use_bias")
        # not `output_shape`: the base layer's attribute of that name is the built output's shape
        self.output_dims = _output_dims(output_shape)
        self.attention_axes = _attention_axes(attention_axes)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.seed = None if seed is None else check_int(seed, "seed", 0)

    def __call__(self, query: Any, value: Any, key: Any = None, query_mask: Any = None,
                 value_mask: Any = None, key_mask: Any = None, attention_mask: Any = None,
                 return_attention_scores: bool = False, training: Optional[bool] = None,
                 use_causal_mask: bool = False) -> Any:
        inputs = [query, value]
        if key is not None or attention_mask is not None:
            inputs.append(value if key is None else key)
        if attention_mask is not None:
            inputs.append(attention_mask)
        masks = [query_mask, value_mask, key_mask]
        if any(m is not None for m in masks) and is_symbolic(inputs):
            raise ValueError(f"layer {self.name!r} (MultiHeadAttention): in a graph the masks "
                             "travel with the tensors (Masking, Embedding(mask_zero=True)); "
                             "query_mask, value_mask and key_mask are for calls on arrays")
        options = true_options(return_attention_scores=return_attention_scores,
                               use_causal_mask=use_causal_mask)
        return self._call(inputs, 0, bool(training), masks[:len(inputs)], options)

    # ---- shapes and weights ---------------------------------------------------------------
    def _check_shapes(self, input_shapes):
        """The shapes (no batch axis) of [query, value, key, attention_mask] (the key the
        value's when not given, the mask None), checked."""
        shapes = [as_shape(s, f"layer {self.name!r}: input shape") for s in input_shapes]
        if not 2 <= len(shapes) <= 4 or any(len(s) != 2 for s in shapes):
            raise ValueError(f"layer {self.name!r} (MultiHeadAttention) takes query and value, "
                             f"optionally key, each (batch, steps, features), and attention_mask "
                             f"(batch, query steps, value steps); got shapes "
                             f"{[(None,) + s for s in shapes]}")
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) > 2 else value
        if None not in (key[0], value[0]) and key[0] != value[0]:
            raise ValueError(f"layer {self.name!r} (MultiHeadAttention): the key and the value "
                             f"need the same steps; got value {(None,) + value}, key "
                             f"{(None,) + key}")
        pairs = shapes[3] if len(shapes) > 3 else None
        if pairs is not None and any(None not in (p, want) and p != want
                                     for p, want in zip(pairs, (query[0], value[0]))):
            raise ValueError(f"layer {self.name!r} (MultiHeadAttention): attention_mask must be "
                             f"(batch, {query[0]}, {value[0]}) (query steps, value steps), got "
                             f"{(None,) + pairs}")
        return query, value, key, pairs

    def compute_output_shape(self, input_shapes):
        """Return the output shape: the query's steps, then `output_shape`.

        Parameters
        ----------
        input_shapes : list of tuple
            The shapes (without the batch axis) of the query, the value, and optionally the
            key and the attention mask.

        Returns
        -------
        tuple of int or None
            ``(Tq, *output_shape)`` (by default ``(Tq, query features)``), without the batch
            axis.

        Raises
        ------
        ValueError
            For inputs that are not (batch, steps, features), a key whose steps differ from
            the value's, or an attention mask other than (batch, Tq, Tv).
        """
        query = self._check_shapes(input_shapes)[0]
        return (query[0],) + (self.output_dims or (query[1],))

    def node_output_shapes(self, input_shapes, state_shapes):
        """Return the shapes of what a call returns: the output, then the scores if asked.

        Parameters
        ----------
        input_shapes : list of tuple
            The shapes (without the batch axis) of the query, the value, and optionally the
            key and the attention mask.
        state_shapes : list of tuple
            Empty: the layer takes no initial states.

        Returns
        -------
        list of tuple
            The output's shape, followed with ``return_attention_scores`` by the scores'
            ``(num_heads, Tq, Tv)``, without the batch axis.

        Raises
        ------
        ValueError
            For shapes `compute_output_shape` refuses, or initial states.
        """
        out = super().node_output_shapes(input_shapes, state_shapes)
        if self.call_options.get("return_attention_scores"):
            query, value = self._check_shapes(input_shapes)[:2]
            out.append((self.num_heads, query[0], value[0]))
        return out

    def build(self, input_shapes):
        """Declare the weights for inputs of `input_shapes`; return the output shape.

        The weights, Keras' EinsumDense layouts: ``query_kernel`` (query features, heads,
        key_dim), ``key_kernel`` (key features, heads, key_dim), ``value_kernel`` (value
        features, heads, value_dim), each followed with `use_bias` by its bias (heads, dim),
        then ``attention_output_kernel`` ``(heads, value_dim, *output_shape)`` and with
        `use_bias` ``attention_output_bias`` ``(*output_shape)``.

        Parameters
        ----------
        input_shapes : list of tuple
            The shapes (without the batch axis) of the query, the value, and optionally the
            key and the attention mask.

        Returns
        -------
        tuple of int or None
            ``(Tq, *output_shape)``, without the batch axis.

        Raises
        ------
        ValueError
            For shapes `compute_output_shape` refuses.
        """
        query, value, key, _ = self._check_shapes(input_shapes)
        out = super().build(input_shapes)
        N, bias = self.num_heads, self.use_bias
        for name, features, dim in (("query", query[1], self.key_dim), ("key", key[1], self.key_dim),
                                    ("value", value[1], self.value_dim)):
            self.add_weight(f"{name}_kernel", (features, N, dim), self.kernel_initializer)
            if bias:
                self.add_weight(f"{name}_bias", (N, dim), self.bias_initializer)
        dims = self.output_dims or (query[1],)
        self.add_weight("attention_output_kernel", (N, self.value_dim) + dims,
                        self.kernel_initializer)
        if bias:
            self.add_weight("attention_output_bias", dims, self.bias_initializer)
        return out

    def check_input_shape(self, shapes):
        """Raise ValueError unless the inputs have the features the kernels were built for.

        Parameters
        ----------
        shapes : list of tuple
            The shapes (without the batch axis) of the query, the value, and optionally the
            key and the attention mask.

        Raises
        ------
        ValueError
            For shapes `compute_output_shape` refuses, or query, value or key features other
            than those the layer was built for.
        """
        got = [s[1] for s in self._check_shapes(shapes)[:3]]
        built = [s[1] for s in self._check_shapes(self.input_shape)[:3]]
        if got != built:
            raise ValueError(f"layer {self.name!r} (MultiHeadAttention) was built for query, "
                             f"value and key features {tuple(built)}, got {tuple(got)}")

    def projections(self, arrays=None):
        """Return the weights as (kernel, bias) pairs of the four projections.

        Parameters
        ----------
        arrays : list of ndarray, optional
            Arrays laid out like the weights (their gradients) to pair instead of the weights.

        Returns
        -------
        list of tuple
            ``(kernel, bias or None)`` of the query, key, value and output projections, in
            that order.
        """
        arrays = self.weights if arrays is None else arrays
        if self.use_bias:
            return [(arrays[i], arrays[i + 1]) for i in range(0, 8, 2)]
        return [(kernel, None) for kernel in arrays]

    # ---- running ------------------------------------------------------------------------
    def call_node(self, inputs, masks, training):
        """Run the forward of one node: the query, value, key and attention mask in.

        Parameters
        ----------
        inputs : list of ndarray
            The query (batch, Tq, features), the value (batch, Tv, features), and optionally
            the key (batch, Tv, features) and the attention mask (batch, Tq, Tv), True or
            nonzero where a pair counts.
        masks : list of ndarray or None
            The masks (batch, steps) of the query, the value and the key; None for none.
        training : bool
            Whether the call is a training step (dropout applies).

        Returns
        -------
        outputs : list of ndarray
            The output ``(batch, Tq, *output_shape)``, followed with
            ``return_attention_scores`` by the weights (batch, num_heads, Tq, Tv), before
            dropout.
        masks : list of ndarray or None
            The query's mask for the output, None for the scores.

        Raises
        ------
        ValueError
            For inputs of other features than the layer was built for, or a mask or an
            attention mask of another shape than its input's.
        """
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        self.check_input_shape([a.shape[1:] for a in inputs])
        for name, x, m in zip(("query_mask", "value_mask", "key_mask"), (q, v, k), masks):
            if m is not None and np.shape(m) != x.shape[:2]:
                raise ValueError(f"layer {self.name!r}: {name} must have shape {x.shape[:2]} "
                                 f"(batch, steps), got {np.shape(m)}")
        pairs = None if len(inputs) < 4 else np.asarray(inputs[3]) != 0  # 0/1 from a model input
        if pairs is not None and pairs.shape != (q.shape[0], q.shape[1], v.shape[1]):
            raise ValueError(f"layer {self.name!r}: attention_mask must have shape "
                             f"{(q.shape[0], q.shape[1], v.shape[1])} (batch, query steps, value "
                             f"steps), got {pairs.shape}")
        masks = [None if m is None else np.asarray(m, bool) for m in masks]
        (wq, bq), (wk, bk), (wv, bv), (wo, bo) = self.projections()
        scale = 1.0 / math.sqrt(self.key_dim)
        qh = _project(q, wq, bq) * scale  # Keras scales the projected query, bias included
        kh, vh = _project(k, wk, bk), _project(v, wv, bv)
        scores = qh @ kh.transpose(0, 1, 3, 2)
        allowed = allowed_pairs(q.shape[1], k.shape[1], masks[0], masks[1:3],
                                self.call_options.get("use_causal_mask", False), pairs)
        if allowed is not None:
            allowed = allowed[:, None]  # the same pairs for every head
            scores = np.where(allowed, scores, -EXCLUDED)
        weights = softmax(scores)
        if allowed is not None:
            weights *= allowed  # a query step with no pair left: zeros, not uniform weights
        drop = None
        if training and self.dropout > 0:
            drop = dropout_mask(weights.shape, self.dropout, weights.dtype)
        used = weights if drop is None else weights * drop
        B, N, Tq, Dv = q.shape[0], self.num_heads, q.shape[1], self.value_dim
        heads = (used @ vh).transpose(0, 2, 1, 3).reshape(B * Tq, N * Dv)
        out = heads @ wo.reshape(N * Dv, -1)
        if bo is not None:
            out += bo.reshape(-1)
        self._cache = (q, v, k, qh, kh, vh, weights, drop, used, heads, len(inputs))
        outputs = [out.reshape((B, Tq) + wo.shape[2:])]
        if self.call_options.get("return_attention_scores"):
            outputs.append(weights)  # before dropout, as Keras returns them
        return outputs, [masks[0]] + [None] * (len(outputs) - 1)

    def backward_node(self, d_outputs, need_dx, dy_is_logits=False):
        """Run the backward of the node just run: the outputs' gradients in, the inputs' out.

        Parameters
        ----------
        d_outputs : list of ndarray or None
            The gradient of the output, followed with ``return_attention_scores`` by that of
            the scores (None for none).
        need_dx : bool
            Whether the inputs' gradients are needed.
        dy_is_logits : bool, default=False
            Unused: the layer has no final activation to fuse with a loss.

        Returns
        -------
        list of ndarray or None
            The gradients of the query and the value (without a key, the value's includes its
            part as the key), else of the query, value and key, then None for an attention
            mask; None for each when `need_dx` is False.
        """
        q, v, k, qh, kh, vh, weights, drop, used, heads, n_inputs = self._cache
        (wq, _), (wk, _), (wv, _), (wo, _) = self.projections()
        (dwq, dbq), (dwk, dbk), (dwv, dbv), (dwo, dbo) = self.projections(self.grads)
        B, N, Tq, Dv = q.shape[0], self.num_heads, q.shape[1], self.value_dim
        d_out = d_outputs[0]  # None when only the scores are read
        per_step = wo[0, 0].size  # the output's values per step
        d_out = np.zeros((B * Tq, per_step), heads.dtype) if d_out is None \
            else d_out.reshape(B * Tq, per_step)
        dwo[...] = (heads.T @ d_out).reshape(dwo.shape)
        if dbo is not None:
            dbo[...] = d_out.sum(0).reshape(dbo.shape)
        d_heads = (d_out @ wo.reshape(N * Dv, -1).T).reshape(B, Tq, N, Dv).transpose(0, 2, 1, 3)
        d_used = d_heads @ vh.transpose(0, 1, 3, 2)
        d_vh = used.transpose(0, 1, 3, 2) @ d_heads
        d_weights = d_used if drop is None else d_used * drop
        if len(d_outputs) > 1 and d_outputs[1] is not None:
            d_weights = d_weights + d_outputs[1]
        d_scores = softmax_backward(weights, d_weights)
        d_qh = (d_scores @ kh) * (1.0 / math.sqrt(self.key_dim))
        d_kh = d_scores.transpose(0, 1, 3, 2) @ qh
        dq = _project_backward(q, wq, d_qh, dwq, dbq, need_dx)
        dk = _project_backward(k, wk, d_kh, dwk, dbk, need_dx)
        dv = _project_backward(v, wv, d_vh, dwv, dbv, need_dx)
        if n_inputs == 2:
            return [dq, None if dv is None else dv + dk]
        return [dq, dv, dk] + [None] * (n_inputs - 3)  # no gradient for an attention mask

    def get_config(self):
        """Return the layer's configuration, from which `from_config` makes it again.

        Returns
        -------
        dict
            The Layer's configuration with the constructor's arguments (``num_heads``,
            ``key_dim``, ..., ``seed``).
        """
        return dict(super().get_config(), num_heads=self.num_heads, key_dim=self.key_dim,
                    value_dim=self.value_dim, dropout=self.dropout, use_bias=self.use_bias,
                    output_shape=None if self.output_dims is None else list(self.output_dims),
                    attention_axes=None if self.attention_axes is None else list(self.attention_axes),
                    kernel_initializer=initializers.to_config(self.kernel_initializer),
                    bias_initializer=initializers.to_config(self.bias_initializer),
                    seed=self.seed)
