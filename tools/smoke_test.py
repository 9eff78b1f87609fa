"""Train and predict with an installed gru_native, from outside the source tree: what a wheel
must do on a machine with no compiler (tools/build_wheel.sh, cibuildwheel's test-command)."""

import os
import sys

import numpy as np

import gru_native as gn

here = os.path.dirname(os.path.abspath(gn.__file__))
if os.path.exists(os.path.join(here, "..", "..", "pyproject.toml")):
    sys.exit(f"smoke_test: imported gru_native from the source tree ({here}), not an install")

rng = np.random.default_rng(0)
t = np.linspace(0, 40, 2000, dtype=np.float32)
series = np.sin(t)
x = np.stack([series[i:i + 20] for i in range(1000)])[..., None]
y = series[20:1020, None]

gn.utils.set_random_seed(0)
model = gn.Sequential([gn.GRU(16, input_shape=(20, 1)), gn.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, batch_size=32, epochs=5, verbose=0)
mse = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
assert mse < 0.01, f"a sine forecaster should learn: MSE {mse:.4f}"
print(f"smoke_test: gru_native {gn.__version__} from {here}: BLAS {gn.BLAS_BACKEND}, "
      f"{gn.get_num_threads()} threads, sine MSE {mse:.5f}")
