"""Keras' standardisation of layer arguments that several layers share."""

from __future__ import annotations

from typing import Any, Optional

from ..validation import check_choice, check_int

DATA_FORMATS = ("channels_last", "channels_first")


def standardize_data_format(value: Optional[str]) -> str:
    """None is Keras' image_data_format setting: 'channels_last' unless configured."""
    value = "channels_last" if value is None else str(value).lower()
    return check_choice(value, "data_format", DATA_FORMATS)


def standardize_size(value: Any, name: str) -> int:
    """A 1-D size (kernel, pool, stride, dilation): a positive int or a tuple of one."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{name} must be an int or a tuple of one int, got {value!r}")
        value = value[0]
    return check_int(value, name, 1)
