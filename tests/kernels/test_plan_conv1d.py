"""Conv1D in the inference plan: predict through the plan against the layer path for every
padding, strides, dilation, groups, with and without bias, in float32 and float64; a Conv1D ->
MaxPooling1D -> GRU -> GlobalMaxPooling1D -> Dense model at fixed and run-time lengths; proof
that predict runs no Python layer; the declared fallbacks (channels_first, a custom
activation); masks dropped as the layer drops them; no streaming; the ConvOp record's checks."""

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers
from gru_native.kernels.inference import InferencePlan
from gru_native.kernels.plan_ops import ConvOp, RecurrentOp
from gru_native.models.plan import why_no_plan
from helpers import forbid_python_layers, randomise_weights

TOL = {np.float32: 1e-5, np.float64: 1e-12}

# (kernel_size, strides, padding, dilation_rate, groups, use_bias, activation)
CONVS = [(3, 1, "valid", 1, 1, True, "relu"), (4, 1, "same", 1, 1, True, "linear"),
         (3, 1, "causal", 1, 1, True, "relu"), (3, 2, "valid", 1, 1, True, "linear"),
         (4, 2, "same", 1, 1, False, "relu"), (3, 2, "causal", 1, 1, True, "linear"),
         (3, 1, "valid", 2, 1, True, "relu"), (2, 1, "same", 2, 1, True, "linear"),
         (3, 1, "causal", 2, 2, False, "relu"), (3, 1, "same", 1, 2, True, "relu"),
         (1, 1, "valid", 1, 2, False, "linear"), (5, 2, "same", 1, 2, True, "tanh")]


def randomise(model):
    return randomise_weights(model, seed=3)

def layer_path(model, x):
    return model._forward(model._inputs([x]), training=False)[0][0]


def assert_plan_matches_layers(model, x, dtype):
    got = model.predict(x, verbose=0)
    want = layer_path(model, x)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])


def conv_ops(model):
    return [op for op in model.inference_plan().ops if isinstance(op, ConvOp)]


def conv_stack(dtype, k, strides, padding, dilation, groups, use_bias, activation, steps=11):
    """Two convolutions of the same kind (the second reads the first's shortened output)."""
    x = gn.Input((steps, 4))
    h = x
    for filters in (6, 4):
        h = layers.Conv1D(filters, k, strides=strides, padding=padding, dilation_rate=dilation,
                          groups=groups, use_bias=use_bias, activation=activation)(h)
    return randomise(gn.Model(x, h, dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k,strides,padding,dilation,groups,use_bias,activation", CONVS)
def test_conv_stack_through_the_plan_equals_the_layer_path(rng, dtype, k, strides, padding,
                                                           dilation, groups, use_bias, activation):
    gn.utils.set_random_seed(21)
    model = conv_stack(dtype, k, strides, padding, dilation, groups, use_bias, activation)
    assert len(conv_ops(model)) == 2
    for B in (5, 1):
        assert_plan_matches_layers(model, rng.normal(size=(B, 11, 4)), dtype)


def conv_gru_model(dtype, steps):
    x = gn.Input((steps, 3))
    h = layers.Conv1D(8, 3, padding="same", activation="relu")(x)
    h = layers.MaxPooling1D(2)(h)
    h = layers.GRU(5, return_sequences=True)(h)
    return randomise(gn.Model(x, layers.Dense(2)(layers.GlobalMaxPooling1D()(h)), dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_pool_gru_pool_dense(rng, dtype):
    """At a fixed length, and at lengths known only at run time (odd, even, the shortest
    the pooling takes); a sequence the valid convolution leaves no step of is a ValueError
    naming the op."""
    gn.utils.set_random_seed(22)
    assert_plan_matches_layers(conv_gru_model(dtype, 12), rng.normal(size=(4, 12, 3)), dtype)
    model = conv_gru_model(dtype, None)
    for steps in (2, 3, 9, 16):
        for B in (3, 1):
            assert_plan_matches_layers(model, rng.normal(size=(B, steps, 3)), dtype)
    x = gn.Input((None, 3))
    valid = gn.Model(x, layers.GRU(2)(layers.Conv1D(2, 4)(x)), dtype=dtype)
    with pytest.raises(ValueError, match=r"op 0 \(ConvOp\): field 'kernel': a convolution of 4 "
                                         r"taps leaves no output step of slot 0 \(3 steps in "
                                         r"this run\)"):
        valid.predict(np.zeros((1, 3, 3), dtype), verbose=0)


def test_several_threads_and_large_convolutions(rng):
    """Convolutions big enough that the kernel splits the batch over threads (its work area
    sized for them), and GEMMs over several chunks of rows, through plan.run at 1 and 2
    threads."""
    gn.utils.set_random_seed(23)
    x = gn.Input((150, 16))
    h = layers.Conv1D(32, 5, padding="same", activation="relu")(x)
    h = layers.Conv1D(24, 3, dilation_rate=2, groups=4)(h)
    model = randomise(gn.Model(x, layers.GRU(4)(h), dtype=np.float64))
    xs = rng.normal(size=(9, 150, 16))
    want = layer_path(model, xs)
    for nt in (1, 2):
        (got,) = model.inference_plan().run([xs], n_threads=nt)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_predict_runs_no_python_layer(rng, monkeypatch):
    """With every layer's forward and call_node raising, predict of a Conv1D model still
    works: its plan (with its ConvOps) is one call into C."""
    model = conv_gru_model(np.float32, 12)
    stack = conv_stack(np.float64, 3, 1, "causal", 2, 2, False, "relu")
    cases = [(model, rng.normal(size=(3, 12, 3))), (stack, rng.normal(size=(3, 11, 4)))]
    want = [layer_path(m, x) for m, x in cases]

    forbid_python_layers(monkeypatch)
    for (m, x), w in zip(cases, want):
        m._plans.clear()  # built again under the patch
        assert conv_ops(m)
        np.testing.assert_allclose(m.predict(x, verbose=0), w, rtol=1e-5, atol=1e-6)
    with pytest.raises(AssertionError, match="a Python layer ran"):
        layer_path(model, cases[0][1])


def test_the_plan_sees_weight_updates(rng):
    """The ConvOp points into the parameter buffer: new weights set after the plan was made
    are the ones it runs."""
    model = conv_gru_model(np.float64, 12)
    plan = model.inference_plan()
    conv = next(layer for layer in model.layers if isinstance(layer, layers.Conv1D))
    conv.set_weights([w + 0.25 for w in conv.get_weights()])
    assert model.inference_plan() is plan
    assert_plan_matches_layers(model, rng.normal(size=(2, 12, 3)), np.float64)


class Swish:
    name = "swish"

    def forward(self, z):
        return z / (1 + np.exp(-z))

    def backward(self, da, a, z):
        s = 1 / (1 + np.exp(-z))
        return da * (s + z * s * (1 - s))


def test_conv_layers_without_a_plan_op_fall_back_to_the_layers(rng):
    x = gn.Input((8, 4))
    cases = {"channels_first": layers.Conv1D(3, 2, data_format="channels_first"),
             "custom activation": layers.Conv1D(3, 2, activation=Swish())}
    for what, conv in cases.items():
        model = gn.Model(x, layers.Dense(2)(conv(x)))
        assert model.inference_plan() is None, what
        assert why_no_plan(model) == (f"layer {conv.name!r} (Conv1D) has no inference-plan op")
        xs = rng.normal(size=(2, 8, 4)).astype(np.float32)
        np.testing.assert_array_equal(model.predict(xs, verbose=0), layer_path(model, xs))


def test_a_mask_is_dropped_by_the_convolution_on_both_paths(rng):
    """Conv1D drops a mask (as Keras): predict given one runs the layers, and the GRU after the
    convolution sees every step, so the result is the plan's without the mask."""
    x = gn.Input((7, 3))
    model = randomise(gn.Model(x, layers.GRU(4)(layers.Conv1D(5, 3, padding="causal")(x))))
    xs = rng.normal(size=(3, 7, 3)).astype(np.float32)
    mask = np.ones((3, 7), bool)
    mask[1, 4:] = mask[2, 2:] = False
    np.testing.assert_allclose(model.predict(xs, mask=mask, verbose=0),
                               model.predict(xs, verbose=0), rtol=1e-5, atol=1e-6)


def test_a_convolution_does_not_stream():
    """A step would need the past steps the window reaches back to (a causal convolution
    could keep them; not done): a stream is refused, saying why."""
    model = conv_stack(np.float32, 3, 1, "causal", 1, 1, True, "relu")
    assert model.inference_plan() is not None
    with pytest.raises(ValueError, match="cannot stream: a convolution's window spans several "
                                         "steps"):
        model.stream()


def test_plan_names_the_field_of_a_bad_conv_record():
    kernel = np.zeros((3, 2, 6), np.float32)
    conv = ConvOp(kernel, np.zeros(6, np.float32), 1, "valid", 1, 2, "relu", 0, 1)

    def plan(*ops, shapes=((5, 4),)):
        return InferencePlan(list(ops), np.float32, [0], list(shapes), [ops[-1].output])

    x = np.ones((2, 5, 4), np.float32)
    assert plan(conv).run([x])[0].shape == (2, 3, 6)
    assert plan(conv._replace(padding="same", strides=2)).run([x])[0].shape == (2, 3, 6)
    assert plan(conv._replace(padding="causal", bias=None)).run([x])[0].shape == (2, 5, 6)
    w = np.zeros((4, 9), np.float32)
    vec = RecurrentOp("gru", w, np.zeros((3, 9), np.float32), np.zeros((2, 9), np.float32),
                      True, False, False, 0, (), (1,))
    cases = [
        ((conv._replace(kernel=kernel[0]),), r"op 0 \(ConvOp\): field 'kernel' must be a 3-D"),
        ((conv._replace(kernel=kernel[:, :, :0]),), "field 'kernel' must have shape "
                                                    r"\(kernel_size, channels // groups"),
        ((conv._replace(kernel=kernel.astype(np.float64)),), "field 'kernel' must be an "
                                                             "aligned C-contiguous float32"),
        ((conv._replace(kernel=np.asfortranarray(kernel)),), "field 'kernel' must be an aligned"),
        ((conv._replace(groups=4),), "field 'groups': 4 groups do not divide the 6 filters"),
        ((conv._replace(groups=1),), r"field 'kernel' of shape \(3, 2, 6\) with 1 groups takes 2 "
                                     r"channels, but slot 0 \(field 'input'\) has 4"),
        ((conv._replace(groups=0),), "field 'groups' must be a positive integer"),
        ((conv._replace(strides=0),), "field 'strides' must be a positive integer"),
        ((conv._replace(dilation_rate=2.0),), "field 'dilation_rate' must be a positive integer"),
        ((conv._replace(dilation_rate=2**30),), "field 'dilation_rate': a window of 3 taps "
                                                "1073741824 steps apart spans too many"),
        ((conv._replace(padding="full"),), "field 'padding' must be one of"),
        ((conv._replace(activation="gelu"),), "field 'activation' must be one of"),
        ((conv._replace(bias=np.zeros(4, np.float32)),), "field 'bias' must be an aligned"),
        ((conv._replace(input=3),), "field 'input': slot 3 is not written"),
        ((conv._replace(output=0),), "field 'output': slot 0 is already written by a plan input"),
        ((vec, conv._replace(input=1, output=2)), r"op 1 \(ConvOp\): field 'input': a "
                                                  "convolution needs sequences"),
        ((conv._replace(kernel=np.zeros((6, 2, 6), np.float32)),),
         r"field 'kernel': a 'valid' convolution of 6 taps leaves no output step of slot 0 "
         r"\(5 steps\)"),
    ]
    for ops, message in cases:
        with pytest.raises(ValueError, match=message):
            plan(*ops)
