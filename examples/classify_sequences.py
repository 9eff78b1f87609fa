"""
Activity recognition: GRUClassifier under a grid search
=======================================================

Human activity recognition from accelerometer windows with GRUClassifier, tuned by a grid
search over a scikit-learn Pipeline. Needs scikit-learn.

Each sample is 2 s of a phone's 3-axis accelerometer at 25 Hz (50 steps, m/s^2), recorded while
sitting, standing, walking or running. Sitting and standing differ only in how gravity falls on
the axes (the phone tilts in a pocket when sitting); walking and running in the pace and strength
of the steps, with overlapping ranges, so a single window is not always clear-cut.

Pipeline: SequenceScaler (per-axis standardisation of the sequences) -> GRUClassifier, with
GridSearchCV choosing the GRU's units and learning rate by cross-validated accuracy.

Run: python examples/classify_sequences.py    (GRU_NATIVE_EXAMPLE_QUICK=1 searches briefly)
"""

import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from gru_native import GRUClassifier
from gru_native.preprocessing import SequenceScaler

QUICK = os.environ.get("GRU_NATIVE_EXAMPLE_QUICK") == "1"
ACTIVITIES = np.array(["sitting", "standing", "walking", "running"])
RATE, STEPS, G = 25, 50, 9.81
rng = np.random.default_rng(0)


def gravity(tilt_degrees):
    """Gravity on the phone's (x, y, z) axes when it leans forward by `tilt_degrees`, with a
    random sideways lean."""
    tilt = np.radians(tilt_degrees + rng.normal(scale=8))
    side = np.radians(rng.normal(scale=8))
    return G * np.array([np.sin(side), np.sin(tilt) * np.cos(side), np.cos(tilt) * np.cos(side)])


def recording(activity):
    """One (STEPS, 3) window of accelerometer readings."""
    t = np.arange(STEPS) / RATE
    if activity in ("sitting", "standing"):
        signal = np.tile(gravity(55 if activity == "sitting" else 10), (STEPS, 1))
        signal += 0.15 * np.cumsum(rng.normal(scale=0.05, size=(STEPS, 3)), axis=0)  # fidgeting
    else:
        pace, strength = (rng.uniform(1.5, 2.3), rng.uniform(1.5, 4.0)) if activity == "walking" \
            else (rng.uniform(2.2, 3.2), rng.uniform(3.5, 8.0))
        phase = rng.uniform(0, 2 * np.pi)
        step = np.sin(2 * np.pi * pace * t + phase) + 0.4 * np.sin(4 * np.pi * pace * t + 2 * phase)
        sway = np.sin(np.pi * pace * t + phase)  # the body sways once per two steps
        signal = gravity(10) + strength * np.column_stack([0.3 * sway, 0.5 * step, step])
    return signal + rng.normal(scale=0.3, size=(STEPS, 3))  # sensor noise


n_samples = 240 if QUICK else 600
labels = rng.integers(len(ACTIVITIES), size=n_samples)
X = np.stack([recording(ACTIVITIES[k]) for k in labels])
y = ACTIVITIES[labels]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                    random_state=0)

pipeline = Pipeline([
    ("scale", SequenceScaler()),
    ("gru", GRUClassifier(learning_rate=1e-2, max_iter=20 if QUICK else 60, early_stopping=True,
                          random_state=0)),
])
grid = {"gru__units": [8, 32]} if QUICK else {"gru__units": [16, 32],
                                               "gru__learning_rate": [3e-3, 1e-2]}
search = GridSearchCV(pipeline, grid, cv=2 if QUICK else 3)
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # short runs in quick mode
    search.fit(X_train, y_train)
print(f"grid search over {len(search.cv_results_['params'])} settings in "
      f"{time.perf_counter() - start:.1f} s; best {search.best_params_}, "
      f"cross-validated accuracy {search.best_score_:.3f}")
print(f"test accuracy: {search.score(X_test, y_test):.3f} on {len(y_test)} windows")

predicted = search.predict(X_test)
for activity in ACTIVITIES:
    true = y_test == activity
    print(f"  {activity:9s} recall {np.mean(predicted[true] == activity):.2f}")
