"""Attention against NumPy, PyTorch's scaled_dot_product_attention and Keras 3 (where installed),
gradients by central finite differences in every mode (masks, causal, scale, concat, the scores
output), and in a graph: training, saving with its call arguments, the query mask passed on."""

import os

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers
from gru_native.layers.base import allocate
from helpers import assert_matches_central_differences

MODES = [("dot", False), ("dot", True), ("concat", False), ("concat", True)]


def attention_reference(q, v, k, score_mode, scale, concat_weight, q_mask, v_mask, causal):
    """Keras' Attention.call written out with NumPy."""
    if score_mode == "dot":
        scores = q @ k.transpose(0, 2, 1) * scale
    else:
        scores = concat_weight * np.tanh(scale * (q[:, :, None] + k[:, None])).sum(-1)
    allowed = np.ones(scores.shape, bool)
    if v_mask is not None:
        allowed &= v_mask[:, None, :]
    if causal:
        allowed &= np.tril(np.ones(scores.shape[1:], bool))
    scores = np.where(allowed, scores, scores - 1e9)
    w = np.exp(scores - scores.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    out = w @ v
    return (out if q_mask is None else out * q_mask[..., None]), w


def built(layer, shapes, rng):
    layer.build([s[1:] for s in shapes])
    allocate([layer], np.float64)
    for w in layer.weights:
        w[...] = rng.uniform(0.5, 1.5)
    return layer


def inputs(rng, B=3, Tq=4, Tv=5, D=3, Dv=2, with_key=True):
    q, v = rng.normal(size=(B, Tq, D)), rng.normal(size=(B, Tv, Dv))
    return [q, v, rng.normal(size=(B, Tv, D))] if with_key else [q, rng.normal(size=(B, Tv, D))]


@pytest.mark.parametrize("with_key", [True, False])
@pytest.mark.parametrize("score_mode,use_scale", MODES)
@pytest.mark.parametrize("masked,causal", [(False, False), (True, False), (False, True),
                                           (True, True)])
def test_forward_against_numpy(rng, score_mode, use_scale, masked, causal, with_key):
    xs = inputs(rng, with_key=with_key)
    Tq, Tv = xs[0].shape[1], xs[1].shape[1]
    q_mask = np.arange(Tq)[None] < np.array([4, 2, 3])[:, None] if masked else None
    v_mask = np.arange(Tv)[None] < np.array([5, 1, 3])[:, None] if masked else None
    layer = built(layers.Attention(use_scale=use_scale, score_mode=score_mode),
                  [x.shape for x in xs], rng)
    caller = layer.with_options({"use_causal_mask": True, "return_attention_scores": True}
                                if causal else {"return_attention_scores": True})
    (out, scores), masks = caller.call_node(xs, [q_mask, v_mask, None][:len(xs)], False)
    scale = layer.weights[0] if use_scale else 1.0
    concat = layer.weights[-1] if score_mode == "concat" else None
    want, want_w = attention_reference(xs[0], xs[1], xs[2] if with_key else xs[1], score_mode,
                                       scale, concat, q_mask, v_mask, causal)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(scores, want_w, rtol=1e-12, atol=1e-14)
    assert masks[0] is q_mask


@pytest.mark.parametrize("score_mode,use_scale", MODES)
@pytest.mark.parametrize("masked,causal", [(False, False), (True, True)])
@pytest.mark.parametrize("with_key", [True, False])
def test_gradients_by_finite_differences(rng, score_mode, use_scale, masked, causal, with_key):
    xs = inputs(rng, B=2, Tq=3, Tv=4, with_key=with_key)
    q_mask = np.array([[True, True, False], [True, True, True]]) if masked else None
    v_mask = np.array([[True, True, True, False], [True, False, True, True]]) if masked else None
    layer = built(layers.Attention(use_scale=use_scale, score_mode=score_mode),
                  [x.shape for x in xs], rng)
    options = {"return_attention_scores": True}
    if causal:
        options["use_causal_mask"] = True
    caller = layer.with_options(options)
    masks = [q_mask, v_mask, None][:len(xs)]
    w_out, w_scores = rng.normal(size=(2, 3, xs[1].shape[2])), rng.normal(size=(2, 3, 4))

    def loss():
        (out, scores), _ = caller.call_node(xs, masks, False)
        return np.sum(w_out * out) + np.sum(w_scores * scores)

    loss()
    d_inputs = caller.backward_node([w_out, w_scores], True)
    names = ["query", "value", "key"][:len(xs)] + [f"weight {i}" for i in range(len(caller.weights))]
    assert_matches_central_differences(loss, dict(zip(names, list(xs) + list(caller.weights))),
                                       dict(zip(names, list(d_inputs) + [g.copy() for g in caller.grads])),
                                       atol=1e-8)


def test_matches_torch_scaled_dot_product_attention(rng):
    torch = pytest.importorskip("torch")
    q, v, k = inputs(rng, Tq=5, Tv=5)
    layer = built(layers.Attention(), [q.shape, v.shape, k.shape], rng)
    caller = layer.with_options({"use_causal_mask": True})
    (out,), _ = caller.call_node([q, v, k], [None, None, None], False)
    tq, tv, tk = (torch.tensor(a, requires_grad=True) for a in (q, v, k))
    want = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=True, scale=1.0)
    np.testing.assert_allclose(out, want.detach().numpy(), rtol=1e-12, atol=1e-14)
    dy = rng.normal(size=out.shape)
    want.backward(torch.tensor(dy))
    dq, dv, dk = caller.backward_node([dy], True)
    for got, t in [(dq, tq), (dv, tv), (dk, tk)]:
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("score_mode,use_scale", MODES)
def test_matches_keras(rng, score_mode, use_scale):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    pytest.importorskip("jax")
    keras = pytest.importorskip("keras")
    q, v, k = (x.astype(np.float32) for x in inputs(rng))
    q_mask = np.arange(4)[None] < np.array([4, 2, 3])[:, None]
    v_mask = np.arange(5)[None] < np.array([5, 1, 3])[:, None]
    theirs = keras.layers.Attention(use_scale=use_scale, score_mode=score_mode)
    want = theirs([q, v, k], mask=[q_mask, v_mask], use_causal_mask=True)
    values = [rng.uniform(0.5, 1.5, size=()) for _ in theirs.get_weights()]
    theirs.set_weights(values)
    want = np.asarray(theirs([q, v, k], mask=[q_mask, v_mask], use_causal_mask=True))
    ours = layers.Attention(use_scale=use_scale, score_mode=score_mode)
    ours([q, v, k])  # builds it, float32
    ours.set_weights(values)
    got = ours([q, v, k], mask=[q_mask, v_mask], use_causal_mask=True)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_self_attention_in_a_graph_trains_and_saves(rng, tmp_path):
    """GRU(return_sequences) -> causal self-attention -> GlobalAveragePooling1D -> Dense over a
    masked batch: the loss falls, the query's mask reaches the pooling, and a saved model keeps
    use_causal_mask (its predictions differ from the same weights without it)."""
    inp = gn.Input((8, 2))
    seq = layers.GRU(6, return_sequences=True)(layers.Masking()(inp))
    att, head = layers.Attention(use_scale=True), layers.Dense(1)
    pooled = layers.GlobalAveragePooling1D()(att([seq, seq], use_causal_mask=True))
    model = gn.Model(inp, head(pooled))
    model.compile("adam", "mse")
    x, y = rng.normal(size=(32, 8, 2)).astype(np.float32), rng.normal(size=(32, 1))
    x[:8, 5:] = 0
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "att.keras")
    loaded = gn.load_model(tmp_path / "att.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    no_causal = gn.Model(inp, head(layers.GlobalAveragePooling1D()(att([seq, seq]))))
    assert not np.allclose(no_causal.predict(x, verbose=0), model.predict(x, verbose=0))


def test_arguments_and_shapes():
    with pytest.raises(ValueError, match="score_mode"):
        layers.Attention(score_mode="general")
    with pytest.raises(ValueError, match="query, value"):
        layers.Attention()(gn.Input((3, 2)))
    q, v = gn.Input((3, 4)), gn.Input((5, 2))
    with pytest.raises(ValueError, match="same features"):
        layers.Attention()([q, v])  # key = value: 2 features against the query's 4
    out, scores = layers.Attention()([q, v, gn.Input((5, 4))], return_attention_scores=True)
    assert out.shape == (None, 3, 2) and scores.shape == (None, 3, 5)
    with pytest.raises(ValueError, match="call arguments"):
        layers.Attention().with_options({"causal": True})
    config = layers.Attention(use_scale=True, score_mode="concat", dropout=0.1).get_config()
    assert layers.Attention.from_config(config).get_config() == config
