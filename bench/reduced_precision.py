"""What bfloat16 and int8 inference (`predict(x, precision=...)`) cost in accuracy, on models
trained on real data that pip packages ship, against the same model's float32 predictions.

    python bench/reduced_precision.py [--seeds 3] [--out bench/reduced_precision_results.md]

Models (each trained in float32, then predicted in each precision):
- digits: scikit-learn's 8x8 digits as 8 steps of 8 pixels, GRU(64) + Dense(10, softmax), Adam
  0.01, 15 epochs on the first 1,400 images, scored on the other 397 (accuracy);
- sunspots: statsmodels' yearly sunspot numbers / 100, 24 years -> the next, GRU(128) + Dense(1),
  Adam 0.003, 40 epochs on the first 220 windows, scored on the other 65 (MAE);
- digits again with an LSTM(64) in place of the GRU.
int8 is calibrated, as fit leaves it (error feedback over up to 512 of the training samples);
"int8 nearest" is the same weights rounded each to its nearest (an uncalibrated twin model).
Relative max error: max |y_reduced - y_float32| / max |y_float32| over the test outputs (class
probabilities for the classifiers). Every figure is the median over the seeds, with the worst
seed's relative error beside it. Needs the test extra (scikit-learn, statsmodels).
"""

import argparse
import os
import statistics

import numpy as np

import gru_native as gn
from gru_native import layers
from gru_native.kernels.reduced import ReducedMatrix

PRECISIONS = ("bfloat16", "int8", "int8 nearest")
HERE = os.path.dirname(os.path.abspath(__file__))


def digits(cell=layers.GRU):
    from sklearn.datasets import load_digits
    x, y = load_digits(return_X_y=True)
    x = (x / 16).astype(np.float32).reshape(-1, 8, 8)
    model = gn.Sequential([cell(64, input_shape=(8, 8)),
                           layers.Dense(10, activation="softmax")])
    model.compile(optimizer=gn.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(x[:1400], y[:1400], epochs=15, batch_size=64, verbose=0)
    return model, x[1400:], y[1400:], "accuracy"


def sunspots():
    import statsmodels.datasets as sm
    series = sm.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(np.float32) / 100
    windows = np.lib.stride_tricks.sliding_window_view(series, 25)
    x, y = windows[:, :24, None].copy(), windows[:, 24:].copy()
    model = gn.Sequential([layers.GRU(128, input_shape=(24, 1)), layers.Dense(1)])
    model.compile(optimizer=gn.optimizers.Adam(0.003), loss="mse")
    model.fit(x[:220], y[:220], epochs=40, batch_size=32, verbose=0)
    return model, x[220:], y[220:], "mae"


def digits_lstm():
    return digits(layers.LSTM)


MODELS = {"digits (GRU 64)": digits, "digits (LSTM 64)": digits_lstm,
          "sunspots (GRU 128)": sunspots}


def score(metric, y_pred, y):
    if metric == "accuracy":
        return float((y_pred.argmax(1) == y).mean())
    return float(np.abs(y_pred - y).mean())


def run(seeds):
    rows = []
    for name, make in MODELS.items():
        per_seed = []
        for seed in range(seeds):
            gn.utils.set_random_seed(seed)
            model, x, y, metric = make()
            full = model.predict(x, verbose=0)
            result = {"float32": score(metric, full, y)}
            twin = type(model).from_config(model.get_config())
            twin.set_weights(model.get_weights())  # not calibrated: rounded to nearest
            for p in PRECISIONS:
                runs = twin if p == "int8 nearest" else model
                reduced = runs.predict(x, verbose=0, precision=p.split()[0])
                result[p] = score(metric, reduced, y)
                result[p + " error"] = float(np.abs(reduced - full).max() / np.abs(full).max())
            per_seed.append(result)
            print(name, seed, result, flush=True)
        rows.append((name, metric, per_seed))
    return rows


def markdown(rows, seeds):
    head = (["model (test data)", "metric", "float32"] + list(PRECISIONS)
            + [f"{p} rel. max error (worst seed)" for p in PRECISIONS])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for name, metric, per_seed in rows:
        med = {k: statistics.median(r[k] for r in per_seed) for k in per_seed[0]}
        worst = {k: max(r[k] for r in per_seed) for k in per_seed[0]}
        cells = ([name, metric] + [f"{med[p]:.4f}" for p in ("float32",) + PRECISIONS]
                 + [f"{med[p + ' error']:.4f} ({worst[p + ' error']:.4f})" for p in PRECISIONS])
        lines.append("| " + " | ".join(cells) + " |")
    one = np.ones((1, 1), np.float32)
    paths = ", ".join(f"{p}: {ReducedMatrix(one, p).instruction or 'portable loop'}"
                      for p in ("bfloat16", "int8"))
    return "\n".join(lines) + f"\n\nMedian over {seeds} seeds ({paths}).\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--out", default=os.path.join(HERE, "reduced_precision_results.md"))
    args = p.parse_args()
    table = markdown(run(args.seeds), args.seeds)
    print(table)
    with open(args.out, "w") as f:
        f.write(table)


if __name__ == "__main__":
    main()
