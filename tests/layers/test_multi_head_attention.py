"""MultiHeadAttention against Keras 3 (its weights copied with set_weights), against
torch.nn.MultiheadAttention (outputs and gradients), gradients by central differences in float64
(masks, causal, attention_mask, dropout, the scores output); in a functional model: training,
the masks carried on, saving with its call arguments, its config, an attention-mask input, the
fallback from the inference plan, ONNX; and the errors for bad arguments and shapes."""

import os

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers
from gru_native.layers.base import allocate
from gru_native.models.plan import why_no_plan
from helpers import assert_matches_central_differences

# name -> (constructor arguments, whether the call has its own key). Two configurations that
# cover every argument between them: each new one costs Keras/jax tens of seconds of compiling.
CONFIGS = {
    "self_output_axes": (dict(num_heads=2, key_dim=3, output_shape=(2, 3)), False),
    "cross_value_dim_no_bias": (dict(num_heads=3, key_dim=2, value_dim=4, output_shape=5,
                                     use_bias=False), True),
}
# the call's masks: value and key masks, an attention mask, the causal mask
CALLS = ["plain", "value_key_masks", "attention_mask", "causal_and_all"]


def keras_or_skip():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def operands(rng, B=3, Tq=4, Tv=5, self_attention=False, with_key=True, dtype=np.float32):
    """query, value and key (None: the value's) arrays."""
    q = rng.normal(size=(B, Tq, 6))
    if self_attention:
        return q.astype(dtype), q.astype(dtype), None
    v = rng.normal(size=(B, Tv, 7))
    k = rng.normal(size=(B, Tv, 8)) if with_key else None
    return tuple(None if a is None else a.astype(dtype) for a in (q, v, k))


def call_masks(call, B, Tq, Tv):
    """(value_mask, key_mask, attention_mask, use_causal_mask) for a call of CALLS; the first
    value step stays valid, so every query step keeps a pair (torch gives NaN otherwise)."""
    steps = np.arange(Tv)[None]
    v_mask = steps < np.array([Tv, 1, 3])[:B, None]
    k_mask = steps != np.array([2, 4, 1])[:B, None]
    pairs = np.random.default_rng(5).random((B, Tq, Tv)) < 0.7
    pairs[:, :, 0] = True
    pairs[1, 2] = False  # a query step with no pair left: all-zero weights
    return {"plain": (None, None, None, False),
            "value_key_masks": (v_mask, k_mask, None, False),
            "attention_mask": (None, None, pairs, False),
            "causal_and_all": (v_mask, k_mask, pairs, True)}[call]


def random_weights(rng, layer):
    return [rng.normal(scale=0.5, size=w.shape) for w in layer.weights]


def built(layer, shapes, rng, dtype=np.float64):
    """`layer` built for inputs of `shapes` (batch first), in `dtype`, with random weights."""
    layer.build([s[1:] for s in shapes])
    allocate([layer], dtype)
    layer.set_weights(random_weights(rng, layer))
    return layer


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_matches_keras(rng, config, call):
    keras = keras_or_skip()
    kwargs, with_key = CONFIGS[config]
    q, v, k = operands(rng, self_attention=config == "self_output_axes", with_key=with_key)
    v_mask, k_mask, pairs, causal = call_masks(call, *q.shape[:2], v.shape[1])
    args = dict(key=k, value_mask=v_mask, key_mask=k_mask if k is not None else None,
                attention_mask=pairs, use_causal_mask=causal)
    theirs = keras.layers.MultiHeadAttention(**kwargs)
    theirs(q, v, k, return_attention_scores=True)  # builds it
    ours = layers.MultiHeadAttention(**kwargs)
    ours(q, v, k)  # builds it, float32
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.weights]
    values = [w.astype(np.float32) for w in random_weights(rng, ours)]
    theirs.set_weights(values)
    ours.set_weights(values)
    # Keras' fused path (no scores asked) fails on jax when value_dim != key_dim: ask for them
    want, want_scores = (np.asarray(a) for a in theirs(q, v, return_attention_scores=True, **args))
    got, scores = ours(q, v, return_attention_scores=True, **args)
    assert got.dtype == scores.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ours(q, v, **args), got)


def test_query_mask_matches_keras_in_a_graph(rng):
    """Masks from Masking layers reach the layer through the tensors in both libraries: the
    query's padded steps get zero weights and are left out of the pooling after it (the mask
    carried on), the value's padded steps get no weight."""
    keras = keras_or_skip()
    q, v, _ = operands(rng, with_key=False)
    q[0, 3:], q[2, 1:] = 0, 0
    v[1, 2:] = 0
    kwargs = dict(num_heads=2, key_dim=3, value_dim=4, output_shape=3)

    def model(lib, Input, Model):
        qi, vi = Input((4, 6)), Input((5, 7))
        mq, mv = lib.Masking()(qi), lib.Masking()(vi)
        out, scores = lib.MultiHeadAttention(**kwargs)(mq, mv, return_attention_scores=True)
        return Model([qi, vi], [lib.GlobalAveragePooling1D()(out), scores])

    theirs = model(keras.layers, keras.Input, keras.Model)
    ours = model(layers, gn.Input, gn.Model)
    ours.set_weights([w.astype(np.float32) for w in random_weights(rng, ours)])
    theirs.set_weights(ours.get_weights())
    want = [np.asarray(a) for a in theirs.predict([q, v], verbose=0)]
    got = ours.predict([q, v], verbose=0)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    scores = got[1]
    assert np.all(scores[0, :, 3:] == 0) and np.all(scores[2, :, 1:] == 0)  # padded queries
    assert np.all(scores[1, :, :, 2:] == 0)  # padded values


@pytest.mark.parametrize("same_dims", [True, False])
def test_matches_torch(rng, same_dims):
    """torch.nn.MultiheadAttention where the layouts map (heads * key_dim = the embedding, the
    value heads as wide, the output the embedding): outputs, per-head weights and gradients."""
    torch = pytest.importorskip("torch")
    N, D, B, Tq, Tv = 2, 3, 3, 4, 5
    E = N * D
    kdim, vdim = (E, E) if same_dims else (4, 5)
    q = rng.normal(size=(B, Tq, E))
    v = q if same_dims else rng.normal(size=(B, Tv, vdim))
    k = q if same_dims else rng.normal(size=(B, Tv, kdim))
    v_mask, _, _, _ = call_masks("value_key_masks", B, Tq, v.shape[1])
    layer = built(layers.MultiHeadAttention(N, D), [q.shape, v.shape, k.shape], rng)
    caller = layer.with_options({"use_causal_mask": True, "return_attention_scores": True})
    (out, scores), _ = caller.call_node([q, v, k], [None, v_mask, None], False)
    (wq, bq), (wk, bk), (wv, bv), (wo, bo) = layer.projections()

    theirs = torch.nn.MultiheadAttention(E, N, kdim=kdim, vdim=vdim, batch_first=True,
                                         dtype=torch.float64)
    kernels = [torch.tensor(w.reshape(w.shape[0], E).T) for w in (wq, wk, wv)]
    with torch.no_grad():
        if same_dims:
            theirs.in_proj_weight.copy_(torch.cat(kernels))
        else:
            for name, w in zip(("q", "k", "v"), kernels):
                getattr(theirs, f"{name}_proj_weight").copy_(w)
        theirs.in_proj_bias.copy_(torch.tensor(np.concatenate([b.reshape(-1) for b in (bq, bk, bv)])))
        theirs.out_proj.weight.copy_(torch.tensor(wo.reshape(E, E).T))
        theirs.out_proj.bias.copy_(torch.tensor(bo))
    tq, tv, tk = (torch.tensor(a, requires_grad=True) for a in (q, v, k))
    causal = ~np.tril(np.ones((Tq, v.shape[1]), bool))  # True: may not attend
    want, want_scores = theirs(tq, tk, tv, key_padding_mask=torch.tensor(~v_mask),
                               attn_mask=torch.tensor(causal), need_weights=True,
                               average_attn_weights=False)
    np.testing.assert_allclose(out, want.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(scores, want_scores.detach().numpy(), rtol=1e-12, atol=1e-13)
    dy = rng.normal(size=out.shape)
    want.backward(torch.tensor(dy))
    dq, dv, dk = caller.backward_node([dy, None], True)
    for got, t in [(dq, tq), (dv, tv), (dk, tk)]:
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-10, atol=1e-12)
    d_out_kernel = layer.projections(layer.grads)[3][0]
    np.testing.assert_allclose(d_out_kernel.reshape(E, E).T, theirs.out_proj.weight.grad.numpy(),
                               rtol=1e-10, atol=1e-12)


# (constructor arguments, with key, masks as CALLS, query mask, training with dropout)
GRADIENT_CASES = {
    "self_masked_causal": (dict(num_heads=2, key_dim=2), False, "causal_and_all", True, False),
    "cross_no_bias_plain": (dict(num_heads=2, key_dim=2, use_bias=False, value_dim=3), True,
                            "plain", False, False),
    "output_axes_attention_mask": (dict(num_heads=1, key_dim=3, output_shape=(2, 2)), True,
                                   "attention_mask", True, False),
    "dropout": (dict(num_heads=2, key_dim=2, dropout=0.4), True, "value_key_masks", False, True),
}


@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
def test_gradients_by_finite_differences(rng, case):
    kwargs, with_key, call, query_masked, training = GRADIENT_CASES[case]
    B, Tq, Tv = 2, 3, 4
    q, v = rng.normal(size=(B, Tq, 3)), rng.normal(size=(B, Tv, 2))
    xs = [q, v] + ([rng.normal(size=(B, Tv, 4))] if with_key else [])
    v_mask, k_mask, pairs, causal = call_masks(call, B, Tq, Tv)
    q_mask = np.array([[True, True, False], [True, True, True]]) if query_masked else None
    if pairs is not None:
        xs += [xs[1]] * (3 - len(xs)) + [pairs.astype(np.float64)]
    masks = [q_mask, v_mask, k_mask if with_key else None, None][:len(xs)]
    layer = built(layers.MultiHeadAttention(**kwargs), [x.shape for x in xs], rng)
    options = dict({"return_attention_scores": True}, **({"use_causal_mask": True} if causal else {}))
    caller = layer.with_options(options)
    (out, _), _ = caller.call_node(xs, masks, training)
    assert out.dtype == np.float64
    w_out, w_scores = rng.normal(size=out.shape), rng.normal(size=(B, kwargs["num_heads"], Tq, Tv))

    def loss():
        if training:
            gn.utils.set_random_seed(3)  # the same dropout draws in every pass
        (out, scores), _ = caller.call_node(xs, masks, training)
        return np.sum(w_out * out) + np.sum(w_scores * scores)

    loss()
    d = caller.backward_node([w_out, w_scores], True)
    assert len(d) == len(xs) and (pairs is None or d[3] is None)  # none for the attention mask
    key_is_value = len(xs) > 2 and xs[2] is xs[1]  # one array: a change moves both
    params = {"query": xs[0], "value": xs[1]}
    analytic = {"query": d[0], "value": d[1] + d[2] if key_is_value else d[1]}
    if with_key:
        params["key"], analytic["key"] = xs[2], d[2]
    for spec, w, g in zip(layer.weight_specs(), caller.weights, caller.grads):
        params[spec.name], analytic[spec.name] = w, g.copy()
    assert_matches_central_differences(loss, params, analytic, atol=1e-8)


def test_in_a_functional_model_trains_saves_and_keeps_its_config(rng, tmp_path):
    """Input -> Masking -> GRU(return_sequences) -> causal self-attention -> pooling -> Dense:
    the loss falls; padded steps change nothing (a padded batch predicts as its unpadded
    sequences); predict runs node by node (no inference plan); a saved model predicts the same
    and keeps use_causal_mask; the configs round-trip."""
    inp = gn.Input((None, 3))
    gru = layers.GRU(8, return_sequences=True)
    seq = gru(layers.Masking()(inp))
    mha = layers.MultiHeadAttention(2, 4, dropout=0.1, bias_initializer="random_normal")
    pool, head = layers.GlobalAveragePooling1D(), layers.Dense(1)
    model = gn.Model(inp, head(pool(mha(seq, seq, use_causal_mask=True))))
    model.compile("adam", "mse")
    x, y = rng.normal(size=(32, 8, 3)).astype(np.float32), rng.normal(size=(32, 1))
    x[:8, 5:] = 0
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    unmasked = gru(inp)
    direct = gn.Model(inp, head(pool(mha(unmasked, unmasked))))
    assert direct.inference_plan() is None and "MultiHeadAttention" in why_no_plan(direct)
    assert np.isfinite(direct.predict(x, verbose=0)).all()
    pred = model.predict(x, verbose=0)
    np.testing.assert_allclose(model.predict(x[:8, :5], verbose=0), pred[:8], rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "mha.keras")
    loaded = gn.load_model(tmp_path / "mha.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), pred)
    no_causal = gn.Model(inp, head(pool(mha(seq, seq))))
    assert not np.allclose(no_causal.predict(x, verbose=0), pred)
    config = model.get_config()
    assert gn.Model.from_config(config).get_config() == config
    layer_config = layers.MultiHeadAttention(3, 2, value_dim=5, use_bias=False, output_shape=(2, 4),
                                             attention_axes=-2, seed=1).get_config()
    assert layers.MultiHeadAttention.from_config(layer_config).get_config() == layer_config


def test_calls_on_tensors_make_nodes_of_query_value_key_and_mask(rng, tmp_path):
    """layer(query, value) with two positional tensors, key=, attention_mask= (an Input: a
    model predicts as the call on arrays), the scores as an output of shape (heads, Tq, Tv)."""
    q, v, k = gn.Input((4, 6)), gn.Input((5, 7)), gn.Input((5, 7))
    pairs = gn.Input((4, 5), dtype="bool")
    mha = layers.MultiHeadAttention(2, 3, bias_initializer="random_normal")
    assert mha(q, v).shape == (None, 4, 6) and mha.nodes[-1].inputs == [q, v]
    out, scores = mha(q, v, key=k, return_attention_scores=True)
    assert out.shape == (None, 4, 6) and scores.shape == (None, 2, 4, 5)
    assert mha.nodes[-1].inputs == [q, v, k]
    masked = mha(query=q, value=v, attention_mask=pairs)
    assert mha.nodes[-1].inputs == [q, v, v, pairs]
    model = gn.Model([q, v, pairs], masked)
    a, b, _ = operands(rng, with_key=False)
    m = np.random.default_rng(1).random((3, 4, 5)) < 0.6
    np.testing.assert_allclose(model.predict([a, b, m], verbose=0), mha(a, b, attention_mask=m),
                               rtol=1e-6, atol=1e-6)
    model.save(tmp_path / "pairs.keras")
    np.testing.assert_array_equal(gn.load_model(tmp_path / "pairs.keras").predict([a, b, m], verbose=0),
                                  model.predict([a, b, m], verbose=0))


def test_onnx_export_with_an_attention_mask_and_the_causal_mask(rng, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    x, pairs = gn.Input((6, 3), name="x"), gn.Input((6, 6), dtype="bool", name="pairs")
    seq = layers.GRU(4, return_sequences=True)(x)
    out, scores = layers.MultiHeadAttention(2, 3, output_shape=(2, 2),
                                            bias_initializer="random_normal")(
        seq, seq, attention_mask=pairs, use_causal_mask=True, return_attention_scores=True)
    model = gn.Model([x, pairs], [out, scores])
    model.export(tmp_path / "mha.onnx")
    session = ort.InferenceSession(str(tmp_path / "mha.onnx"), providers=["CPUExecutionProvider"])
    a = rng.normal(size=(3, 6, 3)).astype(np.float32)
    m = np.random.default_rng(2).random((3, 6, 6)) < 0.6
    m[0, 0] = False  # with the causal mask, query step 0 of sample 0 keeps no pair
    got = session.run(None, {"x": a, "pairs": m})
    for g, w in zip(got, model.predict([a, m], verbose=0)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    assert np.all(got[1][0, :, 0] == 0)


def test_arguments_and_shapes_raise_naming_the_problem():
    for kwargs, match in [(dict(num_heads=0, key_dim=2), "num_heads"),
                          (dict(num_heads=2, key_dim=0), "key_dim"),
                          (dict(num_heads=2, key_dim=1.5), "key_dim"),
                          (dict(num_heads=2, key_dim=2, value_dim=0), "value_dim"),
                          (dict(num_heads=2, key_dim=2, dropout=1.0), "dropout"),
                          (dict(num_heads=2, key_dim=2, output_shape=0), "output_shape"),
                          (dict(num_heads=2, key_dim=2, output_shape=()), "output_shape"),
                          (dict(num_heads=2, key_dim=2, attention_axes=2), "attention_axes"),
                          (dict(num_heads=2, key_dim=2, attention_axes=(1, 2)), "attention_axes"),
                          (dict(num_heads=2, key_dim=2, attention_axes="steps"), "attention_axes")]:
        with pytest.raises(ValueError, match=match):
            layers.MultiHeadAttention(**kwargs)
    mha = layers.MultiHeadAttention(2, 2)
    q, v = gn.Input((3, 4)), gn.Input((5, 2))
    with pytest.raises(ValueError, match="each \\(batch, steps, features\\)"):
        mha(gn.Input((4,)), v)
    with pytest.raises(ValueError, match="same steps"):
        mha(q, v, key=gn.Input((6, 2)))
    with pytest.raises(ValueError, match="attention_mask must be"):
        mha(q, v, attention_mask=gn.Input((3, 4)))
    mha(q, v)
    with pytest.raises(ValueError, match="was built for query, value and key features"):
        mha(q, v, key=gn.Input((5, 3)))
    with pytest.raises(ValueError, match="travel with the tensors"):
        mha(q, v, value_mask=gn.Input((5,)))
    with pytest.raises(ValueError, match="call arguments"):
        mha.with_options({"causal": True})
    with pytest.raises(ValueError, match="no call arguments"):
        layers.Dense(2).with_options({"use_causal_mask": True})
    eager = layers.MultiHeadAttention(2, 2)
    a, b = np.zeros((2, 3, 4), np.float32), np.zeros((2, 5, 2), np.float32)
    with pytest.raises(ValueError, match="value_mask must have shape \\(2, 5\\)"):
        eager(a, b, value_mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="attention_mask must be \\(batch, 3, 5\\)"):
        eager(a, b, attention_mask=np.ones((2, 5, 3), bool))
    with pytest.raises(ValueError, match="attention_mask must have shape \\(2, 3, 5\\)"):
        eager(a, b, attention_mask=np.ones((3, 3, 5), bool))  # another batch
    with pytest.raises(ValueError, match="was built for"):
        eager(a[..., :3], b)


def test_dropout_acts_in_training_only_and_returns_the_scores_before_it(rng):
    q, v, _ = operands(rng, with_key=False, dtype=np.float64)
    layer = built(layers.MultiHeadAttention(2, 3, dropout=0.5), [q.shape, v.shape], rng)
    out, scores = layer(q, v, return_attention_scores=True)
    np.testing.assert_array_equal(layer(q, v, training=False), out)
    dropped, dropped_scores = layer(q, v, return_attention_scores=True, training=True)
    np.testing.assert_array_equal(dropped_scores, scores)
    assert not np.allclose(dropped, out)
