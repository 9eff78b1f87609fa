"""The inference plan on functional graphs (several inputs and outputs, shared layers, merges,
initial states, RepeatVector, TimeDistributed, Bidirectional, every activation in C, poolings
over time, layer and batch normalisation): predict
through the plan against the layer path, in float32 and float64; a proof that predict runs no
Python layer; the records' checks; streaming a graph."""

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers
from gru_native.kernels.inference import InferencePlan
from gru_native.kernels.plan_ops import (ActivationOp, DenseOp, MergeOp, NormOp, PoolOp,
                                         RecurrentOp, RepeatOp)
from helpers import forbid_python_layers

TOL = {np.float32: 1e-6, np.float64: 1e-12}
MERGES = {"concat": layers.Concatenate, "add": layers.Add, "subtract": layers.Subtract,
          "multiply": layers.Multiply, "average": layers.Average, "maximum": layers.Maximum,
          "minimum": layers.Minimum}
ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "softmax"]


def two_inputs_concat_dense(dtype):
    a, b = gn.Input((5, 3), name="a"), gn.Input((5, 2), name="b")
    ha = layers.GRU(4)(a)
    hb = layers.LSTM(3)(b)
    y = layers.Dense(2, activation="tanh")(layers.Concatenate()([ha, hb]))
    return gn.Model([a, b], y, dtype=dtype), [(5, 3), (5, 2)]


def shared_dense_add(dtype):
    x = gn.Input((6, 3))
    h1 = layers.GRU(5, return_sequences=True)(x)
    h2 = layers.LSTM(5, return_sequences=True)(x)
    shared = layers.Dense(4, activation="relu")
    y = layers.Dense(1)(layers.Add()([shared(h1), shared(h2)]))
    return gn.Model(x, y, dtype=dtype), [(6, 3)]


def encoder_decoder(dtype):
    enc_in, dec_in = gn.Input((7, 3), name="enc"), gn.Input((4, 2), name="dec")
    _, h, c = layers.LSTM(6, return_state=True)(enc_in)
    seq = layers.LSTM(6, return_sequences=True)(dec_in, initial_state=[h, c])
    y = layers.TimeDistributed(layers.Dense(5, activation="softmax"))(seq)
    return gn.Model([enc_in, dec_in], y, dtype=dtype), [(7, 3), (4, 2)]


def gru_repeat_gru_dense(dtype):
    x = gn.Input((6, 3))
    h = layers.GRU(5, reset_after=False)(x)
    seq = layers.GRU(4, return_sequences=True)(layers.RepeatVector(3)(h))
    return gn.Model(x, layers.Dense(2)(seq), dtype=dtype), [(6, 3)]


def gru_initial_state_and_states_out(dtype):
    """GRU states in and out, three outputs as a dict, a Dropout and an Input given back."""
    x, h0 = gn.Input((5, 3), name="x"), gn.Input((4,), name="h0")
    y, h = layers.GRU(4, return_sequences=True, return_state=True)(x, initial_state=h0)
    _, h2, c2 = layers.LSTM(3, return_state=True, go_backwards=True, use_bias=False)(
        layers.Dropout(0.5)(y))
    out = layers.Dense(2, activation="sigmoid")(layers.Concatenate()([h, h2, c2]))
    return gn.Model([x, h0], {"out": out, "h": h, "h0": h0}, dtype=dtype), [(5, 3), (4,)]


def time_concat(dtype):
    x = gn.Input((4, 3))
    a = layers.GRU(3, return_sequences=True)(x)
    b = layers.TimeDistributed(layers.Dense(3))(x)
    seq = layers.Concatenate(axis=1)([a, b, a])
    return gn.Model(x, layers.LSTM(2)(seq), dtype=dtype), [(4, 3)]


def mlp(dtype):
    x = gn.Input((6,))
    h = layers.Dense(8, activation="relu")(x)
    h = layers.Activation("softmax")(layers.Dense(5)(h))
    return gn.Model(x, [h, layers.Dense(1)(h)], dtype=dtype), [(6,)]


def randomise_normalisations(model, seed=5):
    """gamma, beta and moving statistics away from their initial values (1, 0, 0, 1), so that
    a normalisation computed wrongly shows."""
    r = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, (layers.BatchNormalization, layers.LayerNormalization)):
            for w in layer.weights:
                w[...] = r.uniform(0.5, 2.0, w.shape)
    return model


def pooled_normalised(dtype, steps=7):
    x = gn.Input((steps, 3))
    h = layers.BatchNormalization()(layers.GRU(5, return_sequences=True)(x))
    h = layers.MaxPooling1D(3, strides=2, padding="same")(h)
    h = layers.AveragePooling1D(2)(layers.LayerNormalization()(h))
    y = layers.Dense(2)(layers.GRU(4)(h))
    return randomise_normalisations(gn.Model(x, y, dtype=dtype)), [(steps, 3)]


def global_pools(dtype):
    """Both global poolings, with and without keepdims, and a normalisation of vectors."""
    x = gn.Input((6, 3))
    seq = layers.GRU(4, return_sequences=True)(x)
    mean = layers.LayerNormalization()(layers.GlobalAveragePooling1D()(seq))
    outs = [layers.Dense(2)(mean), layers.GlobalMaxPooling1D()(seq),
            layers.GlobalAveragePooling1D(keepdims=True)(seq),
            layers.GlobalMaxPooling1D(keepdims=True)(seq)]
    return randomise_normalisations(gn.Model(x, outs, dtype=dtype)), [(6, 3)]


def normalisations_without_affine(dtype):
    """BatchNormalization with gamma, beta, either or neither; on sequences and vectors."""
    x = gn.Input((5, 3))
    seq = layers.GRU(4, return_sequences=True)(x)
    outs = [layers.BatchNormalization(center=center, scale=scale)(seq)
            for center in (True, False) for scale in (True, False)]
    outs.append(layers.BatchNormalization(center=False, scale=False)(layers.GRU(3)(x)))
    outs.append(layers.LayerNormalization(center=False, scale=False)(seq))
    return randomise_normalisations(gn.Model(x, outs, dtype=dtype)), [(5, 3)]


def windowed_pools(dtype):
    """Every windowed pooling: both modes and paddings, strides below, at and above the
    window."""
    x = gn.Input((9, 3))
    seq = layers.GRU(4, return_sequences=True)(x)
    outs = [cls(pool, strides=strides, padding=padding)(seq)
            for cls in (layers.MaxPooling1D, layers.AveragePooling1D)
            for pool, strides in ((3, 2), (2, 2), (2, 3), (4, 1)) for padding in ("valid", "same")]
    return gn.Model(x, outs, dtype=dtype), [(9, 3)]


GRAPHS = {f.__name__: f for f in (two_inputs_concat_dense, shared_dense_add, encoder_decoder,
                                  gru_repeat_gru_dense, gru_initial_state_and_states_out,
                                  time_concat, mlp, pooled_normalised, global_pools,
                                  normalisations_without_affine, windowed_pools)}


def inputs_for(rng, shapes, B):
    return [rng.normal(size=(B,) + s) for s in shapes]


def layer_path(model, xs):
    """Every output through the layers (not the plan), in the model's output order."""
    return model._forward(model._inputs(xs), training=False)[0]


def as_list(model, y):
    if isinstance(y, dict):
        return [y[k] for k in model._output_keys]
    return list(y) if isinstance(y, list) else [y]


def assert_plan_matches_layers(model, shapes, rng, dtype, batches=(5, 1)):
    assert model.inference_plan() is not None, "the model should have a plan"
    for B in batches:
        xs = inputs_for(rng, shapes, B)
        got = as_list(model, model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
        want = layer_path(model, xs)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.dtype == dtype and g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_graph_predict_through_the_plan_equals_the_layer_path(rng, name, dtype):
    gn.utils.set_random_seed(11)
    model, shapes = GRAPHS[name](dtype)
    assert_plan_matches_layers(model, shapes, rng, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", sorted(MERGES))
@pytest.mark.parametrize("sequences", [True, False])
def test_every_merge_kind(rng, kind, sequences, dtype):
    gn.utils.set_random_seed(4)
    x = gn.Input((5, 3))
    branches = [layers.GRU(4, return_sequences=sequences)(x),
                layers.LSTM(4, return_sequences=sequences)(x),
                layers.GRU(4, return_sequences=sequences, reset_after=False)(x)]
    merged = MERGES[kind]()(branches[:2] if kind == "subtract" else branches)
    model = gn.Model(x, layers.Dense(2)(merged), dtype=dtype)
    assert_plan_matches_layers(model, [(5, 3)], rng, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_each_activation_runs_in_c(rng, activation, dtype):
    gn.utils.set_random_seed(6)
    x = gn.Input((4, 3))
    seq = layers.GRU(5, return_sequences=True)(x)
    a = layers.Dense(6, activation=activation)(seq)  # inside the dense op
    b = layers.Activation(activation)(layers.Dense(6)(layers.GRU(5)(x)))  # an op of its own
    model = gn.Model(x, [a, b], dtype=dtype)
    assert_plan_matches_layers(model, [(4, 3)], rng, dtype)
    # large logits: softmax subtracts the row maximum, sigmoid never overflows
    plan = model.inference_plan()
    big = np.ascontiguousarray(rng.normal(scale=300, size=(3, 4, 3)), dtype)
    for y in plan.run([big]):
        assert np.isfinite(y).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul"])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional(rng, merge_mode, return_sequences, dtype):
    gn.utils.set_random_seed(8)
    x = gn.Input((5, 3))
    cell = layers.LSTM if merge_mode in ("sum", "mul") else layers.GRU
    y = layers.Bidirectional(cell(4, return_sequences=return_sequences), merge_mode=merge_mode)(x)
    model = gn.Model(x, layers.Dense(2)(y), dtype=dtype)
    assert_plan_matches_layers(model, [(5, 3)], rng, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pooling_sequences_of_any_length(rng, dtype):
    """Time steps given at run time: odd and even lengths, 'same' padding split unevenly; a
    'valid' window longer than the sequence is a ValueError naming the op."""
    gn.utils.set_random_seed(12)
    model, _ = pooled_normalised(dtype, steps=None)
    for steps in (3, 4, 5, 7, 10):
        assert_plan_matches_layers(model, [(steps, 3)], rng, dtype)
    x = np.zeros((2, 2, 3), dtype)  # MaxPooling1D('same') leaves 1 step; AveragePooling1D needs 2
    with pytest.raises(ValueError, match=r"op 4 \(PoolOp\): field 'pool_size': a 'valid' window of "
                                         r"2 steps is longer than slot 4 \(1 steps in this run\)"):
        model.predict(x, verbose=0)


def test_the_plan_sees_batch_statistics_moved_by_fit(rng):
    """BatchNormalization's op points at the moving statistics in the parameter buffer: after
    fit has moved them, the plan made before still agrees with the layers."""
    gn.utils.set_random_seed(13)
    for dtype in (np.float32, np.float64):
        x = gn.Input((6, 3))
        bn = layers.BatchNormalization(momentum=0.5)
        h = layers.GlobalAveragePooling1D()(bn(layers.GRU(4, return_sequences=True)(x)))
        model = gn.Model(x, layers.Dense(1)(h), dtype=dtype)
        model.compile("adam", "mse")
        plan = model.inference_plan()
        xs = [rng.normal(2, 3, size=(4, 6, 3))]
        before = [w.copy() for w in bn.weights]
        model.fit(rng.normal(2, 3, size=(32, 6, 3)), rng.normal(size=(32, 1)), epochs=2,
                  batch_size=8, verbose=0)
        assert all(np.abs(w - b).max() > 1e-3 for w, b in zip(bn.weights, before))
        assert model.inference_plan() is plan
        np.testing.assert_allclose(model.predict(xs[0], verbose=0), layer_path(model, xs)[0],
                                   rtol=TOL[dtype], atol=TOL[dtype])


def test_predict_with_a_mask_runs_the_layers(rng):
    """The plan takes no mask: predict given one goes through the layers, where a global
    pooling leaves the padded steps out."""
    x = gn.Input((5, 3))
    model = gn.Model(x, layers.GlobalAveragePooling1D()(x))
    assert model.inference_plan() is not None
    xs = rng.normal(size=(2, 5, 3)).astype(np.float32)
    mask = np.array([[True] * 5, [True, True, False, False, False]])
    np.testing.assert_allclose(model.predict(xs, mask=mask, verbose=0),
                               [xs[0].mean(0), xs[1, :2].mean(0)], rtol=1e-6)
    np.testing.assert_allclose(model.predict(xs, verbose=0), xs.mean(1), rtol=1e-6)


def test_sequential_of_every_plan_layer(rng):
    model = gn.Sequential([layers.Bidirectional(layers.GRU(4, return_sequences=True),
                                                input_shape=(6, 3)),
                           layers.TimeDistributed(layers.Dropout(0.2)),
                           layers.LSTM(5), layers.RepeatVector(2),
                           layers.GRU(3, return_sequences=True),
                           layers.TimeDistributed(layers.Activation("relu")),
                           layers.TimeDistributed(layers.Dense(2, activation="softmax"))])
    assert_plan_matches_layers(model, [(6, 3)], rng, np.float32)


def test_predict_runs_no_python_layer(rng, monkeypatch):
    """With every layer class's forward and call_node raising, predict still works: the plan
    is one call into C."""
    models = [GRAPHS[name](np.float32) for name in sorted(GRAPHS)]
    models.append((gn.Sequential([layers.GRU(4, input_shape=(5, 3)), layers.Dense(1)]), [(5, 3)]))
    expected = []
    for model, shapes in models:
        xs = inputs_for(rng, shapes, 3)
        expected.append((xs, layer_path(model, xs)))
        assert model.inference_plan() is not None

    forbid_python_layers(monkeypatch)
    for (model, _), (xs, want) in zip(models, expected):
        model._plans.clear()  # built again under the patch: building runs no layer either
        got = as_list(model, model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)
    with pytest.raises(AssertionError, match="a Python layer ran"):  # the patch does bite
        layer_path(*models[0][:1], expected[0][0])


def test_graphs_without_a_plan_fall_back_to_the_layers(rng):
    x = gn.Input((5, 3))
    cases = [
        gn.Model(x, layers.GRU(3, stateful=True)(x)),  # carried state
        gn.Model(x, layers.GRU(3)(layers.Masking()(x))),  # masks
        gn.Model(x, layers.GRU(3, go_backwards=True, return_sequences=True)(x)),
        gn.Model(x, layers.Add()([layers.GRU(3)(x), layers.Dense(1)(layers.GRU(3)(x))])),  # broadcast
        gn.Model(x, layers.Flatten()(layers.GRU(3, return_sequences=True)(x))),
        gn.Model(x, layers.MaxPooling1D(data_format="channels_first")(x)),  # channels, then steps
        gn.Model(x, layers.GlobalAveragePooling1D(data_format="channels_first")(x)),
    ]
    for model in cases:
        assert model.inference_plan() is None
        xs = [rng.normal(size=(2, 5, 3))]
        y = model.predict(xs[0], verbose=0)
        model.reset_states()  # the stateful model starts again from zeros
        np.testing.assert_array_equal(y, layer_path(model, xs)[0])


def test_streaming_a_graph_with_one_sequence_input(rng):
    """Two recurrent branches of one input, merged, two outputs: steps equal predict on the
    sequence so far."""
    gn.utils.set_random_seed(9)
    x = gn.Input((None, 3))
    a = layers.GRU(6, return_sequences=True)(x)
    b = layers.LSTM(6, return_sequences=True)(x)
    m = layers.Multiply()([a, b])
    last = layers.GRU(4)(m)
    model = gn.Model(x, [layers.Dense(2, activation="softmax")(m), layers.Dense(1)(last)])
    xs = rng.normal(size=(2, 8, 3))
    stream = model.stream(batch_size=2)
    for t in range(8):
        y_seq, y_last = stream.step(xs[:, t])
        whole_seq, whole_last = model.predict(xs[:, :t + 1], verbose=0)
        np.testing.assert_allclose(y_seq, whole_seq[:, t], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(y_last, whole_last, rtol=1e-5, atol=1e-6)
    for name in ("encoder_decoder", "gru_repeat_gru_dense", "two_inputs_concat_dense",
                 "time_concat"):
        with pytest.raises(ValueError, match="cannot stream"):
            GRAPHS[name](np.float32)[0].stream()
    for name, why in (("pooled_normalised", "a pooling window spans several steps: it"),
                      ("global_pools", "a global pooling summarises the whole sequence")):
        with pytest.raises(ValueError, match=f"cannot stream: {why}"):
            GRAPHS[name](np.float32)[0].stream()


def test_streaming_through_normalisations(rng):
    """Layer and batch normalisation work on each step alone: a stream through them equals
    predict on the sequence so far."""
    gn.utils.set_random_seed(14)
    x = gn.Input((None, 3))
    h = layers.GRU(5, return_sequences=True)(layers.BatchNormalization()(x))
    h = layers.LayerNormalization()(h)
    model = randomise_normalisations(gn.Model(x, layers.Dense(2)(layers.GRU(4)(h))))
    xs = rng.normal(size=(2, 6, 3))
    stream = model.stream(batch_size=2)
    for t in range(6):
        np.testing.assert_allclose(stream.step(xs[:, t]), model.predict(xs[:, :t + 1], verbose=0),
                                   rtol=1e-5, atol=1e-6)


# ---- the records' checks ----------------------------------------------------------------------

def weights(F, H, gates=3, dtype=np.float32, reset_after=True):
    return (np.zeros((F, gates * H), dtype), np.zeros((H, gates * H), dtype),
            np.zeros((2, 3 * H) if reset_after and gates == 3 else gates * H, dtype))


def test_plan_names_the_op_and_field_of_a_bad_record():
    w, u, b = weights(2, 3)
    gru = RecurrentOp("gru", w, u, b, True, False, True, 0, (), (1,))
    dense = DenseOp(np.zeros((3, 2), np.float32), None, "linear", 1, 2)

    def plan(*ops, inputs=(0,), shapes=((4, 2),), outputs=(2,)):
        return InferencePlan(list(ops), np.float32, list(inputs), list(shapes), list(outputs))

    assert plan(gru, dense).run([np.zeros((1, 4, 2), np.float32)])[0].shape == (1, 4, 2)
    cases = [
        ((gru, dense._replace(input=5)), r"op 1 \(DenseOp\): field 'input': slot 5 is not written"),
        ((gru, dense._replace(input=2)), r"op 1 \(DenseOp\): field 'input': slot 2 is not written"),
        ((gru, dense._replace(output=1)), r"op 1 \(DenseOp\): field 'output': slot 1 is already "
                                          r"written by op 0"),
        ((gru, dense._replace(output=0)), "field 'output': slot 0 is already written by a plan input"),
        ((gru, dense._replace(output=-1)), r"op 1 \(DenseOp\): field 'output' must be a slot id"),
        ((gru, dense._replace(output=True)), "field 'output' must be a slot id"),
        ((gru, dense._replace(input=1.0)), "field 'input' must be a slot id"),
        ((gru, dense._replace(kernel=np.zeros((4, 2), np.float32))),
         r"op 1 \(DenseOp\): field 'kernel' takes 4 features, but slot 1"),
        ((gru, dense._replace(kernel=np.zeros(6, np.float32))), "op 1 .*field 'kernel' must be a 2-D"),
        ((gru, dense._replace(bias=np.zeros(3, np.float32))), "op 1 .*field 'bias' must be"),
        ((gru, dense._replace(activation="gelu")), "op 1 .*field 'activation' must be one of"),
        ((gru._replace(kind="rnn"), dense), r"op 0 \(RecurrentOp\): field 'kind'"),
        ((gru._replace(reset_after=1), dense), "op 0 .*field 'reset_after' must be True or False"),
        ((gru._replace(recurrent_kernel=u[:, :6]), dense), "op 0 .*field 'recurrent_kernel'"),
        ((gru._replace(bias=b[0]), dense), "op 0 .*field 'bias' must be"),
        ((gru._replace(kernel=w.astype(np.float64)), dense), "field 'kernel' must be an aligned "
                                                             "C-contiguous float32"),
        ((gru._replace(initial_states=(0,)), dense), "op 0 .*field 'initial_states': slot 0 must"),
        ((gru._replace(initial_states=(0, 0)), dense), "field 'initial_states' must hold 0 or 1"),
        ((gru._replace(initial_states=0), dense), "field 'initial_states' must be a tuple"),
        ((gru._replace(outputs=(1, 3, 4)), dense), "field 'outputs' must hold 1 or 2"),
        ((gru._replace(outputs=(1, 1)), dense), "field 'outputs': slot 1 is already written by op 0"),
        ((gru, MergeOp("add", (1,), 2, -1)), r"op 1 \(MergeOp\): field 'inputs' must hold at least 2"),
        ((gru, MergeOp("subtract", (1, 1, 1), 2, -1)), "field 'inputs' must hold exactly 2"),
        ((gru, MergeOp("average", (1, 0), 2, -1)), r"op 1 \(MergeOp\): field 'inputs': slot 0"),
        ((gru, MergeOp("concat", (1, 0), 2, 2)), "field 'axis' must be -1"),
        ((gru, MergeOp("xor", (1, 0), 2, -1)), "op 1 .*field 'kind' must be one of"),
        ((gru, RepeatOp(3, 1, 2)), r"op 1 \(RepeatOp\): field 'input': slot 1 must have no time"),
        ((gru, RepeatOp(0, 1, 2)), "op 1 .*field 'n' must be a positive integer"),
        ((gru, ActivationOp("swish", 1, 2)), r"op 1 \(ActivationOp\): field 'name'"),
        ((gru, ("dense", w, None)), "op 1 must be a RecurrentOp, DenseOp"),
    ]
    for ops, message in cases:
        with pytest.raises(ValueError, match=message):
            plan(*ops)
    # a recurrent op needs sequences
    vec = RecurrentOp("gru", w, u, b, True, False, False, 0, (), (1,))
    with pytest.raises(ValueError, match="op 1 .*field 'input': a recurrent op needs sequences"):
        plan(vec, RecurrentOp("gru", *weights(3, 2), True, False, True, 1, (), (2,)))
    with pytest.raises(ValueError, match="output 0: slot 9 is neither an input"):
        plan(gru, dense, outputs=(9,))
    with pytest.raises(ValueError, match="input 0: shape must be"):
        plan(gru, dense, shapes=((4, None),))
    with pytest.raises(ValueError, match="input 1: slot 0 is already input 0"):
        plan(gru, dense, inputs=(0, 0), shapes=((4, 2), (2,)))
    with pytest.raises(ValueError, match="non-empty list of op records"):
        plan()


def test_plan_names_the_field_of_a_bad_pool_or_norm_record():
    w, u, b = weights(2, 3)
    gru = RecurrentOp("gru", w, u, b, True, False, True, 0, (), (1,))
    pool = PoolOp("max", 2, 1, "valid", False, 1, 2)
    gap = PoolOp("global_average", None, None, None, True, 1, 2)
    g = np.ones(3, np.float32)
    bn = NormOp("batch", g, g.copy(), g.copy(), g.copy(), 1e-3, 1, 2)
    ln = NormOp("layer", None, None, None, None, 1e-3, 1, 2)

    def plan(*ops, shapes=((4, 2),)):
        return InferencePlan(list(ops), np.float32, [0], list(shapes), [2])

    x = np.zeros((1, 4, 2), np.float32)
    assert plan(gru, pool).run([x])[0].shape == (1, 3, 3)
    assert plan(gru, pool._replace(padding="same", strides=3)).run([x])[0].shape == (1, 2, 3)
    assert plan(gru, gap).run([x])[0].shape == (1, 1, 3)
    assert plan(gru, gap._replace(keepdims=False)).run([x])[0].shape == (1, 3)
    assert plan(gru, bn).run([x])[0].shape == plan(gru, ln).run([x])[0].shape == (1, 4, 3)
    vec = RecurrentOp("gru", w, u, b, True, False, False, 0, (), (1,))
    cases = [
        ((gru, pool._replace(kind="min")), r"op 1 \(PoolOp\): field 'kind' must be one of"),
        ((gru, pool._replace(pool_size=0)), r"op 1 \(PoolOp\): field 'pool_size' must be a pos"),
        ((gru, pool._replace(pool_size=2.0)), "field 'pool_size' must be a positive integer"),
        ((gru, pool._replace(strides=True)), "field 'strides' must be a positive integer"),
        ((gru, pool._replace(padding="causal")), "field 'padding' must be one of"),
        ((gru, pool._replace(pool_size=5)), r"field 'pool_size': a 'valid' window of 5 steps is "
                                            r"longer than slot 1 \(4 steps\)"),
        ((gru, pool._replace(input=3)), "field 'input': slot 3 is not written"),
        ((vec, pool), "op 1 .*field 'input': a pooling needs sequences"),
        ((vec, gap), "op 1 .*field 'input': a pooling needs sequences"),
        ((gru, gap._replace(keepdims=1)), r"op 1 \(PoolOp\): field 'keepdims' must be True or"),
        ((gru, pool._replace(output=1)), "field 'output': slot 1 is already written by op 0"),
        ((gru, bn._replace(kind="group")), r"op 1 \(NormOp\): field 'kind' must be one of"),
        ((gru, bn._replace(epsilon=0.0)), "field 'epsilon' must be a positive finite number"),
        ((gru, bn._replace(epsilon=float("nan"))), "field 'epsilon' must be a positive finite"),
        ((gru, bn._replace(epsilon="1e-3")), "field 'epsilon' must be a positive finite"),
        ((gru, bn._replace(gamma=np.ones(4, np.float32))), "op 1 .*field 'gamma' must be an"),
        ((gru, bn._replace(beta=g.astype(np.float64))), "field 'beta' must be an aligned "
                                                        "C-contiguous float32"),
        ((gru, bn._replace(mean=None)), "field 'mean': a batch normalisation needs its moving"),
        ((gru, bn._replace(variance=[1.0, 1.0, 1.0])), "field 'variance' must be an aligned"),
        ((gru, ln._replace(mean=g)), "field 'mean' must be None for a layer normalisation"),
        ((gru, ln._replace(input=2)), r"op 1 \(NormOp\): field 'input': slot 2 is not written"),
    ]
    for ops, message in cases:
        with pytest.raises(ValueError, match=message):
            plan(*ops)
    # the static steps: none known stays none known; a pool's are checked when the run's are
    dynamic = plan(gru, pool._replace(pool_size=3), shapes=((None, 2),))
    assert dynamic.run([x])[0].shape == (1, 2, 3)
    with pytest.raises(ValueError, match=r"op 1 \(PoolOp\): field 'pool_size': a 'valid' window "
                                         r"of 3 steps is longer than slot 1 \(2 steps in this run"):
        dynamic.run([x[:, :2].copy()])


def test_plan_checks_its_inputs_at_run():
    w, u, b = weights(2, 3)
    ops = [RecurrentOp("gru", w, u, b, True, False, True, 0, (), (2,)),
           RecurrentOp("gru", *weights(2, 3), True, False, True, 1, (), (3,)),
           MergeOp("add", (2, 3), 4, -1)]
    plan = InferencePlan(ops, np.float32, [0, 1], [(None, 2), (None, 2)], [4])
    x = np.zeros((2, 4, 2), np.float32)
    assert plan.run([x, x])[0].shape == (2, 4, 3)
    with pytest.raises(TypeError, match="inputs must be a list"):
        plan.run(x)
    with pytest.raises(ValueError, match="takes 2 inputs, got 1"):
        plan.run([x])
    with pytest.raises(ValueError, match="different batch sizes"):
        plan.run([x, x[:1]])
    with pytest.raises(TypeError, match=r"C-contiguous float32 array \(input 1\)"):
        plan.run([x, x.astype(np.float64)])
    with pytest.raises(ValueError, match=r"op 2 \(MergeOp\): field 'inputs': slot 3 has 3 steps"):
        plan.run([x, x[:, :3].copy()])
    with pytest.raises(ValueError, match="cannot stream: streaming takes one sequence input"):
        plan.step([x[:, 0], x[:, 0]], plan.new_states(2))


def test_concurrent_predictions_on_one_graph_are_correct(rng):
    """A second thread running the plan at once gets its own layout and arena."""
    import threading
    model, shapes = encoder_decoder(np.float32)
    batches = [inputs_for(rng, shapes, 1 + i % 3) for i in range(8)]
    expected = [model.predict(xs, verbose=0) for xs in batches]
    errors = []

    def work(k):
        try:
            for j in range(60):
                i = (k * 3 + j) % len(batches)
                if not np.array_equal(model.predict(batches[i], verbose=0), expected[i]):
                    errors.append((k, i))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
