"""Keras' standardisation of layer arguments that several layers share."""

from __future__ import annotations

from typing import Any, Optional

from ..validation import check_choice, check_int

DATA_FORMATS = ("channels_last", "channels_first")


def standardize_data_format(value: Optional[str]) -> str:
    """Return the data format `value` names, lower-cased and checked.

    None is Keras' image_data_format setting: 'channels_last' unless configured.

    Parameters
    ----------
    value : str or None
        'channels_last' or 'channels_first' (any case), or None.

    Returns
    -------
    str
        'channels_last' or 'channels_first'.

    Raises
    ------
    ValueError
        For another format.
    """
    value = "channels_last" if value is None else str(value).lower()
    return check_choice(value, "data_format", DATA_FORMATS)


def standardize_size(value: Any, name: str) -> int:
    """Return a 1-D size (kernel, pool, stride, dilation) as an int.

    Parameters
    ----------
    value : int or tuple of int
        A positive int, or a tuple (or list) of one.
    name : str
        The argument's name, for the error's message.

    Returns
    -------
    int
        The size.

    Raises
    ------
    ValueError
        For a tuple of another length, or a value that is not a positive integer.
    """
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{name} must be an int or a tuple of one int, got {value!r}")
        value = value[0]
    return check_int(value, name, 1)
