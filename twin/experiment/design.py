"""Experimental designs over `--vary` parameters: a full factorial grid or a Latin hypercube."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

import numpy as np
import yaml

from twin.errors import ScenarioError, TwinError
from twin.scenario import parse_scenario
from twin.units import SECONDS_PER_UNIT

if TYPE_CHECKING:
    from twin.scenario import Scenario

DESIGNS = ("grid", "lhs")
# Mixed into the scenario's seed for the hypercube's own stream, apart from every replication's.
LHS_STREAM = 0x4C4853  # "LHS"
# Run settings a sweep may not vary: every variant runs on the same seed and replications,
# which is what makes them comparable pair by pair (common random numbers).
FIXED_SETTINGS = {
    "run.seed": "--seed",
    "run.replications": "--replications",
}

FORMS = (
    "a range lo..hi (whole numbers, e.g. b1.capacity=0..10), a range with a step "
    "(b1.capacity=0..10:2, m1.process.exponential=40s..60s:5s) or a list "
    "(m2.capacity=1,2); a range of decimals or durations without a step "
    "(m1.process.exponential=40s..60s) is for --design lhs"
)
_NUMBER = re.compile(r"^([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)([a-z]*)$")


@dataclass(frozen=True)
class Level:
    """One end of a range, or a step: a number and the unit it was written in (``50s``)."""

    number: float
    unit: str  # "" for a plain number
    integer: bool  # written as a whole number without a unit

    def text(self, number: float | None = None) -> str:
        return _written(self.number if number is None else number, self.unit)


@dataclass(frozen=True)
class Parameter:
    """One ``--vary`` spec: the setting it varies and the values it may take.

    A list gives ``values``; a range gives ``low`` and ``high`` (inclusive) and, with a
    step, ``values`` too. Values are what the setting is given: whole numbers stay ``int``,
    durations keep their unit (``"55s"``), listed values are YAML (``{exponential: 40s}``).
    """

    spec: str
    key: str
    values: tuple[object, ...] | None = None
    low: Level | None = None
    high: Level | None = None

    @property
    def is_range(self) -> bool:
        return self.low is not None

    @property
    def integer(self) -> bool:
        """A range of whole numbers: every value in it can be run on a grid."""
        return self.low is not None and self.low.integer and self.high.integer

    def grid_values(self) -> tuple[object, ...]:
        """Every value a grid runs: the list, the stepped range, or each whole number."""
        if self.values is not None:
            return self.values
        if self.integer:
            return tuple(range(int(self.low.number), int(self.high.number) + 1))
        raise ScenarioError(
            f"{self.spec!r} is a range of {'durations' if self.low.unit else 'decimals'} "
            f"without a step: a grid needs the values to run; give a step, e.g. "
            f"{self.key}={self.low.text()}..{self.high.text()}:"
            f"{self.low.text((self.high.number - self.low.number) / 4)}, or sample the "
            "range with --design lhs --samples N",
            where="--vary",
        )


def parse_vary(spec: str) -> Parameter:
    """The parameter a ``--vary`` spec describes; a ``ScenarioError`` naming the spec and
    the forms that are valid if it describes none."""
    key, sep, values_text = spec.partition("=")
    key, values_text = key.strip(), values_text.strip()
    if not sep or not key:
        _refuse(spec, "is not a parameter to vary; write setting=values with")
    if key in FIXED_SETTINGS:
        flag = FIXED_SETTINGS[key]
        raise ScenarioError(
            f"{spec!r}: every variant of a sweep runs on the same {key.removeprefix('run.')} "
            f"(common random numbers, compared pair by pair); set it for all of them with "
            f"{flag}, and vary a field of the line instead",
            where="--vary",
        )
    if not values_text:
        _refuse(spec, "gives no values; give")
    pieces = _split_top_level(values_text)
    if len(pieces) > 1:
        return Parameter(spec, key, values=tuple(_listed(spec, piece) for piece in pieces))
    if ".." in values_text and not values_text.startswith(("{", "[")):
        return _range(spec, key, values_text)
    raise ScenarioError(
        f"{spec!r} varies nothing (one value); give {FORMS} — to fix a value for every "
        f"variant, use --set {spec}",
        where="--vary",
    )


def _range(spec: str, key: str, text: str) -> Parameter:
    bounds, colon, step_text = text.partition(":")
    low_text, _, high_text = bounds.partition("..")
    low, high = _level(spec, low_text), _level(spec, high_text)
    if low.unit != high.unit:  # 30s..2min: both in seconds
        low, high = _in_seconds(low), _in_seconds(high)
    if high.number < low.number:
        raise ScenarioError(
            f"{spec!r} is an empty range: {high_text.strip()} is below {low_text.strip()}; "
            f"write the lower end first, e.g. {key}={high_text.strip()}..{low_text.strip()}",
            where="--vary",
        )
    if not colon:
        return Parameter(spec, key, low=low, high=high)
    step = _level(spec, step_text)
    if step.unit != low.unit:
        step = _in_unit(spec, step, low.unit)
    if not step.number > 0:
        raise ScenarioError(
            f"{spec!r}: step {step_text.strip()} is not allowed; a step is greater than 0, "
            f"e.g. {key}={bounds}:1",
            where="--vary",
        )
    count = math.floor((high.number - low.number) / step.number + 1e-9) + 1
    whole = low.integer and step.integer
    numbers = [low.number + i * step.number for i in range(count)]
    values = tuple(int(n) if whole else low.text(n) if low.unit else _tidy(n) for n in numbers)
    return Parameter(spec, key, values=values, low=low, high=high)


def _level(spec: str, text: str) -> Level:
    text = text.strip()
    match = _NUMBER.match(text)
    if match is None or (match.group(2) and match.group(2) not in SECONDS_PER_UNIT):
        said = f"{text!r} is not a number" if text else "an end of the range is missing"
        _refuse(spec, f"cannot be varied: {said}; give")
    number_text, unit = match.groups()
    integer = not unit and re.fullmatch(r"[-+]?[0-9]+", number_text) is not None
    return Level(float(number_text), unit, integer)


def _in_seconds(level: Level) -> Level:
    return Level(level.number * SECONDS_PER_UNIT.get(level.unit, 1.0), "s", False)


def _in_unit(spec: str, level: Level, unit: str) -> Level:
    if not level.unit:  # a bare step counts in the unit of the range
        return Level(level.number, unit, level.integer)
    if not unit:
        raise ScenarioError(
            f"{spec!r}: the step has a unit ({level.text()}) but the range has none; "
            "write both as durations or neither",
            where="--vary",
        )
    seconds = level.number * SECONDS_PER_UNIT[level.unit]
    return Level(seconds / SECONDS_PER_UNIT[unit], unit, False)


def _listed(spec: str, text: str) -> object:
    text = text.strip()
    if not text:
        _refuse(spec, "has an empty value in its list; give")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        _refuse(spec, f"cannot be varied: {text!r} is not a value (YAML); give")


def _split_top_level(text: str) -> list[str]:
    """``1,2`` → two values; commas inside ``{...}`` or ``[...]`` belong to the value."""
    pieces, depth, current = [], 0, []
    for char in text:
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        if char == "," and depth == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def _refuse(spec: str, said: str) -> NoReturn:
    raise ScenarioError(f"{spec!r} {said} {FORMS}", where="--vary")


def _tidy(number: float) -> float:
    """``0.30000000000000004`` → ``0.3``: the steps of a range as the user would write them."""
    return float(f"{number:.12g}")


def _written(number: float, unit: str) -> str:
    return f"{_tidy(number):g}{unit}"


# --- designs ----------------------------------------------------------------------------------


def check_distinct(parameters: Sequence[Parameter]) -> None:
    """A setting varied twice would be two answers to one question."""
    seen: dict[str, str] = {}
    for parameter in parameters:
        if parameter.key in seen:
            raise ScenarioError(
                f"{parameter.key} is varied twice ({seen[parameter.key]!r} and "
                f"{parameter.spec!r}); give one --vary per setting",
                where="--vary",
            )
        seen[parameter.key] = parameter.spec


def grid(parameters: Sequence[Parameter]) -> list[dict[str, object]]:
    """Every combination of the parameters' values (full factorial), the first parameter
    varying slowest, each parameter's values in the order given."""
    check_distinct(parameters)
    keys = [p.key for p in parameters]
    levels = [p.grid_values() for p in parameters]
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*levels)]


def latin_hypercube(
    parameters: Sequence[Parameter], samples: int, seed: int
) -> list[dict[str, object]]:
    """``samples`` variants on a Latin hypercube (McKay, Beckman & Conover, 1979): each
    parameter's range is cut into ``samples`` strata of equal width and every stratum is
    sampled once, the strata of the parameters paired at random.

    Deterministic for a seed (the scenario's). A continuous range gives values in its
    unit, rounded to two digits finer than a stratum; a range of whole numbers gives whole
    numbers and a list one of its values, each equally likely. A sample that repeats an
    earlier one (possible with whole numbers and lists) is left out: under common random
    numbers it would only repeat its results.
    """
    check_distinct(parameters)
    if samples < 1:
        raise TwinError(f"--samples {samples} is not allowed; give 1 or more, e.g. --samples 20")
    rng = np.random.default_rng(np.random.SeedSequence([seed, LHS_STREAM]))
    columns = []
    for parameter in parameters:
        strata = rng.permutation(samples)
        positions = (strata + rng.random(samples)) / samples  # in [0, 1)
        columns.append([_at(parameter, float(u), samples) for u in positions])
    variants: list[dict[str, object]] = []
    for values in zip(*columns, strict=True):
        variant = dict(zip((p.key for p in parameters), values, strict=True))
        if variant not in variants:
            variants.append(variant)
    return variants


def _at(parameter: Parameter, u: float, samples: int) -> object:
    """The parameter's value at ``u`` in [0, 1) of its range."""
    if parameter.values is not None or parameter.integer:
        values = parameter.grid_values()
        return values[min(int(u * len(values)), len(values) - 1)]
    low, high = parameter.low.number, parameter.high.number
    number = low
    stratum = (high - low) / samples
    if stratum > 0:
        number = round(low + u * (high - low), max(2 - math.floor(math.log10(stratum)), 0))
    return parameter.low.text(number) if parameter.low.unit else _tidy(number)


def design(
    parameters: Sequence[Parameter], kind: str = "grid", samples: int | None = None, seed: int = 0
) -> list[dict[str, object]]:
    """The variants of a design named as on the command line: ``grid`` or ``lhs``."""
    if not parameters:
        raise TwinError(
            "a sweep needs a parameter to vary; give --vary, e.g. --vary b1.capacity=0..10"
        )
    if kind == "grid":
        if samples is not None:
            raise TwinError(
                f"--samples {samples} goes with --design lhs; a grid runs every combination "
                "of the values (leave --samples out, or add --design lhs)"
            )
        return grid(parameters)
    if kind == "lhs":
        if samples is None:
            raise TwinError("--design lhs needs --samples N, the number of variants, e.g. 20")
        return latin_hypercube(parameters, samples, seed)
    raise TwinError(f"--design {kind!r} is unknown; use {' or '.join(DESIGNS)}")


def setting(key: str, value: object) -> str:
    """The ``--set`` text that gives ``key`` the ``value`` (YAML flow for a mapping)."""
    if isinstance(value, bool):
        return f"{key}={'true' if value else 'false'}"
    if isinstance(value, dict | list):
        return f"{key}={yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()}"
    return f"{key}={value}"


def label(parameters: dict[str, object]) -> str:
    """``b1.capacity=3 m2.capacity=1``: how a variant is named in tables and the store."""
    return " ".join(setting(key, value) for key, value in parameters.items())


def check_against(scenario: Scenario, parameters: Sequence[Parameter]) -> None:
    """Each parameter names a field of ``scenario`` and its extreme values load: a typo or
    a value out of bounds is told now, named by its ``--vary``, before anything runs."""
    for parameter in parameters:
        values = parameter.values
        if values is None:
            ends = (parameter.low, parameter.high)
            values = tuple(
                int(end.number) if parameter.integer else end.text() if end.unit else end.number
                for end in ends
            )
        for value in values:
            given = setting(parameter.key, value)
            try:
                parse_scenario(
                    scenario.text, source=scenario.source, overrides=[*scenario.overrides, given]
                )
            except ScenarioError as error:
                where = error.where.replace(f"--set {given}", f"--vary {parameter.spec}")
                raise ScenarioError(error.message, path=error.path, where=where) from None
