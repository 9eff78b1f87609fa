"""from_torch: a torch.nn.GRU or LSTM (and an optional torch.nn.Linear head) as an equivalent
Sequential. torch is not imported: a module is read through its attributes and weights.

The layouts differ in gate order and orientation: torch keeps weight_ih (3H, in) and
weight_hh (3H, H) with the gates in the order r, z, n and two biases; Keras (and we) keep the
kernel (in, 3H) and the recurrent kernel (H, 3H) in the order z, r, n, and the biases as one
(2, 3H) array [input; recurrent]. torch's GRU computes n = tanh(x W_n + b_in + r * (h U_n +
b_hn)), which is reset_after=True.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..layers import GRU, LSTM, Bidirectional, Dense, Dropout
from ..models import Sequential


def _zrn(a: np.ndarray) -> np.ndarray:
    """torch's r, z, n blocks along the first axis, as Keras' z, r, n along the last."""
    r, z, n = np.split(np.asarray(a), 3, axis=0)
    return np.concatenate([z, r, n], axis=0).T


def _numpy(tensor: Any) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def _torch_weights(module: Any, layer: int, suffix: str) -> list[np.ndarray]:
    """Keras-layout kernel, recurrent kernel (and bias) of one layer and direction of a torch
    GRU (gates reordered) or LSTM (torch's i, f, g, o is Keras' order; its two biases add)."""
    def get(name):
        return _numpy(getattr(module, f"{name}_l{layer}{suffix}"))

    if type(module).__name__ == "LSTM":
        weights = [get("weight_ih").T, get("weight_hh").T]
        return weights + [get("bias_ih") + get("bias_hh")] if module.bias else weights
    weights = [_zrn(get("weight_ih")), _zrn(get("weight_hh"))]
    if module.bias:
        weights.append(np.stack([_zrn(get("bias_ih")), _zrn(get("bias_hh"))]))
    return weights


def from_torch(module: Any, head: Optional[Any] = None) -> Sequential:
    """Convert a torch.nn.GRU or torch.nn.LSTM (and an optional Linear head) to a Sequential.

    The module may have any ``num_layers``, be bidirectional, batch_first either way, with or
    without bias; torch is not imported: the module is read through its attributes and
    weights. The model returns what the module returns as its output sequence (every GRU
    layer has ``return_sequences=True``; a bidirectional layer concatenates forward and
    backward as torch does), with `head` applied at every step. Its arrays are batch-first
    whatever the module's ``batch_first``: for a ``batch_first=False`` module,
    ``model.predict(x.transpose(1, 0, 2))`` equals ``module(x)[0].transpose(1, 0, 2)``.
    torch's dropout between layers becomes Dropout layers (training only); the computing
    dtype is the module's (float32 or float64).

    Parameters
    ----------
    module : torch.nn.GRU or torch.nn.LSTM
        The recurrent module to convert.
    head : torch.nn.Linear, optional
        A Linear layer applied at every step after the module, converted to a Dense layer.

    Returns
    -------
    Sequential
        The equivalent model, built for inputs of shape (batch, timesteps, input_size).

    Raises
    ------
    TypeError
        For a module that is not a torch.nn.GRU or torch.nn.LSTM, a head that is not a
        torch.nn.Linear, or weights that are not float32 or float64.
    ValueError
        For an LSTM with ``proj_size`` (no gru_native equivalent), or a head whose
        ``in_features`` do not match the module's output width.
    """
    kind = type(module).__name__
    if kind not in ("GRU", "LSTM") or not hasattr(module, "weight_ih_l0"):
        raise TypeError(f"from_torch takes a torch.nn.GRU or torch.nn.LSTM, got {kind}")
    if getattr(module, "proj_size", 0):
        raise ValueError(f"a torch {kind} with proj_size has no gru_native equivalent")
    dtype = np.dtype(_numpy(module.weight_ih_l0).dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"from_torch converts float32 and float64 modules, got {dtype}")
    H = module.hidden_size
    layers: list = []
    weights: list[np.ndarray] = []
    for k in range(module.num_layers):
        if k and module.dropout:
            layers.append(Dropout(module.dropout))
        if kind == "LSTM":  # unit_forget_bias only initialises; the weights come from torch
            rnn = LSTM(H, return_sequences=True, use_bias=module.bias)
        else:
            rnn = GRU(H, return_sequences=True, use_bias=module.bias, reset_after=True)
        weights += _torch_weights(module, k, "")
        if module.bidirectional:
            rnn = Bidirectional(rnn, merge_mode="concat")
            weights += _torch_weights(module, k, "_reverse")
        layers.append(rnn)
    if head is not None:
        if type(head).__name__ != "Linear" or not hasattr(head, "weight"):
            raise TypeError(f"head must be a torch.nn.Linear, got {type(head).__name__}")
        width = H * (2 if module.bidirectional else 1)
        if head.in_features != width:
            raise ValueError(f"head takes {head.in_features} features, but the {kind} gives {width}")
        layers.append(Dense(head.out_features, use_bias=head.bias is not None))
        weights.append(_numpy(head.weight).T)
        if head.bias is not None:
            weights.append(_numpy(head.bias))
    model = Sequential(layers, dtype=dtype.name)
    model.build((None, None, module.input_size))
    model.set_weights([np.ascontiguousarray(w, dtype) for w in weights])
    return model
