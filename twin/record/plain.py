"""Values made safe for JSON: a non-finite number (a KPI nobody could measure) becomes null."""

from __future__ import annotations

import math


def json_safe(value):
    """A copy of ``value`` (dicts, lists and tuples inside it too) with NaN and ±inf as None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
