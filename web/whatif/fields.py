"""A run's scenario as the what-if form's fields, each one `--set` away, and the form's
changes back into `--set` overrides."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from twin.errors import ScenarioError
from twin.scenario.loader import raw_scenario
from twin.scenario.schema.elements import (
    PusherSpec,
    RobotSpec,
    Setup,
    SourceSpec,
    StationSpec,
)
from twin.scenario.schema.run import RunSettings

RUN = "run"  # the group of the run settings (no element may be called run)
DURATION = "s"  # seconds, or a number with its unit: 90s, 5min, 2h
DIST = "distribution"  # a duration that may be random: a constant, or one field per parameter

# The run settings a what-if changes: (name in the file, label, unit).
RUN_SETTINGS = (
    ("horizon", "horizon", DURATION),
    ("warmup", "warm-up", DURATION),
    ("replications", "replications", ""),
    ("seed", "seed", ""),
)
# Per element type, the parameters a what-if changes: (name in the file, label, unit or DIST).
# Placement (base, start, yaw), part types and panels are layout, not what-if questions.
PARAMETERS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "source": (("interarrival", "interarrival time", DIST), ("limit", "limit", "parts")),
    "station": (("process", "process time", DIST), ("capacity", "capacity", "parts")),
    "buffer": (("capacity", "capacity", "parts"),),
    "conveyor": (
        ("length", "length", "m"),
        ("speed", "speed", "m/s"),
        ("capacity", "capacity", "parts"),
    ),
    "robot": (("cycle", "cycle time", DIST), ("joint_speed", "joint speed", "rad/s")),
    "pusher": (
        ("at", "place on the belt", "m"),
        ("stroke", "stroke", "m"),
        ("speed", "speed", "m/s"),
    ),
}
WITH_FAILURES = ("station", "robot")
# Where a type's defaults come from: the scenario models, so that the form shows what runs.
MODELS: dict[str, type[BaseModel]] = {
    "source": SourceSpec,
    "station": StationSpec,
    "robot": RobotSpec,
    "pusher": PusherSpec,
}
# What an optional parameter left out means, shown in its empty field.
BLANK = {
    "interarrival": "none: saturated",
    "limit": "no limit",
    "cycle": "from physics",
    "setup": "no setup",
    "failures": "no failures",
    "horizon": "none: ends on its part count",
}


@dataclass(frozen=True)
class FormField:
    """One value of the form: where it sits, what it is called and how it is set."""

    group: str  # "run", or the id of the element it belongs to
    kind: str  # "run settings", or the element's type
    path: str  # as `--set` takes it: b1.capacity, m1.process.exponential, run.horizon
    label: str  # "process time (exponential mean)"
    value: str  # the current value as YAML text; "" for an optional one left out
    unit: str  # DURATION, parts, m, m/s, rad/s; "" for a plain number
    blank: str = ""  # what an empty value means

    @property
    def key(self) -> str:
        """The field as error messages name it: ``elements.b1.capacity``, ``run.seed``."""
        return self.path if self.group == RUN else f"elements.{self.path}"


def form_fields(
    text: str, *, source: str = "<string>", overrides: Sequence[str] = ()
) -> list[FormField]:
    """The fields of the scenario ``text`` with its ``overrides`` (a run's effective
    scenario): the run settings, then every element's parameters in the file's order."""
    raw = raw_scenario(text, source=source, overrides=overrides)
    run = raw.get("run") if isinstance(raw.get("run"), dict) else {}
    fields = [
        _plain(RUN, "run settings", f"run.{name}", label, _given(run, name, RunSettings), unit)
        for name, label, unit in RUN_SETTINGS
    ]
    elements = raw.get("elements") if isinstance(raw.get("elements"), dict) else {}
    for element_id, element in elements.items():
        if isinstance(element, dict):
            fields += _element_fields(str(element_id), element)
    return fields


def overrides(fields: Sequence[FormField], changes: Mapping[str, str | None]) -> list[str]:
    """The ``--set`` overrides that turn ``fields`` into the form's ``changes`` (field path →
    text as typed), in the form's order: only the values that differ; an emptied value sets
    nothing (an optional parameter left out)."""
    known = {f.path for f in fields}
    unknown = [path for path in changes if path not in known]
    if unknown:
        raise ValueError(
            f"{unknown[0]!r} is not a field of this scenario; "
            f"use one of: {', '.join(sorted(known))}"
        )
    found = []
    for f in fields:
        if f.path not in changes:
            continue
        typed = (changes[f.path] or "").strip()
        if typed != f.value:
            found.append(f"{f.path}={typed}")
    return found


def blame(fields: Sequence[FormField], error: ScenarioError, settings: Sequence[str]) -> str | None:
    """The path of the field ``error`` is about, or ``None`` when it is about none of them
    (a robot's point out of reach): the ``--set`` among ``settings`` its place names, else
    the field its dotted path names or holds."""
    paths = [f.path for f in fields]
    # The loader names the `--set` to blame ("--set b1.capacity=-1", "(with --set ...)").
    for setting in reversed(settings):  # the form's changes come last: they are the suspects
        name = setting.partition("=")[0].strip().removeprefix("elements.")
        if name in paths and _names(error.where, setting):
            return name
    target = error.path
    if not target:
        return None
    for f in fields:
        if f.key == target:
            return f.path
    # An error about a whole distribution (elements.m1.process) or section (run): the one
    # field under it, or the one of them that was set.
    below = [f.path for f in fields if f.key.startswith(f"{target}.")]
    set_names = {s.partition("=")[0].strip().removeprefix("elements.") for s in settings}
    suspects = [p for p in below if p in set_names] or below
    if len(suspects) == 1:
        return suspects[0]
    # An error inside a field's value (a list of a uniform distribution): that field.
    above = [f for f in fields if target.startswith(f"{f.key}.") or target.startswith(f"{f.key}[")]
    return max(above, key=lambda f: len(f.key)).path if above else None


def text_of(value: Any) -> str:
    """A value as YAML text that reads back as the same value (``50s``, ``3``, ``0.25``,
    ``[9s, 13s]``, ``inf``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, list | tuple):
        return f"[{', '.join(text_of(v) for v in value)}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {text_of(v)}" for k, v in value.items()) + "}"
    return str(value).strip()


def _names(where: str, setting: str) -> bool:
    """Whether a place such as ``file:3 (with --set a=1 and --set b=2)`` names ``setting``
    itself (not one that merely starts like it, such as b=20)."""
    token = f"--set {setting}"
    return where.endswith(token) or any(f"{token}{tail}" in where for tail in (")", ",", " and "))


def _element_fields(element_id: str, element: dict) -> list[FormField]:
    kind = str(element.get("type"))
    fields: list[FormField] = []
    for name, label, unit in PARAMETERS.get(kind, ()):
        path = f"{element_id}.{name}"
        value = _given(element, name, MODELS.get(kind))
        if unit == DIST:
            fields += _distribution(element_id, kind, path, label, value, BLANK.get(name, ""))
        else:
            fields.append(_plain(element_id, kind, path, label, value, unit))
    if kind == "station":
        fields += _setup(element_id, kind, element.get("setup"))
    if kind in WITH_FAILURES:
        failures = element.get("failures") if isinstance(element.get("failures"), dict) else {}
        for name, label in (("mtbf", "MTBF"), ("mttr", "MTTR")):
            path = f"{element_id}.failures.{name}"
            fields += _distribution(
                element_id, kind, path, label, failures.get(name), BLANK["failures"]
            )
    return fields


def _setup(element_id: str, kind: str, setup: Any) -> list[FormField]:
    path = f"{element_id}.setup"
    # `setup: 30s` (or a distribution) is the short form of {time: 30s, every: 1}.
    if not (isinstance(setup, dict) and setup.keys() & {"time", "every"}):
        return _distribution(element_id, kind, path, "setup time", setup, BLANK["setup"])
    every = _given(setup, "every", Setup)
    return [
        *_distribution(element_id, kind, f"{path}.time", "setup time", setup.get("time"), ""),
        _plain(element_id, kind, f"{path}.every", "setup every", every, "parts"),
    ]


def _distribution(
    group: str, kind: str, path: str, label: str, value: Any, blank: str
) -> list[FormField]:
    """One field per parameter of a distribution written as ``{name: parameters}``; one
    field for a constant (or a parameter left out); lists stay whole (`--set` cannot
    address an item of a list)."""
    if isinstance(value, dict) and len(value) == 1:
        ((name, parameters),) = value.items()
        if isinstance(parameters, dict):  # normal, lognormal: {mean, sd}; erlang: {mean, k}
            return [
                FormField(
                    group,
                    kind,
                    f"{path}.{name}.{parameter}",
                    f"{label} ({name} {parameter})",
                    text_of(given),
                    "" if parameter == "k" else DURATION,  # erlang's k counts phases
                )
                for parameter, given in parameters.items()
            ]
        said = "exponential mean" if name == "exponential" else name
        return [
            FormField(
                group, kind, f"{path}.{name}", f"{label} ({said})", text_of(parameters), DURATION
            )
        ]
    return [FormField(group, kind, path, label, text_of(value), DURATION, blank)]


def _plain(group: str, kind: str, path: str, label: str, value: Any, unit: str) -> FormField:
    name = path.rsplit(".", 1)[-1]
    return FormField(group, kind, path, label, text_of(value), unit, BLANK.get(name, ""))


def _given(section: dict, name: str, model: type[BaseModel] | None) -> Any:
    """The value the file gives ``name``, or the model's default for it (``None`` if none)."""
    if name in section:
        return section[name]
    if model is None:
        return None
    for attribute, info in model.model_fields.items():
        if name in (attribute, info.alias):
            return None if info.is_required() else info.default
    return None
