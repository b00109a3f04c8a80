"""Faults to inject into a run: what goes wrong, where, and when (a time or a rate)."""

from __future__ import annotations

import difflib
import json
import math
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, model_validator

from twin.errors import TwinError
from twin.scenario.schema.fields import Duration, FieldError, Key, _Strict, and_list
from twin.units import SECONDS_PER_UNIT, format_duration

if TYPE_CHECKING:
    from twin.scenario.tags import TagTable

# What a fault acts on, one of these per fault; the value names the tag or element.
KINDS = ("sensor", "actuator", "breakdown", "jam", "wrong_part", "estop", "controller_lost")
# The element type each element-level fault takes.
ELEMENT_KIND = {"breakdown": "station", "jam": "conveyor", "wrong_part": "source", "estop": "panel"}
# What a sensor or an actuator fault does: exactly one of these.
SENSOR_MODES = ("stuck", "flicker", "delay")
ACTUATOR_MODES = ("stuck", "not_responding")
MODES = ("stuck", "flicker", "delay", "not_responding", "type")

EXAMPLES = (
    "{sensor: belt.check, stuck: true, at: 5s, for: 2s}, {actuator: push.extend, "
    "not_responding: true, at: 10s}, {breakdown: m1, at: 1h, for: 10min}, {jam: belt, at: 20s, "
    "for: 5s}, {wrong_part: feed, type: tall, at: 12s}, {estop: panel, at: 15s, for: 2s}, "
    "{controller_lost: true, at: 5s, for: 1s}"
)


def _rate_per_s(value: Any) -> float:
    """A rate such as ``1/h`` or ``3/min``, in occurrences per second."""
    if isinstance(value, str) and "/" in value:
        count_text, _, unit = value.partition("/")
        unit = unit.strip()
        try:
            count = float(count_text)
        except ValueError:
            count = math.nan
        if unit in SECONDS_PER_UNIT and math.isfinite(count) and count > 0:
            return count / SECONDS_PER_UNIT[unit]
    raise ValueError(
        f"rate {value!r} is not allowed; write occurrences per unit of time, more than 0, "
        f"e.g. rate: 1/h or rate: 2/min (units: {', '.join(SECONDS_PER_UNIT)})"
    )


Rate = Annotated[float, BeforeValidator(_rate_per_s)]


class FaultSpec(_Strict):
    """One fault: its kind (the key that names its target), what it does, and when — ``at`` a
    time, or at random with ``rate`` (exponential times between occurrences) — and for how
    long (``for``; without it a timed fault lasts to the end of the run)."""

    sensor: str | None = None
    actuator: str | None = None
    breakdown: str | None = None
    jam: str | None = None
    wrong_part: str | None = None
    estop: str | None = None
    controller_lost: bool | None = None
    stuck: bool | int | float | None = None
    flicker_s: Duration | None = Field(default=None, alias="flicker")
    delay_s: Duration | None = Field(default=None, alias="delay")
    not_responding: bool | None = None
    part_type: str | None = Field(default=None, alias="type")
    at_s: Duration | None = Field(default=None, alias="at")
    for_s: Duration | None = Field(default=None, alias="for")
    rate_per_s: Rate | None = Field(default=None, alias="rate")

    _what: ClassVar[str] = "a fault"
    _example: ClassVar[str] = "{sensor: belt.check, stuck: true, at: 5s, for: 2s}"

    @model_validator(mode="after")
    def _one_fault(self) -> FaultSpec:
        kinds = [k for k in KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            said = "names no target" if not kinds else f"names {and_list(kinds)} at once"
            raise FieldError(
                f"a fault {said}; give one of {', '.join(KINDS)}, e.g. {EXAMPLES}", about=()
            )
        kind = kinds[0]
        if kind == "controller_lost" and self.controller_lost is not True:
            raise FieldError("write controller_lost: true", at=("controller_lost",))
        modes = [m for m in MODES if getattr(self, _FIELD[m]) is not None]
        wanted = {"sensor": SENSOR_MODES, "actuator": ACTUATOR_MODES}.get(kind, ())
        if kind == "wrong_part":
            wanted = ("type",)
        foreign = [m for m in modes if m not in wanted]
        if foreign:
            allowed = f"only {' or '.join(wanted)}" if wanted else "none of " + ", ".join(MODES)
            raise FieldError(
                f"{foreign[0]} does not go with a {kind} fault; it takes {allowed}",
                at=(foreign[0],),
            )
        if wanted and len(modes) != 1:
            said = "says not what goes wrong" if not modes else f"gives {and_list(modes)}"
            example = _KIND_EXAMPLES[kind]
            raise FieldError(
                f"a {kind} fault {said}; give one of {', '.join(wanted)}, e.g. {example}",
                about=(),
            )
        if self.not_responding is False:
            raise FieldError("write not_responding: true", at=("not_responding",))
        for name in ("flicker_s", "delay_s", "for_s"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                field = name.removesuffix("_s")
                raise FieldError(f"{field} 0 is not allowed; give a time over 0", at=(field,))
        if (self.at_s is None) == (self.rate_per_s is None):
            said = "gives both at and rate" if self.at_s is not None else "says not when"
            raise FieldError(
                f"a fault {said}; give at (e.g. at: 5s) or rate (e.g. rate: 1/h)", about=()
            )
        if kind == "wrong_part" and self.for_s is not None:
            raise FieldError(
                "a wrong part has no duration: it is the next part made; leave out for",
                at=("for",),
            )
        needs_for = kind in ("breakdown", "jam") or (self.rate_per_s is not None)
        if needs_for and kind != "wrong_part" and self.for_s is None:
            why = "a fault at a rate" if self.rate_per_s is not None else f"a {kind}"
            raise FieldError(
                f"{why} needs a duration; give for, e.g. for: 10min", at=("for",), about=()
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)

    @property
    def target(self) -> str:
        """The tag or element it acts on (``control`` for a lost controller)."""
        return "control" if self.kind == "controller_lost" else getattr(self, self.kind)

    @property
    def mode(self) -> str | None:
        """What a sensor or actuator fault does: stuck, flicker, delay or not_responding."""
        return next((m for m in MODES[:4] if getattr(self, _FIELD[m]) is not None), None)

    def describe(self) -> str:
        """The fault in words, as its events say: ``belt.check stuck at TRUE``."""
        kind, target = self.kind, self.target
        if kind in ("sensor", "actuator"):
            mode = self.mode
            if mode == "stuck":
                return f"{target} stuck at {_value_text(self.stuck)}"
            if mode == "flicker":
                return f"{target} flickering every {format_duration(self.flicker_s)}"
            if mode == "delay":
                return f"{target} delayed by {format_duration(self.delay_s)}"
            return f"{target} not responding"
        return {
            "breakdown": f"{target} broken down",
            "jam": f"{target} jammed",
            "wrong_part": f"{target} makes a part of type {self.part_type}",
            "estop": f"{target} e-stop pressed",
            "controller_lost": "controller communication lost",
        }[kind]

    def written(self) -> str:
        """The fault as a YAML flow mapping, the form ``--fault`` takes."""
        data = self.model_dump(by_alias=True, exclude_none=True)
        for name in ("flicker", "delay", "at", "for"):
            if name in data:
                data[name] = format_duration(data[name]).replace(" ", "")
        if "rate" in data:
            data["rate"] = f"{data['rate'] * 3600:.12g}/h"
        return "{" + ", ".join(f"{k}: {_yaml_value(v)}" for k, v in data.items()) + "}"

    def key(self) -> str:
        """A stable text naming this fault (its own random stream is keyed by it)."""
        return json.dumps(self.model_dump(by_alias=True, exclude_none=True), sort_keys=True)


_FIELD = {m: m for m in MODES} | {"flicker": "flicker_s", "delay": "delay_s", "type": "part_type"}
_KIND_EXAMPLES = {
    "sensor": "{sensor: belt.check, stuck: true, at: 5s} or {sensor: belt.check, "
    "flicker: 200ms, at: 3s, for: 5s} or {sensor: belt.check, delay: 300ms, at: 0s}",
    "actuator": "{actuator: push.extend, stuck: false, at: 10s} or "
    "{actuator: push.extend, not_responding: true, at: 10s, for: 5s}",
    "wrong_part": "{wrong_part: feed, type: tall, at: 12s}",
}


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


class FaultError(TwinError):
    """A fault that names what the scenario does not have; ``key`` is its place."""

    def __init__(self, message: str, key: Key) -> None:
        self.message = message
        self.key = key
        super().__init__(message)


def check_fault_names(
    faults: list[FaultSpec],
    elements: dict,
    parts: dict,
    tags: TagTable | None,
    at: Key = ("faults",),
) -> None:
    """Every fault names what the scenario has: a sensor or actuator tag of its table, an
    element of the right type (a panel with an e-stop), a declared part type. ``at`` is the
    place of the list in the file (``("cases", 2, "faults")`` for a case's faults)."""
    for index, fault in enumerate(faults):
        kind, target = fault.kind, fault.target
        key = (*at, index, kind)
        if kind in ("sensor", "actuator", "controller_lost"):
            if tags is None:
                raise FaultError(
                    f"a {kind.replace('_', ' ')} fault acts between the plant and its "
                    "controller, and this scenario has no control section; add one "
                    "(control: {plc: ..., tags: {...}}) or remove the fault",
                    key,
                )
            if kind == "controller_lost":
                continue
            names = [t.name for t in (tags.sensors if kind == "sensor" else tags.actuators)]
            if target not in names:
                tag = tags.by_name.get(target)
                said = f"{target!r} is not {'a sensor' if kind == 'sensor' else 'an actuator'} tag"
                if tag is not None:
                    said += f" (it is {'a sensor' if tag.is_sensor else 'an actuator'})"
                raise FaultError(f"{said}; {_choose(target, names, f'{kind} tags')}", key)
            tag = tags.by_name[target]
            if fault.stuck is not None:
                _check_stuck(fault.stuck, tag.type, target, (*at, index, "stuck"))
            if fault.flicker_s is not None and tag.type != "bool":
                raise FaultError(
                    f"{target} is a {tag.type} tag; only a bool sensor flickers",
                    (*at, index, "flicker"),
                )
            continue
        wanted = ELEMENT_KIND[kind]
        spec = elements.get(target)
        if spec is None or spec.type != wanted:
            names = [i for i, e in elements.items() if e.type == wanted]
            said = f"{target!r} is not a {wanted}"
            if spec is not None:
                said += f" (it is a {spec.type})"
            raise FaultError(f"{said}; {_choose(target, names, wanted + 's')}", key)
        if kind == "estop" and not spec.estop:
            raise FaultError(
                f"panel {target!r} has no e-stop; give it estop: true, or name a panel that has",
                key,
            )
        if kind == "wrong_part" and fault.part_type not in parts:
            raise FaultError(
                f"part type {fault.part_type!r} is not in parts; "
                f"{_choose(fault.part_type, list(parts), 'part types')}",
                (*at, index, "type"),
            )


def _choose(name: str, names: list[str], what: str) -> str:
    if not names:
        return f"the scenario has no {what}"
    close = difflib.get_close_matches(str(name), names, n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return f"{guess}{what}: {', '.join(names)}"


def _check_stuck(value: Any, tag_type: str, name: str, key: Key) -> None:
    if tag_type == "bool":
        if isinstance(value, bool) or value in (0, 1):
            return
        raise FaultError(f"{name} is a bool tag; stuck takes true or false (or 0, 1)", key)
    if isinstance(value, bool):
        raise FaultError(f"{name} is a {tag_type} tag; stuck takes a number, e.g. stuck: 0", key)
    if tag_type != "float32" and value != int(value):
        raise FaultError(f"{name} is a {tag_type} tag; stuck takes a whole number", key)


def stuck_value(fault: FaultSpec, tag_type: str) -> bool | int | float:
    """The value a stuck tag holds, in the tag's type."""
    if tag_type == "bool":
        return bool(fault.stuck)
    return float(fault.stuck) if tag_type == "float32" else int(fault.stuck)
