"""Durations with units (``90s``, ``5min``, ``2h``, ``1d``) turned into seconds."""

from __future__ import annotations

import math
import re

SECONDS_PER_UNIT = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z]+)\s*$")

VALID_DURATIONS = "a number of seconds or a number with a unit: ms, s, min, h, d (e.g. 90s, 5min)"


def parse_duration_s(value: object) -> float:
    """Seconds in ``value``: a number (seconds) or a string such as ``'5min'``.

    Raises ``ValueError`` naming the value and the accepted forms. Negative numbers are
    returned as they are: whether they are allowed depends on the field.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; use {VALID_DURATIONS}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            match = _DURATION.match(text)
            if match is None or match.group(2) not in SECONDS_PER_UNIT:
                raise ValueError(f"{value!r} is not a duration; use {VALID_DURATIONS}") from None
            seconds = float(match.group(1)) * SECONDS_PER_UNIT[match.group(2)]
    else:
        raise ValueError(f"{value!r} is not a duration; use {VALID_DURATIONS}")
    if math.isnan(seconds):
        raise ValueError(f"{value!r} is not a duration; use {VALID_DURATIONS}")
    return seconds


def format_duration(seconds: float) -> str:
    """A short human form of a duration, for tables and messages."""
    if seconds >= 86400 and seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    for unit, size in (("h", 3600.0), ("min", 60.0)):
        if seconds >= size and (seconds / size) == round(seconds / size, 3):
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
