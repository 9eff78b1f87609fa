"""The work that compare.py and the pytest benchmarks time, in each library, float32.

Each factory builds everything beforehand (model, optimizer, tensors) and returns a callable of no
arguments that runs one unit of work. Every library is imported inside its factories, so a
process that times one library loads only that one (compare.py runs each in its own process).
onnxruntime and OpenVINO run gru_native's own models exported to ONNX (export_onnx, done once
by the parent process).
"""

import functools
import os

import numpy as np

EPOCH_BATCHES = 4  # a training run is one epoch of this many batches


# ---- data -----------------------------------------------------------------------------------
def train_data(T, I, B, seed=0):
    """x (EPOCH_BATCHES * B, T, I) and y (EPOCH_BATCHES * B, 1), float32."""
    rng = np.random.default_rng(seed)
    n = EPOCH_BATCHES * B
    return (rng.standard_normal((n, T, I), dtype=np.float32),
            rng.standard_normal((n, 1), dtype=np.float32))


def one_sequence(T, I, seed=0):
    return np.random.default_rng(seed).standard_normal((1, T, I), dtype=np.float32)


# ---- gru_native: GRU(H) + Dense(1), Adam, MSE -----------------------------------------------
def native_model(T, I, H, cell="GRU"):
    import gru_native
    rnn = getattr(gru_native, cell)(H, input_shape=(T, I))
    model = gru_native.Sequential([rnn, gru_native.Dense(1)])
    model.compile(optimizer=gru_native.optimizers.Adam(), loss="mse")
    return model


def native_train(x, y, H, B, cell="GRU"):
    model = native_model(*x.shape[1:], H, cell)
    return lambda: model.fit(x, y, batch_size=B, epochs=1, verbose=0, shuffle=True)


def native_predict(x1, H, precision="float32"):
    model = native_model(*x1.shape[1:], H)
    return lambda: model.predict(x1, precision=precision)


# ---- PyTorch: the idiomatic user code -------------------------------------------------------
def torch_model(I, H, cell="GRU"):
    import torch

    class GRURegressor(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = getattr(torch.nn, cell)(I, H, batch_first=True)
            self.head = torch.nn.Linear(H, 1)

        def forward(self, x):
            out, _ = self.gru(x)
            return self.head(out[:, -1])

    return GRURegressor()


def torch_train(x, y, H, B, cell="GRU"):
    import torch
    model = torch_model(x.shape[2], H, cell)
    optimizer = torch.optim.Adam(model.parameters())
    loss_fn = torch.nn.MSELoss()
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    def epoch():
        for idx in torch.randperm(len(x)).split(B):
            optimizer.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
    return epoch


def torch_predict(x1, H):
    import torch
    model = torch_model(x1.shape[2], H).eval()
    x1 = torch.from_numpy(x1)

    def run():
        with torch.no_grad():
            return model(x1).numpy()
    return run


# ---- Keras 3 (the JAX backend: KERAS_BACKEND=jax) ---------------------------------------------
def keras_model(T, I, H, cell="GRU"):
    import keras
    model = keras.Sequential([keras.Input((T, I)), getattr(keras.layers, cell)(H),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def keras_train(x, y, H, B, cell="GRU"):
    model = keras_model(*x.shape[1:], H, cell)
    return lambda: model.fit(x, y, batch_size=B, epochs=1, verbose=0, shuffle=True)


def keras_predict(x1, H):
    model = keras_model(*x1.shape[1:], H)
    return lambda: model.predict(x1, verbose=0)


# ---- streaming: one timestep in, one prediction out, the state carried ----------------------
def native_stream(x_t, H, precision="float32"):
    stream = native_model(None, x_t.shape[1], H).stream(batch_size=1, precision=precision)
    return lambda: stream.step(x_t)


def torch_stream(x_t, H):
    """The idiomatic real-time PyTorch loop: GRUCell + Linear under no_grad, h carried."""
    import torch
    cell, head = torch.nn.GRUCell(x_t.shape[1], H).eval(), torch.nn.Linear(H, 1).eval()
    x, state = torch.from_numpy(x_t), [torch.zeros(1, H)]

    def step():
        with torch.no_grad():
            state[0] = cell(x, state[0])
            return head(state[0]).numpy()
    return step


# ---- ONNX runtimes: gru_native's models exported, run by onnxruntime and OpenVINO -------------
def onnx_path(directory, kind, T, I, H):
    return os.path.join(directory, f"{kind}_{T}_{I}_{H}.onnx")


def stream_model(I, H):
    """One timestep in, the state in and out: GRU(H) + Dense(1) as a function of (x_t, h)."""
    import gru_native
    x = gru_native.Input((1, I), name="x")
    h = gru_native.Input((H,), name="h")
    out, state = gru_native.GRU(H, return_state=True)(x, initial_state=h)
    return gru_native.Model([x, h], [gru_native.Dense(1)(out), state])


def export_onnx(directory, predict_shapes, stream_shapes):
    """The ONNX files the runtimes' workloads read: the prediction model of each (T, I, H) and
    the streaming step of each (I, H)."""
    for T, I, H in predict_shapes:
        native_model(T, I, H).export(onnx_path(directory, "predict", T, I, H))
    for I, H in stream_shapes:
        stream_model(I, H).export(onnx_path(directory, "stream", 1, I, H))


def _onnxruntime_session(path, threads):
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def _openvino_request(path, threads, precision):
    """An infer request of the model compiled for the CPU: precision None is OpenVINO's default
    (bfloat16 on CPUs with AVX512_BF16 or AMX), 'f32' forces float32."""
    import openvino
    config = {"INFERENCE_NUM_THREADS": threads}
    if precision is not None:
        config["INFERENCE_PRECISION_HINT"] = precision
    return openvino.Core().compile_model(path, "CPU", config).create_infer_request()


def onnxruntime_predict(x, path, threads):
    session = _onnxruntime_session(path, threads)
    return lambda: session.run(None, {"input": x})[0]


def openvino_predict(x, path, threads, precision=None):
    request = _openvino_request(path, threads, precision)
    return lambda: request.infer({"input": x})


def onnxruntime_stream(x_t, path, threads):
    session = _onnxruntime_session(path, threads)
    feeds = {"x": x_t[:, None], "h": np.zeros((1, _state_size(session)), np.float32)}

    def step():
        y, feeds["h"] = session.run(None, feeds)
        return y
    return step


def _state_size(session):
    return next(i.shape[-1] for i in session.get_inputs() if i.name == "h")


def openvino_stream(x_t, path, threads, precision=None):
    request = _openvino_request(path, threads, precision)
    H = request.model_inputs[1].get_partial_shape()[-1].get_length()
    feeds = {"x": x_t[:, None], "h": np.zeros((1, H), np.float32)}

    def step():
        out = request.infer(feeds)
        feeds["h"] = out[1]
        return out[0]
    return step


TRAIN = {"gru_native": native_train, "torch": torch_train, "keras": keras_train}
# gru_native also in reduced precision (its bfloat16 and int8 inference), against OpenVINO's
# default precision (bfloat16 where the CPU has it)
REDUCED = {"gru_native-bf16": "bfloat16", "gru_native-int8": "int8"}
PREDICT = {"gru_native": native_predict, "torch": torch_predict, "keras": keras_predict,
           **{lib: functools.partial(native_predict, precision=p) for lib, p in REDUCED.items()}}
STREAM = {"gru_native": native_stream, "torch": torch_stream,
          **{lib: functools.partial(native_stream, precision=p) for lib, p in REDUCED.items()}}
# The same training with an LSTM in place of the GRU.
TRAIN_LSTM = {lib: functools.partial(train, cell="LSTM") for lib, train in TRAIN.items()}
# The exported models' runtimes: (x, onnx path, threads) -> callable.
ONNX_PREDICT = {"onnxruntime": onnxruntime_predict, "openvino": openvino_predict,
                "openvino-f32": lambda x, path, threads: openvino_predict(x, path, threads, "f32")}
ONNX_STREAM = {"onnxruntime": onnxruntime_stream, "openvino": openvino_stream,
               "openvino-f32": lambda x, path, threads: openvino_stream(x, path, threads, "f32")}


# ---- one GRU layer's kernels: forward (training) + backward, dx included --------------------
def kernel_problem(T, I, H, B, seed=0):
    """Inputs, Keras-layout weights (gates z, r, n) and an output gradient, all float32."""
    rng = np.random.default_rng(seed)
    scale = 1.0 / np.sqrt(H)
    f32 = lambda *shape, s=1.0: (s * rng.standard_normal(shape)).astype(np.float32)
    return dict(x=f32(B, T, I), kernel=f32(I, 3 * H, s=scale), recurrent=f32(H, 3 * H, s=scale),
                bias=f32(2, 3 * H, s=0.1), dy=f32(B, T, H))


def native_kernels(p):
    import gru_native

    def run():
        y, _, cache = gru_native.gru_forward(p["x"], p["kernel"], p["recurrent"], p["bias"],
                                             training=True)
        gru_native.gru_backward(cache, dy=p["dy"])
        return y
    return run


def _keras_to_torch(w):
    """(in, 3H) Keras blocks z, r, n -> torch's (3H, in) blocks r, z, n."""
    import torch
    z, r, n = np.split(w, 3, axis=-1)
    return torch.from_numpy(np.ascontiguousarray(np.concatenate([r, z, n], axis=-1).T))


def torch_kernels(p):
    """torch.nn.GRU forward + backward of (y * dy).sum(), with the same weights."""
    import torch
    B, T, I = p["x"].shape
    gru = torch.nn.GRU(I, p["recurrent"].shape[0], batch_first=True)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(_keras_to_torch(p["kernel"]))
        gru.weight_hh_l0.copy_(_keras_to_torch(p["recurrent"]))
        gru.bias_ih_l0.copy_(_keras_to_torch(p["bias"][0]))
        gru.bias_hh_l0.copy_(_keras_to_torch(p["bias"][1]))
    x = torch.from_numpy(p["x"]).requires_grad_(True)  # so that torch computes dx too
    dy = torch.from_numpy(p["dy"])

    def run():
        gru.zero_grad(set_to_none=True)
        x.grad = None
        y, _ = gru(x)
        (y * dy).sum().backward()
        return y.detach().numpy()
    return run


KERNELS = {"gru_native": native_kernels, "torch": torch_kernels}
