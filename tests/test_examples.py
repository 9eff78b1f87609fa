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
