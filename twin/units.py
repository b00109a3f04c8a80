"""Durations with units (``90s``, ``5min``, ``2h``, ``1d``): read into seconds, and written
back the way people write them (``16h``, ``1h30min``, ``250ms``)."""

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

_DURATION = re.compile(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z]+)\s*$")

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


def written(value: object) -> str:
    """A duration as the scenario wrote it, for messages: ``-50s`` stays ``-50s``, numbers
    lose a needless ``.0``."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}"
    return repr(value)


def nonnegative_duration_s(value: object, what: str = "") -> float:
    """Seconds in ``value``, which must not be negative; ``what`` names it in the message."""
    seconds = parse_duration_s(value)
    if seconds < 0:
        named = f"{what} " if what else ""
        raise ValueError(f"{named}{written(value)} is negative; a duration is 0 or more")
    return seconds


def format_duration(seconds: float) -> str:
    """A duration as people write it: ``16h``, ``30min``, ``1h30min``, ``90s``, ``250ms``.

    Below a second in milliseconds, below two minutes in seconds, beyond in hours, minutes and
    seconds with the parts that are 0 left out; fractions are kept to the millisecond.
    """
    if math.isnan(seconds):
        return "nan"
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if math.isinf(seconds):
        return "inf"
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{round(seconds * 1000, 3):g}ms"
    if seconds < 120:
        return f"{round(seconds, 3):g}s"
    minutes, rest_s = divmod(round(seconds, 3), 60)
    hours, minutes = divmod(int(minutes), 60)
    parts = [f"{hours}h"] if hours else []
    if minutes:
        parts.append(f"{minutes}min")
    if round(rest_s, 3):
        parts.append(f"{round(rest_s, 3):g}s")
    return "".join(parts)
