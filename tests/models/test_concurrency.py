"""Many threads predicting and one training, on shared and separate models at once: every result
equals the one the same call gives alone (the kernels release the GIL, so nothing may share
scratch memory across calls)."""

import threading

import numpy as np

import gru_native as gn
from gru_native import layers


def plan_model():  # predicts through the inference plan
    return gn.Sequential([layers.GRU(24, return_sequences=True, input_shape=(40, 3)),
                          layers.GRU(16), layers.Dense(2)])


def layer_path_model():  # bidirectional: predicts layer by layer
    return gn.Sequential([layers.Bidirectional(layers.GRU(48), input_shape=(40, 3)), layers.Dense(2)])


def train(seed, x, y):
    gn.utils.set_random_seed(seed)
    model = gn.Sequential([layers.GRU(16, input_shape=(40, 3)), layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    return model.get_weights()


def test_threads_predicting_and_one_training_get_their_serial_results(rng):
    gn.utils.set_random_seed(1)
    shared = [plan_model(), layer_path_model()]
    inputs = [rng.normal(size=(1 + i % 4, 40, 3)) for i in range(12)]
    expected = [[m.predict(x, verbose=0) for x in inputs] for m in shared]
    x_train, y_train = rng.normal(size=(64, 40, 3)), rng.normal(size=(64, 1))
    trained_alone = train(7, x_train, y_train)

    wrong, errors, trained = [], [], []

    def predictor(k):
        try:
            for i in range(60):
                j, n = (k + i) % len(shared), (k * 7 + i) % len(inputs)
                if not np.array_equal(shared[j].predict(inputs[n], verbose=0), expected[j][n]):
                    wrong.append((k, j, n))
        except Exception as e:  # reported by the assertion below
            errors.append(e)

    def trainer():
        try:
            trained.append(train(7, x_train, y_train))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=predictor, args=(k,)) for k in range(6)]
    threads.append(threading.Thread(target=trainer))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert not wrong, f"{len(wrong)} predictions differ from their serial result"
    for a, b in zip(trained[0], trained_alone):
        np.testing.assert_array_equal(a, b)


def test_concurrent_first_predictions_build_an_unbuilt_model_once(rng, tmp_path):
    """Threads released together into the first predict of a model without input_shape: one of
    them builds and initialises it, all get the same predictions, and the model saves and loads."""
    x = rng.normal(size=(2, 6, 3)).astype(np.float32)
    differing = []
    for trial in range(100):
        model = gn.Sequential([layers.GRU(8), layers.Dense(2)])
        barrier = threading.Barrier(4)
        outputs, errors = [None] * 4, []

        def first_predict(k):
            barrier.wait()
            try:
                outputs[k] = model.predict(x, verbose=0)
            except Exception as e:  # reported by the assertion below
                errors.append(e)

        threads = [threading.Thread(target=first_predict, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        final = model.predict(x, verbose=0)
        if not all(np.array_equal(out, final) for out in outputs):
            differing.append(trial)
        model.save(tmp_path / "model.gnm")
        np.testing.assert_array_equal(gn.load_model(tmp_path / "model.gnm").predict(x, verbose=0),
                                      final)
    assert not differing, f"{len(differing)} of 100 trials got different predictions"
