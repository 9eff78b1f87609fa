"""Helpers the tests share: random operands, tolerances, comparisons against references and
finite differences. Test modules import these, never each other."""

import numpy as np

import gru_native
from gru_native import layers
from gru_reference import forward as gru_reference
from lstm_reference import forward as lstm_reference


def random_gru(rng, T, I, H, B, reset_after=True, dtype=np.float64, scale=0.5):
    """Inputs and weights of one GRU call, with values large enough to exercise saturation."""
    x = rng.normal(size=(B, T, I))
    W = rng.normal(scale=scale, size=(I, 3 * H))
    U = rng.normal(scale=scale, size=(H, 3 * H))
    b = rng.normal(scale=scale, size=(2, 3 * H) if reset_after else 3 * H)
    h0 = rng.normal(scale=0.5, size=(B, H))
    return [a.astype(dtype) for a in (x, W, U, b, h0)]


def misaligned(a):
    """A C-contiguous copy of the float32 array `a` one byte off its type's alignment."""
    buffer = np.frombuffer(bytearray(a.size * 4 + 1), offset=1, dtype=np.float32)
    buffer[...] = a.ravel()
    assert not buffer.flags.aligned
    return buffer.reshape(a.shape)


GRU_SHAPES = [  # T, I, H, B: ones and odd primes
    (1, 1, 1, 1),
    (1, 3, 4, 2),
    (7, 1, 5, 1),
    (23, 13, 37, 5),
    (4, 2, 1, 3),
]


TOL = {np.float32: 1e-5, np.float64: 1e-10}


def assert_close(got, want, tol, name):
    """Max error within tol of the array's scale (max(1, max |want|)): float32 sums over long
    sequences lose digits in single elements that cancel, not in the result as a whole."""
    assert got.shape == want.shape, name
    scale = max(1.0, float(np.max(np.abs(want), initial=0)))
    err = float(np.max(np.abs(got - want), initial=0))
    assert err <= tol * scale, f"{name}: max error {err:.3g} > {tol:g} * {scale:.3g}"


def assert_matches_central_differences(loss, params, analytic, eps=1e-6, atol=1e-7):
    """Each array of `params` (changed in place, then restored) against `analytic`, its
    gradient: central differences of loss() element by element."""
    for name, p in params.items():
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + eps
            up = loss()
            p[i] = old - eps
            down = loss()
            p[i] = old
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(analytic[name], numeric, rtol=1e-6, atol=atol, err_msg=name)


def lengths_for(rng, T, B):
    lengths = rng.integers(0, T + 1, size=B)
    lengths[0] = T  # one full sequence, so the batch really has T steps
    return lengths


def recurrent_mask_for(rng, H, B, dtype=np.float64, rate=0.3):
    """A recurrent-dropout mask as the GRU layer draws it: zeros, and 1/(1-rate) elsewhere."""
    return ((rng.random((B, H)) > rate) / (1 - rate)).astype(dtype)


def check_dense(got, want, dtype, name):
    """float64: max error within 1e-12 of the array's scale; float32: normwise 1e-5 (sums over
    many products lose digits in single elements that cancel, not in the result as a whole)."""
    assert got.dtype == dtype and got.shape == want.shape, name
    if dtype == np.float64:
        scale = max(1.0, float(np.max(np.abs(want), initial=0)))
        assert float(np.max(np.abs(got - want), initial=0)) <= 1e-12 * scale, name
    else:
        err = np.linalg.norm(got.astype(np.float64) - want)
        assert err <= 1e-5 * max(np.linalg.norm(want), 1e-30), f"{name}: normwise error {err:.3g}"


OPTIM_TOL = {np.float32: 1e-5, np.float64: 1e-12}


def assert_close_optim(got, want, tol, name=""):
    """Max error within tol of the array's scale (max(1, max |want|))."""
    assert got.shape == want.shape, name
    scale = max(1.0, float(np.max(np.abs(want), initial=0)))
    err = float(np.max(np.abs(got.astype(np.float64) - want), initial=0))
    assert err <= tol * scale, f"{name}: max error {err:.3g} > {tol:g} * {scale:.3g}"


def numerical_grad(f, x, h=1e-6):
    """Central differences of the scalar f at x, one element at a time."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = f(x)
        x[i] = old - h
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad


def finite_difference_check(model, x, y, n_checks=80, seed=0, dropout_seed=None):
    """Analytic gradients of the model's loss w.r.t. every weight against central differences.
    With dropout_seed, every forward is a training one with the dropout masks drawn from that
    seed, so the analytic and the numeric passes see the same masks."""
    xs = model._inputs(x)
    ys = model._targets(y, len(xs[0]))

    def forward(training):
        if dropout_seed is not None:
            gru_native.utils.set_random_seed(dropout_seed)
        return model._forward(xs, training=training or dropout_seed is not None)

    y_pred, mask = forward(True)
    _, _, dy, logits = model._loss_and_grads(ys, y_pred, mask)
    model._backward(dy, logits)
    analytic = model.parameters.grads.copy()
    params = model.parameters.params
    rng = np.random.default_rng(seed)
    idx = rng.choice(params.size, size=min(n_checks, params.size), replace=False)
    eps = 1e-6
    for i in idx:
        old = params[i]
        values = []
        for step in (eps, -eps):
            params[i] = old + step
            y_pred, mask = forward(False)
            values.append(model._loss_and_grads(ys, y_pred, mask)[0])
        params[i] = old
        numeric = (values[0] - values[1]) / (2 * eps)
        assert abs(analytic[i] - numeric) <= 1e-6 + 1e-5 * abs(numeric), (i, analytic[i], numeric)


def layer_path_forward(model, x, training=False):
    """A single-output model's output and mask through its layers (not the inference plan)."""
    ys, masks = model._forward(model._inputs(x), training=training)
    return ys[0], masks[0]


def randomise_weights(model, seed):
    """Every weight uniform in [-0.5, 0.5], biases away from their zero initialisation, so that
    a bias dropped or added somewhere shows."""
    r = np.random.default_rng(seed)
    for layer in model.layers:
        for w in layer.weights:
            w[...] = r.uniform(-0.5, 0.5, w.shape)
    return model


def forbid_python_layers(monkeypatch):
    """Every layer class's forward and call_node raise from now on (for this test): what still
    runs is the inference plan's one call into C."""
    from gru_native.layers.base import LAYER_CLASSES

    def refuse(*args, **kwargs):
        raise AssertionError("a Python layer ran during predict")

    for cls in set(LAYER_CLASSES.values()):
        for method in ("forward", "call_node"):
            if method in vars(cls):
                monkeypatch.setattr(cls, method, refuse)


def regression_data(rng, n=7, T=6, F=3, out=2):
    return rng.normal(size=(n, T, F)), rng.normal(size=(n, out))


def reference_predict(model, x, product=np.matmul):
    """The model's prediction computed with NumPy alone, from its weights; product(v, M): how
    vectors meet a weight matrix (gru_reference.forward)."""
    y = x.astype(np.float64)
    for layer in model.layers:
        w = [a.astype(np.float64) for a in layer.weights]
        if isinstance(layer, layers.GRU):
            b = w[2] if layer.use_bias else np.zeros((2, 3 * layer.units) if layer.reset_after
                                                     else 3 * layer.units)
            seq, h, _ = gru_reference(y, w[0], w[1], b, reset_after=layer.reset_after,
                                      reverse=layer.go_backwards, product=product)
            y = seq if layer.return_sequences else h
        elif isinstance(layer, layers.LSTM):
            seq, h, _, _ = lstm_reference(y, w[0], w[1], w[2] if layer.use_bias else None,
                                          reverse=layer.go_backwards, product=product)
            y = seq if layer.return_sequences else h
        elif isinstance(layer, layers.Dense):
            y = layer.activation.forward(product(y, w[0]) + (w[1] if layer.use_bias else 0))
        elif isinstance(layer, layers.Activation):
            y = layer.activation.forward(y)
    return y


def run_layer(layer, x, mask=None, training=False):
    """Build `layer` for x and run its forward: (y, mask)."""
    layer.build(x.shape[1:])
    return layer.forward(x, mask, training)


def check_input_gradients(layer, x, mask=None, seed=0):
    """A single-input layer's backward of a random linear functional sum(w * y) against central
    differences over every element of x (float64)."""
    y, _ = run_layer(layer, x, mask)
    w = np.random.default_rng(seed).normal(size=y.shape)
    g = layer.backward(w.copy())
    assert g.shape == x.shape and g.dtype == x.dtype
    numeric = numerical_grad(lambda x: np.sum(w * layer.forward(x, mask)[0]), x)
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)
