"""What the scenario models share: keys and their written form, field errors, validators."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

from twin.distributions import Distribution, Exponential, parse_distribution
from twin.units import nonnegative_duration_s, parse_duration_s, written

ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

# A field's place in a scenario, such as ("elements", "line1.m1", "capacity") or ("flow", 2).
# Kept as a tuple because element ids may contain dots themselves.
Key = tuple[str | int, ...]


def dotted(key: Key) -> str:
    """The written form of a key: ``elements.b1.capacity``, ``flow[2].to[0]``."""
    text = ""
    for part in key:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def and_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


class FieldError(ValueError):
    """A problem found by a model that knows which of its fields it is about.

    ``at`` extends the model's location (a misspelt or missing field). ``about`` names the
    fields a rule between fields concerns (horizon and warmup), or is empty when the problem
    concerns the model as a whole; the loader uses it to tell whether the file or a ``--set``
    is to blame. ``None`` means the problem is about the place ``at`` points to.
    """

    def __init__(self, message: str, *, at: Key = (), about: tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.at = at
        self.about = about


def _whole_number(
    name: str, least: int, fix: str, whole_fix: str, *, name_first: bool = True
) -> Callable[[Any], int | None]:
    """A validator for a count: a whole number ``least`` or more, refused with ``fix``."""

    def check(value: Any) -> int | None:
        if value is None:
            raise ValueError(f"{name} is empty; {whole_fix}")
        said = f"{name} {value!r}" if name_first else repr(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{said} is not allowed; {whole_fix}")
        if isinstance(value, float):
            if not math.isfinite(value) or value != int(value):
                raise ValueError(f"{said} is not allowed; {whole_fix}")
            value = int(value)
        if value < least:
            raise ValueError(f"{said} is not allowed; {fix}")
        return value

    return check


def _optional(check: Callable[[Any], int | None]) -> Callable[[Any], int | None]:
    """``check`` for a field that may be left out (or set to nothing by a ``--set``)."""
    return lambda value: None if value is None else check(value)


def _positive_measure(name: str, unit: str, fix: str, example: str) -> Callable[[Any], float]:
    """A validator for a length or a speed: a finite number above 0, in ``unit``."""

    def check(value: Any) -> float:
        if value is None:
            raise ValueError(f"{name} is empty; give a number of {unit}, e.g. {example}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(
                f"{name} {value!r} is not allowed; give a plain number of {unit}, e.g. {example}"
            )
        if math.isnan(value) or math.isinf(value):
            raise ValueError(
                f"{name} {value!r} is not allowed; give a finite number of {unit}, e.g. {example}"
            )
        if value <= 0:
            raise ValueError(f"{name} {value!r} is not allowed; {fix}")
        return float(value)

    return check


def _failure_distribution(value: object) -> Distribution:
    # A plain duration for mtbf/mttr means "exponential with this mean", the textbook default.
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        mean_s = parse_duration_s(value)
        if mean_s < 0:
            raise ValueError(f"{written(value)} is negative; a mean time is greater than 0")
        if not 0 < mean_s < math.inf:
            raise ValueError(f"{value!r} is not allowed; a mean time must be greater than 0")
        return Exponential(mean_s)
    return parse_distribution(value)


Duration = Annotated[float, BeforeValidator(nonnegative_duration_s)]
Dist = Annotated[Distribution, BeforeValidator(parse_distribution)]
FailureDist = Annotated[Distribution, BeforeValidator(_failure_distribution)]


class _Strict(BaseModel):
    """Refuses unknown and missing fields saying what would be valid."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, populate_by_name=True
    )

    # What to say after "<field> is missing; " for each required field.
    _if_missing: ClassVar[dict[str, str]] = {}
    # What to say when several required fields are missing (default: the first one's text).
    _if_several_missing: ClassVar[str] = ""
    # How to write the model, for a value that is not a mapping at all.
    _what: ClassVar[str] = "the fields"
    _example: ClassVar[str] = "{field: value}"

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        if isinstance(data, cls):
            return data
        if data is None:
            raise FieldError(f"{cls._what} are empty; give them as a mapping, e.g. {cls._example}")
        if not isinstance(data, dict):
            raise FieldError(
                f"{data!r} is not a mapping; give {cls._what} as a mapping, e.g. {cls._example}"
            )
        valid = [f.alias or name for name, f in cls.model_fields.items()]
        unknown = [k for k in data if k not in valid]
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(str(key), valid, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            raise FieldError(
                f"unknown field {key!r}{guess}; valid fields here: {', '.join(valid)}",
                at=(str(key),),
            )
        required = [f.alias or name for name, f in cls.model_fields.items() if f.is_required()]
        missing = [name for name in required if name not in data]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            hint = cls._if_missing.get(missing[0], "")
            if len(missing) > 1 and cls._if_several_missing:
                hint = cls._if_several_missing
            raise FieldError(
                f"{and_list(missing)} {verb} missing; {hint}".removesuffix("; "),
                at=(missing[0],),
                about=(),
            )
        return data


def _point(name: str) -> Callable[[Any], tuple[float, float, float]]:
    """A validator for a point in metres: [x, y, z]."""

    def check(value: Any) -> tuple[float, float, float]:
        if (
            not isinstance(value, list | tuple)
            or len(value) != 3
            or any(isinstance(v, bool) or not isinstance(v, int | float) for v in value)
            or any(not math.isfinite(v) for v in value)
        ):
            raise ValueError(f"{name} {value!r} is not a point; give [x, y, z] in metres")
        return (float(value[0]), float(value[1]), float(value[2]))

    return check


def _location(name: str, relative: str) -> Callable[[Any], Any]:
    """A point, or the name of the neighbouring element whose end is the location."""
    point = _point(name)

    def check(value: Any) -> Any:
        if value == relative:
            return value
        try:
            return point(value)
        except ValueError:
            raise ValueError(
                f"{name} {value!r} is not allowed; give [x, y, z] in metres or {relative!r}"
            ) from None

    return check
