"""The torch baseline of bench/real_data.py: GRUClassifier's network written again in PyTorch from
the estimator's settings_, and trained as the estimator trains it, so that the table can tell the
network and its training apart from gru_native's kernels. Needs torch (the test extra)."""

import copy
import time
import warnings

import numpy as np
import torch
from torch import nn

from gru_native import GRUClassifier

_PREDICT_BATCH = 256  # test samples per forward pass: bounds memory on long series


def _padded(X):
    """(values (n, T, F) zero-padded, lengths) from an array or a list of sequences."""
    if isinstance(X, list):
        seqs = [np.asarray(s, dtype=np.float64).reshape(len(s), -1) for s in X]
        n = np.array([len(s) for s in seqs])
        values = np.zeros((len(seqs), n.max(), seqs[0].shape[1]))
        for row, s in zip(values, seqs):
            row[:len(s)] = s
        return values, n
    X = np.asarray(X, dtype=np.float64)
    X = X[:, :, None] if X.ndim == 2 else X
    return X, np.full(len(X), X.shape[1])


def network_input(scaling, x_train, n_train, x_test, n_test):
    """What the estimator's network reads (standardised as GRUClassifier does, written again
    here from its documentation): with scaling='znorm' each sequence's values by its own
    statistics, with 'series' beside those statistics (gru_native.sklearn.series_scaling), the
    ones constant over the training set left out; then every feature standardised over the
    training set's real steps; padding zero."""
    from gru_native.sklearn.series_scaling import (median_deviation, standardized_series,
                                                   with_series_statistics)

    masks = [np.arange(x.shape[1]) < n[:, None] for x, n in ((x_train, n_train), (x_test, n_test))]
    if scaling != "global":
        unit = median_deviation(x_train, masks[0])
        scaled = with_series_statistics if scaling == "series" else standardized_series
        x_train, x_test = (scaled(x, m, unit) for x, m in zip((x_train, x_test), masks))
    valid = x_train[masks[0]]
    scale = valid.std(axis=0)
    keep = (scale > 0) | (np.arange(len(scale)) < len(scale) // (3 if scaling == "series" else 1))
    mean, scale = valid.mean(axis=0)[keep], np.where(scale > 0, scale, 1.0)[keep]
    return [((x[:, :, keep] - mean) / scale) * m[:, :, None]
            for x, m in zip((x_train, x_test), masks)]


# ---- the network: (batch, channels, steps) throughout the front end, as torch's Conv1d reads -----
def _norm(channels, batch_norm):
    # Keras' BatchNormalization defaults: epsilon 1e-3, momentum 0.99 (torch counts 1 - that)
    return nn.BatchNorm1d(channels, eps=1e-3, momentum=0.01) if batch_norm else nn.Identity()


def _conv(channels_in, filters, kernel_size, bias=False):
    # 'same' padding split as Keras splits it (an even kernel's extra step on the right:
    # checked against gru_native's Conv1D for kernels of 4, 10, 20 and 40)
    return nn.Conv1d(channels_in, filters, kernel_size, padding="same", bias=bias)


class InceptionModule(nn.Module):
    """The estimator's _inception_module: a 1x1 bottleneck (when the input has more than one
    channel), a convolution of each kernel size on it, and max pooling (3 steps, stride 1) then
    a 1x1 convolution on the input; concatenated, normalised, ReLU."""

    def __init__(self, channels_in, filters, kernel_sizes, batch_norm):
        super().__init__()
        wide = channels_in > 1
        self.bottleneck = _conv(channels_in, filters, 1) if wide else nn.Identity()
        self.branches = nn.ModuleList(_conv(filters if wide else 1, filters, size)
                                      for size in kernel_sizes)
        self.pool = nn.MaxPool1d(3, stride=1, padding=1)
        self.pool_conv = _conv(channels_in, filters, 1)
        self.norm = _norm(filters * (len(kernel_sizes) + 1), batch_norm)

    def forward(self, x):
        bottleneck = self.bottleneck(x)
        branches = [conv(bottleneck) for conv in self.branches]
        branches.append(self.pool_conv(self.pool(x)))
        return torch.relu(self.norm(torch.cat(branches, dim=1)))


class Shortcut(nn.Module):
    """The estimator's _shortcut: the block's output plus the residual input through a 1x1
    convolution to its channels, normalised; ReLU."""

    def __init__(self, channels_in, channels_out, batch_norm):
        super().__init__()
        self.conv = _conv(channels_in, channels_out, 1)
        self.norm = _norm(channels_out, batch_norm)

    def forward(self, x, residual_input):
        return torch.relu(x + self.norm(self.conv(residual_input)))


class FrontEnd(nn.Module):
    """The estimator's _front_end: a block per entry of conv_filters (with one kernel size
    Conv1d, normalisation, ReLU; with several an Inception module), each followed by max pooling
    of conv_pool_size; without pooling, Inception modules get a residual shortcut after every
    third (from the input of the first of the three)."""

    def __init__(self, channels, settings, batch_norm):
        super().__init__()
        kernels, pool = settings["conv_kernel_size"], settings["conv_pool_size"]
        inception = len(kernels) > 1
        self.blocks, self.shortcuts = nn.ModuleList(), nn.ModuleDict()
        residual_channels = channels
        for i, filters in enumerate(settings["conv_filters"]):
            if inception:
                block = InceptionModule(channels, filters, kernels, batch_norm)
                channels = filters * (len(kernels) + 1)
            else:  # the bias only without normalisation, which would cancel it
                block = nn.Sequential(_conv(channels, filters, kernels[0], bias=not batch_norm),
                                      _norm(filters, batch_norm), nn.ReLU())
                channels = filters
            if pool > 1:  # ceil_mode pads at the end, as TensorFlow's 'same' does for 2 steps
                block = nn.Sequential(block, nn.MaxPool1d(pool, ceil_mode=True))
            self.blocks.append(block)
            if inception and pool == 1 and i % 3 == 2:
                self.shortcuts[str(i)] = Shortcut(residual_channels, channels, batch_norm)
                residual_channels = channels
        self.channels = channels

    def forward(self, x):
        residual_input = x
        for i, block in enumerate(self.blocks):
            x = block(x)
            if str(i) in self.shortcuts:
                x = residual_input = self.shortcuts[str(i)](x, residual_input)
        return x


class Net(nn.Module):
    """The front end (if any), the GRU layers (if any), the summary of the sequence ('last'
    state, 'mean' or 'max' over the steps), a linear output."""

    def __init__(self, channels, outputs, settings, bidirectional, batch_norm):
        super().__init__()
        self.pooling = settings["pooling"]
        self.front = FrontEnd(channels, settings, batch_norm) if settings["conv_filters"] else None
        width = self.front.channels if self.front else channels
        units = settings["units"]
        self.gru = None
        if units:  # torch stacks layers of one width only: fit_torch refuses others
            self.gru = nn.GRU(width, units[0], num_layers=len(units), batch_first=True,
                              bidirectional=bidirectional)
            width = units[0] * (2 if bidirectional else 1)
        self.head = nn.Linear(width, outputs)

    def forward(self, x, n):
        if self.front is not None:
            x = self.front(x.transpose(1, 2)).transpose(1, 2)
        if self.gru is None or self.pooling != "last":
            out = x if self.gru is None else self.gru(x)[0]
            return self.head(out.amax(dim=1) if self.pooling == "max" else out.mean(dim=1))
        if not self.gru.bidirectional:  # the state at each sequence's last real step: exact,
            out, _ = self.gru(x)  # later padding cannot reach it (and packing is 5x slower)
            return self.head(out[torch.arange(len(x)), torch.as_tensor(n) - 1])
        packed = nn.utils.rnn.pack_padded_sequence(x, torch.as_tensor(n), batch_first=True,
                                                   enforce_sorted=False)
        _, h = self.gru(packed)  # (layers * directions, batch, units)
        return self.head(torch.cat([h[-2], h[-1]], dim=1))


def fit_torch(params, settings, seed, epochs, X_train, X_test, y_train, y_test, threads=1):
    """The estimator's network in PyTorch, trained as the estimator trains it; returns the
    row's accuracy, fit seconds and epochs.

    `settings` (the estimator's settings_: its 'auto' parameters resolved) choose the scaling and
    the network (Net): with several kernel sizes InceptionTime's (Inception modules, a residual
    shortcut after every third; by default no GRU and the mean over the steps), with one the
    plain Conv1d blocks, then the GRU layers if any. Convolutions are padded as Keras' 'same'
    and have no bias before a normalisation; BatchNorm1d takes Keras' momentum and epsilon;
    MaxPool1d of 2 steps pads at the end as TensorFlow's 'same'. float32, torch's own
    initialisation, `threads` torch threads.

    Training: Adam at settings' learning rate, params' global_clipnorm as gradient norm
    clipping, batches of settings' batch size shuffled every epoch, the plateau schedule (the
    rate halved, down to 1/64, when the training loss has not improved by tol for
    n_iter_no_change // 2 epochs), for `epochs` epochs (the estimator's n_iter_); then, as the
    estimator's checkpoint, the weights and normalisation statistics of the epoch with the
    lowest training loss.

    None (no baseline) for variable lengths read by anything but the GRU's last state (torch's
    Conv1d and poolings take no mask); a ValueError for parameters with no counterpart here."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    p = {**GRUClassifier().get_params(), **params}
    conv, units, pooling = settings["conv_filters"], settings["units"], settings["pooling"]
    if len(set(units)) > 1 or p["cell"] != "gru" or not p["reset_after"] or p["dense_units"] \
            or p["dropout"] or p["recurrent_dropout"] or p["optimizer"] != "adam" \
            or pooling not in ("last", "mean", "max") or p["normalization"] not in ("batch", None) \
            or settings["conv_pool_size"] > 2:
        raise ValueError(f"the torch baseline has no counterpart for {params}")
    x_train, n_train = _padded(X_train)
    x_test, n_test = _padded(X_test)
    if (conv or pooling != "last") and (len(set(n_train)) > 1 or len(set(n_test)) > 1):
        return None
    xt, xv = (torch.tensor(x, dtype=torch.float32) for x in network_input(
        settings["scaling"], x_train, n_train, x_test, n_test))
    classes = np.unique(y_train)
    binary = len(classes) == 2
    codes = torch.tensor(np.searchsorted(classes, y_train))

    net = Net(xt.shape[2], 1 if binary else len(classes), settings, p["bidirectional"],
              batch_norm=p["normalization"] == "batch")
    rate = settings["learning_rate"]
    optimizer = torch.optim.Adam(net.parameters(), lr=rate)
    loss_fn = nn.BCEWithLogitsLoss() if binary else nn.CrossEntropyLoss()
    batch = min(settings["batch_size"], len(xt))
    generator = torch.Generator().manual_seed(seed)
    best, best_state, lr_wait = np.inf, None, 0
    start = time.perf_counter()
    with warnings.catch_warnings():
        # torch notes that an even kernel's 'same' padding copies the input: expected here
        warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")
        for _ in range(epochs):
            net.train()
            total = 0.0
            for idx in torch.randperm(len(xt), generator=generator).split(batch):
                optimizer.zero_grad()
                out = net(xt[idx], n_train[idx.numpy()])
                target = codes[idx]
                loss = loss_fn(out[:, 0], target.float()) if binary else loss_fn(out, target)
                loss.backward()
                if p["global_clipnorm"] is not None:
                    nn.utils.clip_grad_norm_(net.parameters(), p["global_clipnorm"])
                optimizer.step()
                total += loss.item() * len(idx)
            loss = total / len(xt)  # the mean over the samples, as the estimator's
            if not np.isfinite(loss):
                raise ValueError(f"the torch baseline diverged (loss {loss})")
            lr_wait = lr_wait + 1 if loss > best - p["tol"] else 0
            if loss < best:  # the checkpoint: BatchNorm's running statistics too
                best, best_state = loss, copy.deepcopy(net.state_dict())
            if settings["lr_schedule"] == "plateau" \
                    and lr_wait >= max(1, p["n_iter_no_change"] // 2) \
                    and rate > settings["learning_rate"] / 64:
                rate, lr_wait = rate / 2, 0
                for group in optimizer.param_groups:
                    group["lr"] = rate
        net.load_state_dict(best_state)
        seconds = time.perf_counter() - start
        net.eval()
        with torch.no_grad():
            out = torch.cat([net(xv[i:i + _PREDICT_BATCH], n_test[i:i + _PREDICT_BATCH])
                             for i in range(0, len(xv), _PREDICT_BATCH)])
    predicted = (out[:, 0] > 0).long() if binary else out.argmax(dim=1)
    accuracy = float((classes[predicted.numpy()] == np.asarray(y_test)).mean())
    return dict(accuracy=accuracy, fit_seconds=seconds, n_iter=epochs, hit_max_iter=False)
