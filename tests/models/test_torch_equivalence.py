"""A two-layer bidirectional GRU + Dense model built here and in PyTorch with copied weights
gives the same predictions, and the same weights after one Adam step."""

import numpy as np
import pytest

from gru_native import GRU, Bidirectional, Dense, Sequential
from gru_native.optimizers import Adam

torch = pytest.importorskip("torch")


def keras_gru_to_torch(kernel, recurrent, bias):
    """Keras (in, 3H) z, r, n blocks -> torch (3H, in) r, z, n blocks."""
    H = recurrent.shape[0]

    def reorder(a):
        return np.concatenate([a[..., H:2 * H], a[..., :H], a[..., 2 * H:]], axis=-1)

    return [reorder(kernel).T, reorder(recurrent).T, reorder(bias[0]), reorder(bias[1])]


class TorchModel(torch.nn.Module):
    def __init__(self, I, H1, H2, out):
        super().__init__()
        self.gru = torch.nn.GRU(I, H1, num_layers=1, batch_first=True, bidirectional=True)
        self.gru2 = torch.nn.GRU(2 * H1, H2, batch_first=True, bidirectional=True)
        self.dense = torch.nn.Linear(2 * H2, out)

    def forward(self, x):
        y, _ = self.gru(x)
        _, h = self.gru2(y)
        return self.dense(torch.cat([h[0], h[1]], dim=-1))


def copy_weights(ours, theirs):
    w = ours.get_weights()
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    with torch.no_grad():
        for gru, start in ((theirs.gru, 0), (theirs.gru2, 6)):
            for suffix, offset in (("", 0), ("_reverse", 3)):
                for name, value in zip(names, keras_gru_to_torch(*w[start + offset:start + offset + 3])):
                    getattr(gru, name + suffix).copy_(torch.from_numpy(np.ascontiguousarray(value)))
        theirs.dense.weight.copy_(torch.from_numpy(w[12].T.copy()))
        theirs.dense.bias.copy_(torch.from_numpy(w[13]))


def test_bidirectional_stack_matches_torch(rng):
    T, I, H1, H2, out, B = 9, 4, 6, 5, 3, 8
    model = Sequential([Bidirectional(GRU(H1, return_sequences=True), input_shape=(T, I)),
                        Bidirectional(GRU(H2)), Dense(out)])
    lr = 1e-2
    model.compile(optimizer=Adam(lr), loss="mse")
    reference = TorchModel(I, H1, H2, out)
    copy_weights(model, reference)
    x = rng.normal(size=(B, T, I)).astype(np.float32)
    y = rng.normal(size=(B, out)).astype(np.float32)

    with torch.no_grad():
        want = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), want, rtol=1e-5, atol=1e-6)

    # One Adam step. Keras puts epsilon outside the bias correction of v: at the first step
    # that equals torch with eps / sqrt(1 - beta_2).
    opt = torch.optim.Adam(reference.parameters(), lr=lr, eps=1e-7 / np.sqrt(1 - 0.999))
    opt.zero_grad()
    torch.nn.functional.mse_loss(reference(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    opt.step()
    model.train_on_batch(x, y)
    got = TorchModel(I, H1, H2, out)  # our weights in torch's layout
    copy_weights(model, got)
    for (name, p), q in zip(reference.named_parameters(), got.parameters()):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)
