"""The functional models (gn.Input / gn.Model over graphs of layer calls): gradients through
merges, shared layers, several outputs, recurrent states passed as initial_state, RepeatVector
and TimeDistributed and masks, all against central differences (float64); values against NumPy
references; an encoder-decoder against PyTorch; a seq2seq model saved, loaded and decoded step by
step with inference models built from the loaded model's layers; errors; Sequential equivalence
and the summary's "Connected to" column."""

import pickle

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers
from gru_native.optimizers import SGD, Adam
from gru_reference import forward as gru_reference
from helpers import reference_predict
from lstm_reference import forward as lstm_reference

F64 = "float64"


# ---- helpers --------------------------------------------------------------------------------

def f64_model(inputs, outputs, **kwargs):
    """A functional model computing in float64 (central differences need the digits)."""
    return gn.Model(inputs=inputs, outputs=outputs, dtype=F64, **kwargs)


def n_samples(y):
    if isinstance(y, dict):
        y = next(iter(y.values()))
    if isinstance(y, (list, tuple)):
        y = y[0]
    return len(y)


def check_gradients(model, x, y, loss="mse", n_checks=40, seed=0, **compile_kwargs):
    """The gradient of the training loss w.r.t. every weight, read off one SGD step of learning
    rate 1 (w - 1.0 * g: exact to one rounding in float64), against central differences of
    evaluate's loss over ~n_checks entries spread over every weight array. Every weight array
    must get a nonzero gradient (a weight cut off from the loss would pass vacuously). Returns
    the gradients; the model keeps its weights."""
    model.compile(optimizer=SGD(learning_rate=1.0), loss=loss, **compile_kwargs)
    weights = model.get_weights()
    assert weights and all(w.dtype == np.float64 for w in weights), [w.dtype for w in weights]
    n = n_samples(y)

    def total_loss(ws):
        model.set_weights(ws)
        return model.evaluate(x, y, batch_size=n, verbose=0, return_dict=True)["loss"]

    loss0 = total_loss(weights)
    step_loss = model.train_on_batch(x, y, return_dict=True)["loss"]
    np.testing.assert_allclose(step_loss, loss0, rtol=1e-12)  # no dropout: the same loss
    grads = [w - a for w, a in zip(weights, model.get_weights())]
    rng = np.random.default_rng(seed)
    per_array = max(2, n_checks // len(weights))
    eps = 1e-6
    for k, (w, g) in enumerate(zip(weights, grads)):
        assert np.any(np.abs(g) > 1e-9), f"weight {k} {w.shape} gets no gradient"
        for i in rng.choice(w.size, size=min(per_array, w.size), replace=False):
            values = []
            for step in (eps, -eps):
                ws = [v.copy() for v in weights]
                ws[k].flat[i] += step
                values.append(total_loss(ws))
            numeric = (values[0] - values[1]) / (2 * eps)
            assert abs(g.flat[i] - numeric) <= 1e-7 + 1e-6 * abs(numeric), \
                (k, w.shape, int(i), g.flat[i], numeric)
    model.set_weights(weights)
    return grads


def weights_of(model, name):
    return [w.astype(np.float64) for w in model.get_layer(name).get_weights()]


def dense_ref(model, name, x, activation=None):
    w = weights_of(model, name)
    z = x @ w[0] + w[1]
    return {None: z, "tanh": np.tanh(z)}[activation]


def gru_ref(model, name, x, h0=None, lengths=None):
    kernel, recurrent, bias = weights_of(model, name)
    seq, h, _ = gru_reference(x, kernel, recurrent, bias, h0=h0, lengths=lengths)
    return seq, h


def lstm_ref(model, name, x, h0=None, c0=None):
    kernel, recurrent, bias = weights_of(model, name)
    seq, h, c, _ = lstm_reference(x, kernel, recurrent, bias, h0=h0, c0=c0)
    return seq, h, c


def randomize_biases(model, rng, scale=0.3):
    """Non-zero biases (they start at zeros or ones), so a bias mixed up would show."""
    model.set_weights([w + rng.normal(scale=scale, size=w.shape) if w.ndim == 1 else w
                       for w in model.get_weights()])


# ---- 1. gradients through graphs, against central differences --------------------------------

@pytest.mark.parametrize("merge", ["concatenate", "add"])
def test_two_inputs_merged(rng, merge):
    seq_in = gn.Input(shape=(6, 3), name="seq")
    vec_in = gn.Input(shape=(4,), name="vec")
    h = layers.GRU(5, name="gru")(seq_in)
    v = layers.Dense(5, activation="tanh", name="proj")(vec_in)
    m = (layers.Concatenate(name="merge") if merge == "concatenate" else layers.Add(name="merge"))([h, v])
    out = layers.Dense(2, name="out")(m)
    model = f64_model([seq_in, vec_in], out)
    randomize_biases(model, rng)
    xs, xv = rng.normal(size=(7, 6, 3)), rng.normal(size=(7, 4))
    y = rng.normal(size=(7, 2))

    _, h_ref = gru_ref(model, "gru", xs)
    v_ref = dense_ref(model, "proj", xv, "tanh")
    m_ref = np.concatenate([h_ref, v_ref], -1) if merge == "concatenate" else h_ref + v_ref
    want = dense_ref(model, "out", m_ref)
    got = model.predict([xs, xv], verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # inputs by name, in any order, give the same
    np.testing.assert_array_equal(model.predict({"vec": xv, "seq": xs}, verbose=0), got)
    np.testing.assert_array_equal(model.predict_on_batch([xs, xv]), got)
    check_gradients(model, [xs, xv], y)


@pytest.mark.parametrize("kind", ["dense", "gru", "bidirectional", "time_distributed"])
def test_shared_layer_has_one_copy_of_its_weights_and_sums_its_gradients(rng, kind):
    # every layer keeps per-call state (inputs, caches) for its backward: a second call in the
    # graph must not clobber the first's
    if kind == "dense":
        a, b = gn.Input(shape=(4,), name="a"), gn.Input(shape=(4,), name="b")
        shared = layers.Dense(3, activation="tanh", name="shared")
        xa, xb = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    else:
        a, b = gn.Input(shape=(5, 2), name="a"), gn.Input(shape=(3, 2), name="b")
        shared = {"gru": lambda: layers.GRU(3, name="shared"),
                  "bidirectional": lambda: layers.Bidirectional(layers.GRU(2), merge_mode="sum",
                                                                name="shared"),
                  "time_distributed": lambda: layers.TimeDistributed(
                      layers.Dense(3, activation="tanh"), name="shared")}[kind]()
        xa, xb = rng.normal(size=(6, 5, 2)), rng.normal(size=(6, 3, 2))
    ya, yb = shared(a), shared(b)
    if kind == "time_distributed":  # (6, T, 3) sequences: down to (6, 3) by a GRU each
        ya, yb = layers.GRU(3, name="ga")(ya), layers.GRU(3, name="gb")(yb)
        check_gradients(f64_model([a, b], layers.Dense(1)(layers.Multiply()([ya, yb]))),
                        [xa, xb], rng.normal(size=(6, 1)))
        return
    out = layers.Dense(1, name="out")(layers.Concatenate()([ya, layers.Multiply()([ya, yb])]))
    model = f64_model([a, b], out)
    n_shared = shared.count_params()
    width = 2 if kind == "bidirectional" else 3
    assert model.count_params() == n_shared + 2 * width + 1  # one copy, and the head
    assert len(model.get_weights()) == len(shared.get_weights()) + 2
    randomize_biases(model, rng)

    if kind == "dense":
        ra, rb = dense_ref(model, "shared", xa, "tanh"), dense_ref(model, "shared", xb, "tanh")
    elif kind == "gru":
        ra, rb = gru_ref(model, "shared", xa)[1], gru_ref(model, "shared", xb)[1]
    else:  # merge_mode="sum": the forward GRU's last h plus the backward GRU's
        w = weights_of(model, "shared")
        ra, rb = [gru_reference(x, *w[:3])[1] + gru_reference(x[:, ::-1], *w[3:])[1] for x in (xa, xb)]
    want = dense_ref(model, "out", np.concatenate([ra, ra * rb], -1))
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), want, rtol=1e-10, atol=1e-12)
    check_gradients(model, [xa, xb], rng.normal(size=(6, 1)))


def test_a_layer_shared_by_two_models_built_apart(rng):
    """Keras' layers own their weights: two models calling one layer see one set of values, and
    training either of them moves it for both."""
    a, b = gn.Input(shape=(4,), name="a"), gn.Input(shape=(4,), name="b")
    shared = layers.Dense(3, name="shared")
    first = gn.Model(a, shared(a))
    second = gn.Model(b, layers.Dense(1, name="head")(shared(b)))
    x, y1, y2 = rng.normal(size=(8, 4)), rng.normal(size=(8, 3)), rng.normal(size=(8, 1))
    for model, y in ((first, y1), (second, y2)):
        before = shared.get_weights()
        model.compile(optimizer=SGD(learning_rate=0.1), loss="mse")
        model.train_on_batch(x, y)
        after = shared.get_weights()
        assert not np.array_equal(after[0], before[0]), f"training {model.name} left the shared layer"
        kernel, bias = after
        np.testing.assert_allclose(first.predict(x, verbose=0), x @ kernel + bias, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(first.get_weights()[0], second.get_weights()[0])
        head_kernel, head_bias = second.get_layer("head").get_weights()
        np.testing.assert_allclose(second.predict(x, verbose=0),
                                   (x @ kernel + bias) @ head_kernel + head_bias, rtol=1e-5, atol=1e-6)


def test_a_model_keeps_its_optimizer_state_when_another_model_takes_its_layer(rng):
    """Keras keeps optimizer state per variable: building a second model on one of the first's
    layers (and training it) does not restart the first model's Adam."""
    xa, ya = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
    xb, yb = rng.normal(size=(8, 4)), rng.normal(size=(8, 1))

    def first_model():
        gn.utils.set_random_seed(1)
        a = gn.Input(shape=(4,), name="a")
        shared = layers.Dense(4, name="shared")
        model = gn.Model(a, shared(layers.Dense(4, name="own")(a)))
        model.compile(optimizer=Adam(learning_rate=0.01), loss="mse")
        model.train_on_batch(xa, ya)
        model.train_on_batch(xa, ya)
        return model, shared

    model, shared = first_model()
    b = gn.Input(shape=(4,), name="b")
    other = gn.Model(b, layers.Dense(1, name="head")(shared(b)))
    other.compile(optimizer=SGD(learning_rate=0.1), loss="mse")
    other.train_on_batch(xb, yb)
    moved = shared.get_weights()
    model.train_on_batch(xa, ya)

    reference, ref_shared = first_model()  # the same two steps, then the other model's change
    ref_shared.set_weights(moved)
    reference.train_on_batch(xa, ya)
    assert model.optimizer.iterations == reference.optimizer.iterations == 3
    for got, want in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("form", ["list", "dict"])
def test_two_outputs_weighted_losses(rng, form):
    inp = gn.Input(shape=(5, 2), name="x")
    seq = layers.GRU(4, return_sequences=True, name="trunk")(inp)
    o1 = layers.Dense(2, name="o1")(layers.GRU(3, name="last")(seq))
    o2 = layers.Dense(1, name="o2")(seq)  # one value per step
    model = f64_model(inp, [o1, o2])
    randomize_biases(model, rng)
    x = rng.normal(size=(6, 5, 2))
    y1, y2 = rng.normal(size=(6, 2)), rng.normal(size=(6, 5, 1))
    if form == "list":
        y, loss, loss_weights = [y1, y2], ["mse", "mse"], [1.0, 0.3]
    else:  # by output-layer name, in another order; o2 by mae
        y, loss, loss_weights = {"o2": y2, "o1": y1}, {"o2": "mae", "o1": "mse"}, {"o2": 0.3, "o1": 1.0}

    # predictions against NumPy
    seq_ref, _ = gru_ref(model, "trunk", x)
    p1_ref = dense_ref(model, "o1", gru_ref(model, "last", seq_ref)[1])
    p2_ref = dense_ref(model, "o2", seq_ref)
    p1, p2 = model.predict(x, verbose=0)
    np.testing.assert_allclose(p1, p1_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(p2, p2_ref, rtol=1e-10, atol=1e-12)

    model.compile(optimizer=SGD(learning_rate=1.0), loss=loss, loss_weights=loss_weights)
    logs = model.evaluate(x, y, batch_size=6, verbose=0, return_dict=True)
    second = np.mean((p2 - y2) ** 2) if form == "list" else np.mean(np.abs(p2 - y2))
    np.testing.assert_allclose(logs["loss"], np.mean((p1 - y1) ** 2) + 0.3 * second, rtol=1e-12)
    check_gradients(model, x, y, loss=loss, loss_weights=loss_weights)


def test_an_output_that_another_layer_also_reads(rng):
    """h is an output and the input of the head: its gradient is its own loss's plus the head's."""
    inp = gn.Input(shape=(5, 2), name="x")
    h = layers.GRU(3, name="state")(layers.GRU(4, return_sequences=True, name="trunk")(inp))
    out = layers.Dense(2, activation="tanh", name="head")(h)
    model = f64_model(inp, [h, out])
    randomize_biases(model, rng)
    x = rng.normal(size=(6, 5, 2))
    y = [rng.normal(scale=0.5, size=(6, 3)), rng.normal(scale=0.5, size=(6, 2))]
    h_ref = gru_ref(model, "state", gru_ref(model, "trunk", x)[0])[1]
    ph, po = model.predict(x, verbose=0)
    np.testing.assert_allclose(ph, h_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(po, dense_ref(model, "head", h_ref, "tanh"), rtol=1e-10, atol=1e-12)
    check_gradients(model, x, y, loss_weights=[0.5, 1.0])


def test_outputs_of_one_layer_get_distinct_names_and_log_keys(rng):
    """An LSTM's sequence and both states as three outputs: named lstm, lstm_1, lstm_2 (as tf.keras
    names them), so each output's loss has its own history key, equal to its mse."""
    inp = gn.Input(shape=(5, 2))
    y, h, c = layers.LSTM(3, return_sequences=True, return_state=True, name="lstm")(inp)
    model = f64_model(inp, [y, h, c])
    assert model.output_names == ["lstm", "lstm_1", "lstm_2"]
    x = rng.normal(size=(4, 5, 2))
    targets = [rng.normal(size=(4, 5, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 3))]
    model.compile(optimizer="sgd", loss="mse")
    logs = model.evaluate(x, targets, verbose=0, return_dict=True)
    preds = model.predict(x, verbose=0)
    for name, p, t in zip(model.output_names, preds, targets):
        np.testing.assert_allclose(logs[f"{name}_loss"], np.mean((p - t) ** 2), rtol=1e-10)
    np.testing.assert_allclose(logs["loss"], sum(logs[f"{n}_loss"] for n in model.output_names),
                               rtol=1e-10)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_encoder_states_as_the_decoders_initial_state(rng, cell):
    enc_in = gn.Input(shape=(5, 3), name="enc_in")
    dec_in = gn.Input(shape=(4, 2), name="dec_in")
    if cell == "lstm":
        _, h, c = layers.LSTM(6, return_state=True, name="encoder")(enc_in)
        seq = layers.LSTM(6, return_sequences=True, name="decoder")(dec_in, initial_state=[h, c])
    else:
        _, h = layers.GRU(6, return_state=True, name="encoder")(enc_in)
        seq = layers.GRU(6, return_sequences=True, name="decoder")(dec_in, initial_state=[h])
    out = layers.Dense(2, name="head")(seq)
    model = f64_model([enc_in, dec_in], out)
    randomize_biases(model, rng)
    xe, xd = rng.normal(size=(5, 5, 3)), rng.normal(size=(5, 4, 2))

    if cell == "lstm":
        _, h_ref, c_ref = lstm_ref(model, "encoder", xe)
        seq_ref, _, _ = lstm_ref(model, "decoder", xd, h0=h_ref, c0=c_ref)
    else:
        _, h_ref = gru_ref(model, "encoder", xe)
        seq_ref, _ = gru_ref(model, "decoder", xd, h0=h_ref)
    want = dense_ref(model, "head", seq_ref)
    np.testing.assert_allclose(model.predict([xe, xd], verbose=0), want, rtol=1e-10, atol=1e-12)
    # the encoder's weights reach the loss through the states alone: check_gradients requires
    # them to get a (correct) gradient
    check_gradients(model, [xe, xd], rng.normal(size=(5, 4, 2)))


def test_initial_state_from_dense_projections(rng):
    """An image-captioning shape: h0 and c0 are Dense projections of a feature vector."""
    feats = gn.Input(shape=(5,), name="feats")
    words = gn.Input(shape=(4, 3), name="words")
    h0 = layers.Dense(6, activation="tanh", name="h0")(feats)
    c0 = layers.Dense(6, name="c0")(feats)
    seq = layers.LSTM(6, return_sequences=True, name="lstm")(words, initial_state=[h0, c0])
    model = f64_model([feats, words], layers.Dense(2, name="head")(seq))
    randomize_biases(model, rng)
    xf, xw = rng.normal(size=(5, 5)), rng.normal(size=(5, 4, 3))
    seq_ref, _, _ = lstm_ref(model, "lstm", xw, h0=dense_ref(model, "h0", xf, "tanh"),
                             c0=dense_ref(model, "c0", xf))
    np.testing.assert_allclose(model.predict([xf, xw], verbose=0), dense_ref(model, "head", seq_ref),
                               rtol=1e-10, atol=1e-12)
    check_gradients(model, [xf, xw], rng.normal(size=(5, 4, 2)))


def test_repeat_vector_and_time_distributed_with_a_fan_out(rng):
    inp = gn.Input(shape=(4,), name="code")
    z = layers.Dense(3, activation="tanh", name="embed")(inp)
    r = layers.RepeatVector(5, name="repeat")(z)
    seq = layers.GRU(4, return_sequences=True, name="gru")(r)
    both = layers.Concatenate(name="skip")([seq, r])  # r feeds two layers: its gradients add up
    out = layers.TimeDistributed(layers.Dense(2), name="td")(both)
    model = f64_model(inp, out)
    randomize_biases(model, rng)
    x = rng.normal(size=(6, 4))

    z_ref = dense_ref(model, "embed", x, "tanh")
    r_ref = np.repeat(z_ref[:, None, :], 5, axis=1)
    seq_ref, _ = gru_ref(model, "gru", r_ref)
    kernel, bias = weights_of(model, "td")
    want = np.concatenate([seq_ref, r_ref], -1) @ kernel + bias
    got = model.predict(x, verbose=0)
    assert got.shape == (6, 5, 2)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    check_gradients(model, x, rng.normal(size=(6, 5, 2)))


def _pad(rows, T, pre):
    """Token rows (lists) zero-padded to T, at the front (pre) or the end."""
    out = np.zeros((len(rows), T), np.int64)
    for i, r in enumerate(rows):
        if pre:
            out[i, T - len(r):] = r
        else:
            out[i, :len(r)] = r
    return out


@pytest.mark.parametrize("pre", [False, True])
def test_embedding_mask_reaches_the_gru_through_the_graph(rng, pre):
    tokens = gn.Input(shape=(None,), dtype="int64", name="tokens")
    aux = gn.Input(shape=(2,), name="aux")
    e = layers.Embedding(12, 4, mask_zero=True, name="emb")(tokens)
    e = layers.Dense(4, activation="tanh", name="per_step")(e)  # the mask passes through Dense
    seq = layers.GRU(5, return_sequences=True, name="g1")(e)
    h = layers.GRU(3, name="g2")(seq)
    out = layers.Dense(1, name="out")(layers.Concatenate()([h, layers.Dense(3, name="a")(aux)]))
    model = f64_model([tokens, aux], out)
    randomize_biases(model, rng)
    rows = [list(rng.integers(1, 12, size=L)) for L in (8, 3, 5, 1, 6)]
    padded = _pad(rows, 8, pre)
    xa = rng.normal(size=(5, 2))

    got = model.predict({"tokens": padded, "aux": xa}, verbose=0)
    for i, r in enumerate(rows):  # each sequence alone, unpadded
        alone = model.predict({"tokens": np.array([r]), "aux": xa[i:i + 1]}, verbose=0)
        np.testing.assert_allclose(got[i], alone[0], rtol=1e-10, atol=1e-12)
    # and against NumPy on the unpadded sequences
    emb = weights_of(model, "emb")[0]
    for i, r in enumerate(rows):
        s = dense_ref(model, "per_step", emb[np.array([r])], "tanh")
        h_ref = gru_ref(model, "g2", gru_ref(model, "g1", s)[0])[1]
        want = dense_ref(model, "out", np.concatenate([h_ref, dense_ref(model, "a", xa[i:i + 1])], -1))
        np.testing.assert_allclose(got[i], want[0], rtol=1e-10, atol=1e-12)
    check_gradients(model, {"tokens": padded, "aux": xa}, rng.normal(size=(5, 1)))


def test_masks_of_two_inputs_merged_by_concatenate(rng):
    """Concatenate on the features ORs the masks: a step counts when either sequence has it."""
    t1 = gn.Input(shape=(None,), dtype="int64", name="t1")
    t2 = gn.Input(shape=(None,), dtype="int64", name="t2")
    e1 = layers.Embedding(9, 3, mask_zero=True, name="e1")(t1)
    e2 = layers.Embedding(9, 2, mask_zero=True, name="e2")(t2)
    h = layers.GRU(4, name="gru")(layers.Concatenate()([e1, e2]))
    model = f64_model([t1, t2], layers.Dense(1, name="out")(h))
    randomize_biases(model, rng)
    a = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 0, 0, 0, 0]])
    b = np.array([[1, 1, 0, 0, 0, 0], [2, 3, 4, 0, 0, 0]])  # a row's steps: 3 and 3
    got = model.predict([a, b], verbose=0)
    e1w, e2w = weights_of(model, "e1")[0], weights_of(model, "e2")[0]
    x = np.concatenate([e1w[a[:, :3]], e2w[b[:, :3]]], -1)  # token 0's vector where one is padded
    want = dense_ref(model, "out", gru_ref(model, "gru", x)[1])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    check_gradients(model, [a, b], rng.normal(size=(2, 1)))


def test_masking_layer_in_a_graph(rng):
    inp = gn.Input(shape=(None, 2), name="x")
    m = layers.Masking(0.0, name="mask")(inp)
    seq = layers.GRU(4, return_sequences=True, name="g1")(m)
    td = layers.TimeDistributed(layers.Dense(3, activation="tanh"), name="td")(seq)
    h = layers.GRU(3, name="g2")(td)
    out = layers.Dense(1, name="out")(h)
    model = f64_model(inp, out)
    randomize_biases(model, rng)
    lengths = [7, 2, 4, 5]
    x = rng.normal(size=(4, 7, 2))
    x[np.arange(7) >= np.array(lengths)[:, None]] = 0.0
    got = model.predict(x, verbose=0)
    for i, L in enumerate(lengths):
        np.testing.assert_allclose(got[i], model.predict(x[i:i + 1, :L], verbose=0)[0],
                                   rtol=1e-10, atol=1e-12)
    # pre-padding too
    pre = np.zeros((1, 9, 2))
    pre[0, 9 - lengths[2]:] = x[2, :lengths[2]]
    np.testing.assert_allclose(model.predict(pre, verbose=0)[0], got[2], rtol=1e-10, atol=1e-12)
    check_gradients(model, x, rng.normal(size=(4, 1)))


# ---- 2. against PyTorch -----------------------------------------------------------------------

def test_encoder_decoder_lstm_matches_torch(rng):
    torch = pytest.importorskip("torch")
    Te, Td, I, J, H, O, B = 6, 5, 3, 4, 7, 2, 8
    enc_in = gn.Input(shape=(Te, I), name="enc_in")
    dec_in = gn.Input(shape=(Td, J), name="dec_in")
    _, h, c = layers.LSTM(H, return_state=True, name="encoder")(enc_in)
    seq = layers.LSTM(H, return_sequences=True, name="decoder")(dec_in, initial_state=[h, c])
    out = layers.Dense(O, name="head")(seq)
    model = gn.Model(inputs=[enc_in, dec_in], outputs=out)
    randomize_biases(model, rng)
    xe = rng.normal(size=(B, Te, I)).astype(np.float32)
    xd = rng.normal(size=(B, Td, J)).astype(np.float32)
    y = rng.normal(size=(B, Td, O)).astype(np.float32)

    class EncoderDecoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.LSTM(I, H, batch_first=True)
            self.decoder = torch.nn.LSTM(J, H, batch_first=True)
            self.head = torch.nn.Linear(H, O)

        def forward(self, xe, xd):
            _, (h, c) = self.encoder(xe)
            y, _ = self.decoder(xd, (h, c))
            return self.head(y)

    def to_torch(ours):
        """Our weights in torch's layout: Keras' gates i, f, c, o are torch's i, f, g, o."""
        net = EncoderDecoder()
        with torch.no_grad():
            for name in ("encoder", "decoder"):
                kernel, recurrent, bias = ours.get_layer(name).get_weights()
                lstm = getattr(net, name)
                lstm.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
                lstm.weight_hh_l0.copy_(torch.from_numpy(recurrent.T.copy()))
                lstm.bias_ih_l0.copy_(torch.from_numpy(bias))
                lstm.bias_hh_l0.zero_()
                lstm.bias_hh_l0.requires_grad_(False)  # one bias here: torch's second stays 0
            kernel, bias = ours.get_layer("head").get_weights()
            net.head.weight.copy_(torch.from_numpy(kernel.T.copy()))
            net.head.bias.copy_(torch.from_numpy(bias))
        return net

    def assert_same_weights(net, ref, what):
        for (name, p), q in zip(ref.named_parameters(), net.parameters()):
            np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-5,
                                       atol=1e-6, err_msg=f"{what}: {name}")

    tx, ty = torch.from_numpy(xe), torch.from_numpy(xd)
    ref = to_torch(model)
    with torch.no_grad():
        want = ref(tx, ty).numpy()
    np.testing.assert_allclose(model.predict([xe, xd], verbose=0), want, rtol=1e-5, atol=1e-5)

    # the gradients, read off one SGD step of learning rate 1, against torch's autograd
    start = model.get_weights()
    model.compile(optimizer=SGD(learning_rate=1.0), loss="mse")
    loss = model.train_on_batch([xe, xd], y)
    torch_loss = torch.nn.functional.mse_loss(ref(tx, ty), torch.from_numpy(y))
    torch_loss.backward()
    np.testing.assert_allclose(loss, torch_loss.item(), rtol=1e-5)
    stepped = to_torch(model)
    for (name, p), q in zip(ref.named_parameters(), stepped.parameters()):
        if not p.requires_grad:
            continue
        g = p.detach().numpy() - q.detach().numpy()
        scale = max(1.0, float(np.abs(p.grad.numpy()).max()))
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=0, atol=1e-5 * scale, err_msg=name)
    model.set_weights(start)

    # Adam steps. Keras adds epsilon outside the bias correction of v: step t equals torch with
    # eps / sqrt(1 - beta_2 ** t).
    ref = to_torch(model)
    lr = 1e-2
    model.compile(optimizer=Adam(learning_rate=lr), loss="mse")
    opt = torch.optim.Adam([p for p in ref.parameters() if p.requires_grad], lr=lr)
    for t in range(1, 4):
        opt.param_groups[0]["eps"] = 1e-7 / np.sqrt(1 - 0.999 ** t)
        opt.zero_grad()
        torch.nn.functional.mse_loss(ref(tx, ty), torch.from_numpy(y)).backward()
        opt.step()
        model.train_on_batch([xe, xd], y)
        assert_same_weights(to_torch(model), ref, f"after Adam step {t}")
    assert not np.allclose(model.get_weights()[0], start[0])


# ---- 3. seq2seq: train, save, load, decode step by step ---------------------------------------

V, START, LATENT = 6, 0, 16  # tokens 1..5; 0 starts the decoder


def _reverse_task(rng, n, T):
    src = rng.integers(1, V, size=(n, T))
    tgt = src[:, ::-1]
    dec = np.concatenate([np.full((n, 1), START), tgt[:, :-1]], axis=1)  # teacher forcing
    eye = np.eye(V, dtype=np.float32)
    return eye[src], eye[dec], eye[tgt]


def test_seq2seq_save_load_and_step_by_step_decoding(rng, tmp_path):
    gn.utils.set_random_seed(3)
    T = 4
    enc_x, dec_x, dec_y = _reverse_task(rng, 96, T)
    encoder_inputs = gn.Input(shape=(None, V), name="encoder_inputs")
    _, state_h, state_c = layers.LSTM(LATENT, return_state=True, name="encoder")(encoder_inputs)
    decoder_inputs = gn.Input(shape=(None, V), name="decoder_inputs")
    dec_seq, _, _ = layers.LSTM(LATENT, return_sequences=True, return_state=True,
                                name="decoder")(decoder_inputs, initial_state=[state_h, state_c])
    probs = layers.Dense(V, activation="softmax", name="probs")(dec_seq)
    model = gn.Model([encoder_inputs, decoder_inputs], probs, name="seq2seq")
    model.compile(optimizer=Adam(learning_rate=1e-2), loss="categorical_crossentropy")
    history = model.fit([enc_x, dec_x], dec_y, batch_size=16, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]

    want = model.predict([enc_x, dec_x], verbose=0)
    np.testing.assert_allclose(want.sum(-1), 1.0, rtol=1e-5)
    path = tmp_path / "seq2seq.gru"
    model.save(path)
    loaded = gn.models.load_model(path)
    assert loaded is not model and loaded.get_layer("decoder") is not model.get_layer("decoder")
    np.testing.assert_array_equal(loaded.predict([enc_x, dec_x], verbose=0), want)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(model)).predict([enc_x, dec_x], verbose=0), want)
    # the optimizer state came along: one more step on each gives the same weights
    copy = gn.models.load_model(path)
    model.train_on_batch([enc_x[:16], dec_x[:16]], dec_y[:16])
    copy.train_on_batch([enc_x[:16], dec_x[:16]], dec_y[:16])
    for a, b in zip(model.get_weights(), copy.get_weights()):
        np.testing.assert_array_equal(a, b)
    loaded_weights = loaded.get_weights()

    # The inference models of Keras' character-level seq2seq example, from the loaded model.
    enc_in = loaded.input[0]
    _, h_enc, c_enc = loaded.get_layer("encoder").output
    encoder_model = gn.Model(enc_in, [h_enc, c_enc])
    dec_in = loaded.input[1]
    h_in = gn.Input(shape=(LATENT,), name="h_in")
    c_in = gn.Input(shape=(LATENT,), name="c_in")
    dec_out, h_dec, c_dec = loaded.get_layer("decoder")(dec_in, initial_state=[h_in, c_in])
    step_probs = loaded.get_layer("probs")(dec_out)
    decoder_model = gn.Model([dec_in, h_in, c_in], [step_probs, h_dec, c_dec])
    # building them shares the loaded layers' weights, and changes none
    for a, b in zip(loaded.get_weights(), loaded_weights):
        np.testing.assert_array_equal(a, b)

    test_x, _, _ = _reverse_task(np.random.default_rng(5), 6, T)
    h, c = encoder_model.predict(test_x, verbose=0)
    _, h_ref, c_ref = lstm_ref(loaded, "encoder", test_x)
    np.testing.assert_allclose(h, h_ref, atol=1e-5)
    np.testing.assert_allclose(c, c_ref, atol=1e-5)
    fed = np.full((6, 1), START)
    eye = np.eye(V, dtype=np.float32)
    for t in range(T):
        p, h, c = decoder_model.predict([eye[fed[:, -1:]], h, c], verbose=0)
        assert p.shape == (6, 1, V) and h.shape == c.shape == (6, LATENT)
        teacher = loaded.predict([test_x, eye[fed]], verbose=0)  # the whole prefix at once
        np.testing.assert_allclose(p[:, 0], teacher[:, t], atol=1e-5)
        fed = np.concatenate([fed, p[:, 0].argmax(-1)[:, None]], axis=1)

    # the inference models share the loaded model's weights: training it moves theirs
    loaded.fit([enc_x, dec_x], dec_y, batch_size=32, epochs=1, verbose=0)
    assert not np.array_equal(loaded.get_layer("encoder").get_weights()[0], loaded_weights[0])
    h, c = encoder_model.predict(test_x, verbose=0)
    _, h_ref, c_ref = lstm_ref(loaded, "encoder", test_x)
    np.testing.assert_allclose(h, h_ref, atol=1e-5)
    p, _, _ = decoder_model.predict([eye[fed[:, :1]], h, c], verbose=0)
    np.testing.assert_allclose(p[:, 0], loaded.predict([test_x, eye[fed[:, :1]]], verbose=0)[:, 0],
                               atol=1e-5)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_training_a_sub_model_moves_only_its_own_layers(rng, optimizer):
    """A sub-model (the encoder of an encoder-decoder) shares the full model's weights; as in
    Keras, training it updates its own layers' weights and no others (AdamW's weight decay
    included)."""
    enc_in = gn.Input(shape=(4, 3), name="enc_in")
    dec_in = gn.Input(shape=(2, 3), name="dec_in")
    _, h, c = layers.LSTM(5, return_state=True, name="encoder")(enc_in)
    seq = layers.LSTM(5, return_sequences=True, name="decoder")(dec_in, initial_state=[h, c])
    full = gn.Model([enc_in, dec_in], layers.Dense(2, name="head")(seq))
    encoder = gn.Model(enc_in, h)
    others = {name: full.get_layer(name).get_weights() for name in ("decoder", "head")}
    start = full.get_layer("encoder").get_weights()
    encoder.compile(optimizer=optimizer, loss="mse")
    x = rng.normal(size=(8, 4, 3)).astype(np.float32)
    encoder.fit(x, rng.normal(size=(8, 5)), epochs=2, batch_size=4, verbose=0)
    assert not np.array_equal(full.get_layer("encoder").get_weights()[0], start[0])
    for name, weights in others.items():
        for a, b in zip(full.get_layer(name).get_weights(), weights):
            np.testing.assert_array_equal(a, b, err_msg=name)
    _, h_ref, _ = lstm_ref(full, "encoder", x)
    np.testing.assert_allclose(encoder.predict(x, verbose=0), h_ref, atol=1e-5)


# ---- 4. errors ----------------------------------------------------------------------------------

def test_built_layer_called_on_an_input_of_another_shape():
    x3 = gn.Input(shape=(3,), name="three")
    dense = layers.Dense(4, name="proj")
    model = gn.Model(x3, dense(x3))
    before = model.get_weights()
    with pytest.raises(ValueError, match="proj"):
        dense(gn.Input(shape=(5,), name="five"))
    assert dense.get_weights()[0].shape == (3, 4)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), x @ before[0] + before[1], rtol=1e-6)


def test_graph_disconnected():
    a = gn.Input(shape=(3,), name="in_a")
    b = gn.Input(shape=(3,), name="in_b")
    joined = layers.Add(name="join")([layers.Dense(3, name="da")(a), layers.Dense(3, name="db")(b)])
    out = layers.Dense(2, name="head")(joined)
    with pytest.raises(ValueError, match="in_b|join|db"):
        gn.Model(inputs=a, outputs=out)
    with pytest.raises(ValueError, match="in_b|db"):
        gn.Model(inputs=a, outputs=layers.Dense(1, name="only_b")(layers.Dense(2, name="db2")(b)))
    gn.Model(inputs=[a, b], outputs=out)  # with both inputs it builds


def test_fit_with_a_dict_missing_an_input_or_naming_an_unknown_one(rng):
    left = gn.Input(shape=(4, 2), name="left_in")
    right = gn.Input(shape=(3,), name="right_in")
    out = layers.Dense(1, name="out")(layers.Concatenate()([layers.GRU(3)(left), right]))
    model = gn.Model([left, right], out)
    model.compile(optimizer="adam", loss="mse")
    xl, xr, y = rng.normal(size=(8, 4, 2)), rng.normal(size=(8, 3)), rng.normal(size=(8, 1))
    before = model.get_weights()
    with pytest.raises(ValueError, match="right_in"):
        model.fit({"left_in": xl}, y, epochs=1, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="bogus_in"):
        model.fit({"left_in": xl, "right_in": xr, "bogus_in": xr}, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="bogus_in"):
        model.fit({"left_in": xl, "bogus_in": xr}, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="bogus_out"):
        model.fit({"left_in": xl, "right_in": xr}, {"bogus_out": y}, epochs=1, verbose=0)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == 0
    model.fit({"left_in": xl, "right_in": xr}, {"out": y}, epochs=1, batch_size=4, verbose=0)
    assert model.optimizer.iterations == 2
    assert not np.array_equal(model.get_weights()[0], before[0])


# ---- 5. Sequential equivalence, introspection, summary -----------------------------------------

def test_sequential_and_functional_agree(rng):
    seq = gn.Sequential([gn.Input((6, 2)), layers.GRU(3), layers.Dense(1)])
    inp = gn.Input(shape=(6, 2))
    func = gn.Model(inp, layers.Dense(1)(layers.GRU(3)(inp)))
    assert func.count_params() == seq.count_params() == 2 * 9 + 3 * 9 + 2 * 9 + 3 + 1
    randomize_biases(seq, rng)
    func.set_weights(seq.get_weights())
    x = rng.normal(size=(5, 6, 2)).astype(np.float32)
    y = rng.normal(size=(5, 1)).astype(np.float32)
    want = seq.predict(x, verbose=0)
    np.testing.assert_allclose(want, reference_predict(seq, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(func.predict(x, verbose=0), want, rtol=1e-6, atol=1e-7)
    for model in (seq, func):
        model.compile(optimizer=SGD(learning_rate=0.5), loss="mse")
    seq_loss, func_loss = seq.train_on_batch(x, y), func.train_on_batch(x, y)
    np.testing.assert_allclose(func_loss, seq_loss, rtol=1e-6)
    for a, b in zip(func.get_weights(), seq.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_graph_introspection():
    x1 = gn.Input(shape=(7, 3), name="a")
    x2 = gn.Input(shape=(5,), name="b")
    gru, proj = layers.GRU(4, name="g"), layers.Dense(4, name="p")
    h, v = gru(x1), proj(x2)
    cat = layers.Concatenate(name="cat")
    out = layers.Dense(2, name="out")(cat([h, v]))
    model = gn.Model(inputs=[x1, x2], outputs=out, name="m")
    assert {layer.name for layer in model.layers} == {"a", "b", "g", "p", "cat", "out"}
    assert {type(layer).__name__ for layer in model.layers if layer.name in ("a", "b")} == {"InputLayer"}
    names = [layer.name for layer in model.layers]
    for before, after in [("a", "g"), ("b", "p"), ("g", "cat"), ("p", "cat"), ("cat", "out")]:
        assert names.index(before) < names.index(after), names
    assert model.inputs[0] is x1 and model.inputs[1] is x2
    assert model.outputs[0] is out and model.output is out
    assert model.get_layer("g") is gru and model.get_layer("g").output is h
    assert model.get_layer("out").output is out
    assert cat.input[0] is h and cat.input[1] is v
    with pytest.raises(ValueError, match="nope"):
        model.get_layer("nope")


def test_summary_connected_to_column(capsys):
    x1 = gn.Input(shape=(7, 3), name="seq_in")
    x2 = gn.Input(shape=(5,), name="vec_in")
    h = layers.GRU(4, name="gru_branch")(x1)
    v = layers.Dense(4, name="dense_branch")(x2)
    out = layers.Dense(2, name="head")(layers.Concatenate(name="joined")([h, v]))
    model = gn.Model(inputs=[x1, x2], outputs=out, name="two_inputs")
    model.summary()
    text = capsys.readouterr().out
    lines = text.splitlines()
    header = next(line for line in lines if "Layer (type)" in line)
    assert "Connected to" in header

    def block(layer_name):
        """The lines of a layer's row (Keras puts one inbound per line), up to the next rule."""
        start = next(i for i, line in enumerate(lines) if f"{layer_name} (" in line)
        end = next(i for i in range(start + 1, len(lines)) if lines[i][:1] in "├└")
        return "\n".join(lines[start:end])

    joined = block("joined")
    assert "gru_branch" in joined and "dense_branch" in joined and "seq_in" not in joined
    assert "vec_in" in block("dense_branch") and "seq_in" in block("gru_branch")
    assert "joined" in block("head") and "gru_branch" not in block("head")
    assert f"Total params: {model.count_params():,}" in text
    assert model.count_params() == (3 * 12 + 4 * 12 + 2 * 12) + (5 * 4 + 4) + (8 * 2 + 2)


def test_a_graph_deeper_than_the_recursion_limit_builds_and_runs():
    """The graph is walked with a stack of its own: a chain of 3,000 layers (Python's recursion
    limit is 1,000) builds and predicts."""
    x = inputs = gn.Input(shape=(2,))
    for _ in range(3000):
        x = layers.Dense(2)(x)
    model = gn.Model(inputs, x)
    assert len(model.graph.nodes) == 3000
    assert model.predict(np.ones((1, 2), np.float32)).shape == (1, 2)
