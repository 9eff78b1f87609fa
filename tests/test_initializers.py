"""The Orthogonal initialiser: Keras' QR recipe, computed on one BLAS thread."""

import numpy as np
import threadpoolctl

from gru_native import initializers


def test_orthogonal_rows_of_a_wide_matrix_and_columns_of_a_tall_one():
    wide = initializers.Orthogonal()((16, 48), np.random.default_rng(0))
    np.testing.assert_allclose(wide @ wide.T, np.eye(16), atol=1e-12)
    tall = initializers.Orthogonal(gain=2.0)((48, 16), np.random.default_rng(0))
    np.testing.assert_allclose(tall.T @ tall, 4 * np.eye(16), atol=1e-12)


def test_orthogonal_runs_its_qr_on_one_blas_thread(monkeypatch):
    """After a threaded call, NumPy's OpenBLAS threads spin and take cores from the kernels the
    new model runs next: the QR must not start them."""
    seen = []
    qr = np.linalg.qr

    def recording_qr(a):
        seen.append([lib["num_threads"] for lib in threadpoolctl.threadpool_info()
                     if lib["user_api"] == "blas"])
        return qr(a)

    monkeypatch.setattr(np.linalg, "qr", recording_qr)
    initializers.Orthogonal()((64, 192), np.random.default_rng(0))
    assert seen and all(n == 1 for n in seen[0])
