"""One rank of a DataParallel run, started by test_data_parallel.py under mpiexec:
`python mpi_worker.py SCENARIO OUT_DIR`. Each rank writes what it saw to OUT_DIR/rank<r>.npz
(weights, history) or OUT_DIR/rank<r>.txt (an exception's type and message)."""

import sys
import time
from pathlib import Path

import numpy as np

import gru_native as gn
from gru_native.distributed import DataParallel

ROWS, BATCH = 37, 4  # 37 rows: rank 0 holds 19, rank 1 18; the last batches are partial


def data():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(ROWS, 6, 3))
    y = np.stack([x[:, :, 0].mean(1), x[:, -1, 1]], axis=1)
    return x, y


def compiled(dp=None, units=5):
    gn.utils.set_random_seed(0)
    m = gn.Sequential([gn.Input((6, 3)), gn.GRU(units), gn.Dense(2)], dtype="float64")
    m.compile(optimizer=gn.optimizers.Adam(0.01), loss="mse", metrics=["mae"], distribute=dp)
    return m


def main(scenario, out):
    dp = DataParallel()

    def write(*weights, **arrays):
        np.savez(out / f"rank{dp.rank}.npz", *weights, **arrays)

    x, y = data()
    if scenario == "equivalence":
        m = compiled(dp)
        if dp.rank == 1:  # rank 1's own initial weights: fit starts from rank 0's
            m.set_weights([w + 1.0 for w in m.get_weights()])
        val = (dp.shard(x[:11]), dp.shard(y[:11]))
        history = m.fit(dp.shard(x), dp.shard(y), batch_size=BATCH, epochs=3, shuffle=False,
                        validation_data=val, verbose=0)
        m.save(out / f"model{dp.rank}.keras")
        try:
            m.train_on_batch(x[:2], y[:2])
            refused = ""
        except ValueError as e:
            refused = str(e)
        write(*m.get_weights(), threads=gn.get_num_threads(), train_on_batch=refused,
              **{f"history_{k}": v for k, v in history.history.items()})
    elif scenario == "early_stopping":
        m = compiled(dp)
        # rank 1's validation targets are ten times rank 0's: the ranks' own val_loss differ,
        # the reduced one (the decision's) is the same on both
        val = (dp.shard(x), dp.shard(y) * (1 + 9 * dp.rank))
        stop = gn.callbacks.EarlyStopping(patience=0, min_delta=0.05, restore_best_weights=True)
        history = m.fit(dp.shard(x), dp.shard(y), batch_size=BATCH, epochs=30, shuffle=False,
                        validation_data=val, callbacks=[stop], verbose=0)
        write(*m.get_weights(), val_loss=history.history["val_loss"])
    elif scenario == "batch_normalization":
        gn.utils.set_random_seed(0)
        m = gn.Sequential([gn.Input((6, 3)), gn.GRU(5), gn.layers.BatchNormalization(),
                           gn.Dense(2)], dtype="float64")
        m.compile(optimizer="adam", loss="mse", distribute=dp)
        initial = m.layers[1].get_weights()
        m.fit(dp.shard(x), dp.shard(y), batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
        write(*m.get_weights(), initial_statistics=initial[2:],
              statistics=m.layers[1].get_weights()[2:])
    elif scenario == "dataset":
        class Batches(gn.data.PyDataset):
            def __len__(self):
                return -(-ROWS // BATCH)

            def __getitem__(self, i):
                return x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH]

        m = compiled(dp)
        history = m.fit(dp.shard(Batches()), epochs=2, shuffle=False, verbose=0)
        listed = [Batches()[i] for i in range(len(Batches()))]
        write(*m.get_weights(), loss=history.history["loss"],
              list_shard=[b[0][0, 0, 0] for b in dp.shard(listed)],
              iterator_shard=[b[0][0, 0, 0] for b in dp.shard(iter(listed))])
    else:
        try:
            if scenario == "raises":
                class Fails(gn.callbacks.Callback):
                    def on_epoch_end(self, epoch, logs=None):
                        if dp.rank == 1 and epoch == 1:
                            raise ValueError("rank 1 fails at epoch 2")

                compiled(dp).fit(dp.shard(x), dp.shard(y), batch_size=BATCH, epochs=5,
                                 callbacks=[Fails()], verbose=0)
            elif scenario == "different_models":
                compiled(dp, units=5 + dp.rank).fit(dp.shard(x), dp.shard(y), verbose=0)
            elif scenario == "bad_input_on_one_rank":
                xr = dp.shard(x)
                compiled(dp).fit(xr[:, :, :2] if dp.rank == 1 else xr, dp.shard(y), verbose=0)
            elif scenario == "forever":
                (out / f"started{dp.rank}").touch()
                compiled(dp).fit(dp.shard(x), dp.shard(y), batch_size=1, epochs=10**6, verbose=0)
            (out / f"rank{dp.rank}.txt").write_text("no exception")
        except Exception as e:
            (out / f"rank{dp.rank}.txt").write_text(f"{type(e).__name__}: {e}")
            time.sleep(0.1)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
