"""Fork safety (kernels/threads.pyx): a child made by fork after a multi-threaded kernel call
predicts, however it was made. GNU OpenMP's thread team of the forking thread does not survive
the fork, and a child that started a team there again would wait for ever: each case runs in a
fresh interpreter with a timeout, and compares the child's predictions with the parent's."""

import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import numpy as np
import pytest

# The parent trains with two threads (so it has started a team), then forks.
PARENT = """
import json, os, sys
import numpy as np
import gru_native as gn
from gru_native import layers

gn.set_num_threads(2)
x = np.random.default_rng(0).normal(size=(64, 30, 4)).astype("float32")
model = gn.models.Sequential([layers.Input((30, 4)), layers.GRU(64), layers.Dense(1)])
model.compile("adam", "mse")
model.fit(x, x[:, -1, :1], epochs=1, batch_size=32, verbose=0)
expected = model.predict(x, verbose=0)

def predict_sum(rows):
    return float(model.predict(x[rows], verbose=0).sum())
"""


def run_child_scenario(body, timeout=90):
    code = PARENT + textwrap.dedent(body)
    env = dict(os.environ, OMP_NUM_THREADS="2")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("a child made by fork hung in its first kernel call")
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_os_fork_child_predicts_as_the_parent():
    line = run_child_scenario("""
        pid = os.fork()
        if pid == 0:
            got = model.predict(x, verbose=0)
            os._exit(0 if np.allclose(got, expected, rtol=1e-5, atol=1e-6) else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
    """)
    assert line == "0"


def test_multiprocessing_pool_with_fork_predicts():
    line = run_child_scenario("""
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(2) as pool:
            sums = pool.map(predict_sum, [slice(0, 32), slice(32, 64)])
        print(json.dumps([sums, [float(expected[:32].sum()), float(expected[32:].sum())]]))
    """)
    got, want = __import__("json").loads(line)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_joblib_multiprocessing_backend_predicts():
    pytest.importorskip("joblib")
    line = run_child_scenario("""
        import joblib
        sums = joblib.Parallel(n_jobs=2, backend="multiprocessing")(
            joblib.delayed(predict_sum)(rows) for rows in [slice(0, 32), slice(32, 64)])
        print(json.dumps([sums, [float(expected[:32].sum()), float(expected[32:].sum())]]))
    """)
    got, want = __import__("json").loads(line)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_child_uses_the_setting_from_other_threads_and_warns_in_the_forking_thread():
    line = run_child_scenario("""
        import threading, warnings
        pid = os.fork()
        if pid == 0:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                gn.set_num_threads(2)
            here = gn.get_num_threads()
            seen = []
            worker = threading.Thread(target=lambda: seen.append(
                (gn.get_num_threads(), np.allclose(model.predict(x, verbose=0), expected,
                                                   rtol=1e-5, atol=1e-6))))
            worker.start()
            worker.join()
            ok = (here == 1 and seen == [(2, True)] and len(caught) == 1
                  and "fork" in str(caught[0].message))
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
    """)
    assert line == "0"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_preload_workers_predict(tmp_path):
    pytest.importorskip("gunicorn")
    (tmp_path / "app.py").write_text(PARENT + textwrap.dedent("""
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps([predict_sum(slice(0, 64)), float(expected.sum())]).encode()]
    """))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--preload", "--workers", "2", "--timeout", "60",
         "--bind", f"127.0.0.1:{port}", "app:app"],
        cwd=tmp_path, env=dict(os.environ, OMP_NUM_THREADS="2"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, answers = time.monotonic() + 90, []
        while len(answers) < 4 and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as reply:
                    answers.append(__import__("json").loads(reply.read()))
            except (ConnectionError, urllib.error.URLError):
                assert server.poll() is None, server.stderr.read()
                time.sleep(0.2)
        assert len(answers) == 4, "the workers did not answer (a hung kernel call?)"
        for got, want in answers:
            assert got == pytest.approx(want, rel=1e-5)
    finally:
        server.terminate()
        server.wait(timeout=30)
