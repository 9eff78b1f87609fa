"""Type stub of the Cython module _gru: the names gru_native exports (the other, internal names
are left untyped)."""

from typing import Any, Optional

import numpy as np
from numpy.typing import ArrayLike

class GRUWorkspace:
    """Scratch memory one GRU layer reuses from call to call."""

    def __init__(self) -> None: ...
    @property
    def generation(self) -> int: ...

class GRUCache:
    """What a training forward keeps for the backward of the same call."""

    @property
    def dtype(self) -> np.dtype[Any]: ...

def gru_forward(
    x: ArrayLike,
    kernel: ArrayLike,
    recurrent_kernel: ArrayLike,
    bias: Optional[ArrayLike] = None,
    h0: Optional[ArrayLike] = None,
    lengths: Optional[ArrayLike] = None,
    *,
    reset_after: bool = True,
    reverse: bool = False,
    return_sequences: bool = True,
    training: bool = False,
    recurrent_mask: Optional[ArrayLike] = None,
    workspace: Optional[GRUWorkspace] = None,
    n_threads: Optional[int] = None,
) -> tuple[Optional[np.ndarray], np.ndarray, Optional[GRUCache]]: ...
def gru_backward(
    cache: GRUCache,
    dy: Optional[ArrayLike] = None,
    dh_last: Optional[ArrayLike] = None,
    *,
    need_dx: bool = True,
    need_dh0: bool = False,
    workspace: Optional[GRUWorkspace] = None,
    out: Optional[tuple[Optional[np.ndarray], Optional[np.ndarray], Optional[np.ndarray]]] = None,
    n_threads: Optional[int] = None,
) -> tuple[Optional[np.ndarray], Optional[np.ndarray], np.ndarray, np.ndarray, np.ndarray]: ...

# the module's other names (bias_shape, ...), used inside gru_native only
def __getattr__(name: str) -> Any: ...
