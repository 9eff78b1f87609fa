"""from_torch: a converted torch.nn.GRU (+ Linear) predicts what the module computes."""

import numpy as np
import pytest

import gru_native as gn

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("num_layers, bidirectional, batch_first, bias", [
    (1, False, True, True), (2, False, False, True), (1, True, True, True),
    (3, True, False, True), (2, True, True, False)])
@pytest.mark.parametrize("with_head", [False, True])
@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_from_torch_matches_the_module(rng, num_layers, bidirectional, batch_first, bias, with_head,
                                       kind):
    torch.manual_seed(0)
    I, H, T, B = 5, 7, 11, 3
    gru = getattr(torch.nn, kind)(I, H, num_layers=num_layers, bidirectional=bidirectional,
                       batch_first=batch_first, bias=bias, dropout=0.2 if num_layers > 1 else 0)
    gru.eval()
    head = torch.nn.Linear(H * (2 if bidirectional else 1), 4) if with_head else None
    x = rng.normal(size=(B, T, I)).astype(np.float32)
    with torch.no_grad():
        xt = torch.from_numpy(x if batch_first else x.transpose(1, 0, 2).copy())
        out = gru(xt)[0]
        if head is not None:
            out = head(out)
        want = out.numpy() if batch_first else out.numpy().transpose(1, 0, 2)
    model = gn.from_torch(gru, head)
    got = model.predict(x, verbose=0)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert model.dtype == np.float32


def test_from_torch_float64_and_bad_input(rng):
    gru = torch.nn.GRU(2, 3, batch_first=True).double()
    x = rng.normal(size=(2, 4, 2))
    with torch.no_grad():
        want = gru(torch.from_numpy(x))[0].numpy()
    model = gn.from_torch(gru)
    assert model.dtype == np.float64
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-12, atol=1e-12)
    with pytest.raises(TypeError, match="takes a torch.nn.GRU or torch.nn.LSTM, got RNN"):
        gn.from_torch(torch.nn.RNN(2, 3))
    with pytest.raises(ValueError, match="head takes 5 features, but the GRU gives 3"):
        gn.from_torch(gru, torch.nn.Linear(5, 1).double())
    with pytest.raises(TypeError, match="head must be a torch.nn.Linear"):
        gn.from_torch(gru, torch.nn.ReLU())
