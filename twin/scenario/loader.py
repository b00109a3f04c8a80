"""Reading a scenario: YAML with line numbers, `--set` overrides, validation, flow checks."""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import yaml
from pydantic import ValidationError

from twin.errors import ScenarioError
from twin.scenario.flow import FlowError, Route, build_routes
from twin.scenario.schema import (
    ELEMENT_TYPES,
    ID_PATTERN,
    FieldError,
    Key,
    RunSettings,
    ScenarioSpec,
    and_list,
    dotted,
)
from twin.scenario.schema.checks import CaseSpec, CheckSpec
from twin.scenario.schema.control import ControlSpec
from twin.scenario.schema.elements import ElementSpec, PartTypeSpec
from twin.scenario.schema.faults import FaultError, FaultSpec, check_fault_names
from twin.scenario.settings import FAULT_SETTING, flag
from twin.scenario.tags import TagError, TagTable


def _origins(source: str, lines: dict, overridden: dict) -> Origins:
    return Origins(source, MappingProxyType(lines), MappingProxyType(overridden))


@dataclass(frozen=True)
class Origins:
    """Where each field of a scenario came from: a line of its file or a ``--set``.

    Kept with the loaded scenario, so that a problem found later — when a run is built, say a
    robot's point out of its reach — is placed exactly as the loader places its own.
    """

    source: str
    lines: Mapping[Key, int]
    overridden: Mapping[Key, str]

    def __reduce__(self):
        # Read-only views do not pickle; a scenario travels to worker processes whole.
        return (_origins, (self.source, dict(self.lines), dict(self.overridden)))

    def where(self, path: Key, about: Sequence[Key] | None = None) -> str:
        """The place to blame for a problem at ``path`` concerning the fields ``about``.

        A ``--set`` is blamed alone for problems at or below the field it set, or when the
        problem concerns nothing the file wrote. Otherwise the file's line is named, with the
        settings that took part in the problem (such as a section's rule between fields).
        """
        overridden, lines, source = self.overridden, self.lines, self.source
        for key, setting in overridden.items():
            if path[: len(key)] == key:
                return flag(setting)
        targets = [path] if about is None else list(about)
        involved = [
            setting
            for key, setting in overridden.items()
            if any(key[: len(target)] == target for target in targets)
        ]
        written = any(
            target in lines and not any(target[: len(key)] == key for key in overridden)
            for target in targets
        )
        settings = and_list([flag(s) for s in involved])
        if involved and not written:
            return settings
        place = source
        for cut in range(len(path), -1, -1):
            if path[:cut] in lines:
                place = f"{source}:{lines[path[:cut]]}"
                break
        return f"{place} (with {settings})" if involved else place

    def key(self, path: str) -> Key:
        """The key of a dotted ``path`` such as ``elements.line1.m1.capacity``: element ids
        may hold dots themselves, so the longest key the scenario knows that starts the path
        decides how it splits."""
        best: Key = ()
        for known in (*self.lines, *self.overridden):
            written = dotted(known)
            if len(known) > len(best) and (
                path == written or path.startswith((f"{written}.", f"{written}["))
            ):
                best = known
        rest = path[len(dotted(best)) :] if best else path
        tail: list[str | int] = []
        for name, index in re.findall(r"\.?([^.\[\]]+)|\[(\d+)\]", rest):
            tail.append(int(index) if index else name)
        return (*best, *tail)

    def locate(self, error: ScenarioError) -> ScenarioError:
        """``error`` placed at its field's line or ``--set`` (kept as it is if placed)."""
        if error.where:
            return error
        where = self.where(self.key(error.path)) if error.path else self.source
        return ScenarioError(error.message, path=error.path, where=where)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: what the engine runs and the run store records."""

    name: str
    run: RunSettings
    elements: dict[str, ElementSpec]
    routes: dict[str, Route]
    text: str
    source: str = "<string>"
    overrides: tuple[str, ...] = ()
    description: str | None = None
    sha256: str = field(default="")
    parts: dict[str, PartTypeSpec] = field(default_factory=dict)
    control: ControlSpec | None = None  # the control section of a controlled scenario
    tags: TagTable | None = None  # its tag table, checked as a whole against the elements
    faults: tuple[FaultSpec, ...] = ()  # injected in every replication (twin.commission)
    # Commissioning: the checks every run must pass and the named cases (twin commission);
    # their expressions are checked against the line by ``twin.load``.
    checks: tuple[CheckSpec, ...] = ()
    cases: dict[str, CaseSpec] = field(default_factory=dict)
    # What loading found worth a warning though the scenario runs (e.g. a PLC input no tag
    # feeds), one sentence each starting with its file:line. Filled in by ``twin.load``,
    # which also readies the controller (the scenario itself holds data only).
    warnings: tuple[str, ...] = ()
    origins: Origins | None = field(default=None, compare=False, repr=False)

    def locate(self, error: ScenarioError) -> ScenarioError:
        """A problem found after loading (``error.path`` names the field), placed where that
        field came from: its line in the file, or the ``--set`` that gave it."""
        if self.origins is None:
            return error.located(self.source)
        return self.origins.locate(error)

    def element_ids(self, kind: str) -> list[str]:
        return [i for i, e in self.elements.items() if e.type == kind]


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read and validate the scenario file at ``path``, applying ``--set`` style overrides."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"file not found: {path}; give the path of a scenario .yaml") from None
    except IsADirectoryError:
        inside = sorted(path.glob("*.yaml")) + sorted(path.glob("*/*.yaml"))
        example = f", e.g. {inside[0]}" if inside else ""
        raise ScenarioError(
            f"{path} is a folder, not a scenario file; give the path of a scenario .yaml{example}"
        ) from None
    except UnicodeDecodeError:
        raise ScenarioError(
            f"{path} is not a text file (not UTF-8); a scenario is a YAML text file"
        ) from None
    except OSError as exc:
        raise ScenarioError(
            f"cannot read {path}: {(exc.strerror or str(exc)).lower()}; give a readable "
            "scenario .yaml"
        ) from None
    return parse_scenario(text, source=str(path), overrides=overrides)


def parse_scenario(
    text: str, *, source: str = "<string>", overrides: Sequence[str] = ()
) -> Scenario:
    """Validate scenario ``text``; errors name ``source``, the line and the field."""
    raw, lines = _read_yaml(text, source)
    overridden = apply_overrides(raw, overrides)

    origins = Origins(source, MappingProxyType(lines), MappingProxyType(overridden))
    where = origins.where

    _precheck_elements(raw, where)
    try:
        spec = ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()]
        first = problems[0]
        message = first.message
        if len(problems) > 1:
            more = "; ".join(f"{dotted(p.key)}: {p.message}" for p in problems[1:4])
            message += f" (also {more})"
        raise ScenarioError(
            message, path=dotted(first.key), where=where(first.key, first.about)
        ) from None
    try:
        routes = build_routes(spec.elements, spec.flow)
    except FlowError as exc:
        raise ScenarioError(exc.message, path=exc.path, where=where(exc.key)) from None
    for element_id, element in spec.elements.items():
        named = getattr(element, "part", None)
        for part in [named] if isinstance(named, str) else list(named or ()):
            if part in spec.parts:
                continue
            known = ", ".join(spec.parts) or "none yet"
            key = ("elements", element_id, "part")
            raise ScenarioError(
                f"part type {part!r} is not in parts ({known}); declare it, "
                "e.g. parts: {box: {size: [0.1, 0.1, 0.1], mass: 0.5}}",
                path=dotted(key),
                where=where(key),
            )
    tags = None
    if spec.control is not None:
        try:
            tags = TagTable.from_spec(spec.control, spec.elements)
        except TagError as exc:
            raise ScenarioError(exc.message, path=dotted(exc.key), where=where(exc.key)) from None
    try:
        check_fault_names(spec.faults, spec.elements, spec.parts, tags)
    except FaultError as exc:
        raise ScenarioError(exc.message, path=dotted(exc.key), where=where(exc.key)) from None
    return Scenario(
        origins=origins,
        control=spec.control,
        tags=tags,
        faults=tuple(spec.faults),
        checks=tuple(spec.checks),
        cases=dict(spec.cases),
        parts=dict(spec.parts),
        name=spec.name,
        description=spec.description,
        run=spec.run,
        elements=dict(spec.elements),
        routes=routes,
        text=text,
        source=source,
        overrides=tuple(overrides),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


# libyaml's parser when PyYAML was built with it: 5-8x faster on big files than pure Python.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(text: str, source: str) -> tuple[dict, dict[Key, int]]:
    """The scenario's data and the line of every field, from one parse of its text."""
    try:
        node = yaml.compose(text, Loader=_YAML_LOADER)
        raw = None if node is None else yaml.constructor.SafeConstructor().construct_document(node)
    except yaml.YAMLError:
        _refuse_yaml(text, source)
    if not isinstance(raw, dict):
        raise ScenarioError(
            "a scenario is a YAML mapping with name, run, elements and flow", where=source
        )
    lines: dict[Key, int] = {}
    _index_lines(node, (), lines, source)
    return raw, lines


def _refuse_yaml(text: str, source: str) -> NoReturn:
    """Say what is wrong with text that is not YAML, as the pure-Python parser words it
    (libyaml's messages leave out the offending character)."""
    try:
        yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if "'\\t'" in problem or "tab character" in problem:
            problem += "; indent with spaces, not tabs"
        raise ScenarioError(f"not valid YAML: {problem}", where=f"{source}{line}") from None
    raise ScenarioError("not valid YAML", where=source)  # only libyaml refused it


def _index_lines(node: yaml.Node, path: Key, lines: dict[Key, int], source: str) -> None:
    """Record the line of every field, and refuse keys given twice (YAML would keep the last)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                what = "id" if path == ("elements",) else "field"
                lines_said = (
                    f"on line {line}" if seen[key] == line else f"(lines {seen[key]} and {line})"
                )
                raise ScenarioError(
                    f"{what} {key!r} is used twice {lines_said}; each {what} must be unique",
                    path=dotted(path) or key,
                    where=f"{source}:{line}",
                )
            seen[key] = line
            _index_lines(value_node, (*path, key), lines, source)
            lines[(*path, key)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*path, index), lines, source)


def apply_overrides(raw: dict, overrides: Iterable[str]) -> dict[Key, str]:
    """Apply ``elem.field=value`` settings to the raw scenario in place; returns what was set."""
    elements = raw.get("elements") if isinstance(raw.get("elements"), dict) else {}
    done: dict[Key, str] = {}
    for setting in overrides:
        if setting.startswith(FAULT_SETTING):
            done[_add_fault(raw, setting)] = setting
            continue
        name, sep, value_text = setting.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ScenarioError(
                f"{setting!r} is not a setting; write element.field=value, e.g. m1.capacity=2",
                where="--set",
            )
        try:
            value = yaml.safe_load(value_text) if value_text.strip() else None
        except yaml.YAMLError:
            raise ScenarioError(
                f"value {value_text!r} is not valid YAML", where=f"--set {setting}"
            ) from None
        key = _override_key(name, elements, setting)
        target: Any = raw
        for part in key[:-1]:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[key[-1]] = value
        done[key] = setting
    return done


def _add_fault(raw: dict, setting: str) -> Key:
    """Append the fault of a ``--fault`` to the scenario's faults; its key there."""
    text = setting.removeprefix(FAULT_SETTING)
    try:
        fault = yaml.safe_load(text)
    except yaml.YAMLError:
        fault = None
    if not isinstance(fault, dict):
        raise ScenarioError(
            f"{text!r} is not a fault; write it as a YAML mapping, as in the scenario's "
            'faults, e.g. --fault "{sensor: belt.check, stuck: true, at: 5s}"',
            where=flag(setting),
        )
    if raw.get("faults") is None:
        raw["faults"] = []
    faults = raw["faults"]
    if not isinstance(faults, list):
        return ("faults",)  # the file's own faults are not a list: the schema says so
    faults.append(fault)
    return ("faults", len(faults) - 1)


def _override_key(name: str, elements: dict, setting: str) -> Key:
    # `run.` always means the run settings; no element may be called `run` (see the precheck).
    if name == "run":
        raise ScenarioError(
            "'run' holds the run settings; set one of them, e.g. run.seed=3",
            where=f"--set {setting}",
        )
    if name.startswith("run."):
        return ("run", *name.split(".")[1:])
    # Element ids may contain dots themselves: the longest id that prefixes the name wins.
    # The full form elements.m1.capacity means the same as m1.capacity.
    ids = sorted((i for i in elements if isinstance(i, str)), key=len, reverse=True)
    for written in (name, name.removeprefix("elements.")):
        for element_id in ids:
            if written.startswith(element_id + ".") and len(written) > len(element_id) + 1:
                return ("elements", element_id, *written[len(element_id) + 1 :].split("."))
    known = ", ".join(["run", *map(str, elements)])
    raise ScenarioError(
        f"{name!r} names no element; write element.field=value with one of: {known}",
        where=f"--set {setting}",
    )


def _precheck_elements(raw: dict, where: Callable[[Key], str]) -> None:
    elements = raw.get("elements")
    if not isinstance(elements, dict):
        return  # the schema reports it with the right wording
    for element_id, element in elements.items():
        path: Key = ("elements", str(element_id))
        if not isinstance(element_id, str) or not ID_PATTERN.match(element_id):
            raise ScenarioError(
                f"{element_id!r} is not an element id; use letters, digits and _ (dots to "
                "group, e.g. line1.m1), starting with a letter",
                path="elements",
                where=where(path),
            )
        if element_id == "run" or element_id.startswith("run."):
            said = (
                "'run' is" if element_id == "run" else f"{element_id!r} starts with 'run', which is"
            )
            raise ScenarioError(
                f"{said} reserved for run settings; rename the element",
                path="elements",
                where=where(path),
            )
        if not isinstance(element, dict):
            raise ScenarioError(
                f"{element!r} is not an element; write a mapping with a type, "
                f"e.g. {{type: station, process: 50s}}; valid types: {', '.join(ELEMENT_TYPES)}",
                path=dotted(path),
                where=where(path),
            )
        kind = element.get("type")
        if kind not in ELEMENT_TYPES:
            said = f"type {kind!r} is unknown" if kind is not None else "type is missing"
            if "type" not in element:
                keys = [k for k in element if isinstance(k, str)]
                close = difflib.get_close_matches("type", keys, n=1)
                if close:
                    said += f" (is {close[0]!r} meant to be 'type'?)"
            raise ScenarioError(
                f"{said}; valid types: {', '.join(ELEMENT_TYPES)}",
                path=dotted((*path, "type")),
                where=where((*path, "type")),
            )


@dataclass(frozen=True)
class _Problem:
    """One validation error: where it lies, what to say, and which fields it concerns."""

    key: Key
    message: str
    about: list[Key] | None = None


# For values of the wrong kind: what the value is not, and how to write it instead.
_KINDS: dict[str, tuple[str, str]] = {
    "string_type": ("not text", "write text, in quotes if it looks like a number"),
    "int_type": ("not a whole number", "write a whole number, e.g. 3"),
    "int_parsing": ("not a whole number", "write a whole number, e.g. 3"),
    "int_from_float": ("not a whole number", "write a whole number, e.g. 3"),
    "float_type": ("not a number", "write a number, e.g. 0.5"),
    "float_parsing": ("not a number", "write a number, e.g. 0.5"),
    "finite_number": ("not a finite number", "write a number, e.g. 0.5"),
    "bool_type": ("not true or false", "write true or false"),
    "bool_parsing": ("not true or false", "write true or false"),
    "list_type": ("not a list", "write a list, e.g. [a, b]"),
    "dict_type": ("not a mapping", "write a mapping, e.g. {field: value}"),
    "model_type": ("not a mapping", "write a mapping, e.g. {field: value}"),
}
# Better examples than the general ones above, by the field's name.
_EXAMPLES = {
    ("list_type", "flow"): "write one entry per line starting with '- ', e.g. - feed -> m1 -> done",
    ("list_type", "to"): "write the targets as a list, e.g. to: [b1, b2]",
    ("list_type", "weights"): "write one weight per target, e.g. weights: [0.7, 0.3]",
    ("dict_type", "elements"): "write one element per line as id: {type: ...}, "
    "e.g. feed: {type: source}",
}
_FLOW_ENTRY = (
    "write a chain such as 'feed -> m1 -> done' or a branch such as {from: m1, to: [b1, b2]}"
)


def _describe(error: Any) -> _Problem:
    loc = list(error["loc"])
    # Drop the union tags pydantic puts in the location (element type, chain/branch).
    if len(loc) > 2 and loc[0] == "elements" and loc[2] in ELEMENT_TYPES:
        del loc[2]
    chain = len(loc) > 2 and loc[0] == "flow" and loc[2] == "chain"
    if len(loc) > 2 and loc[0] == "flow" and loc[2] in ("chain", "branch"):
        del loc[2]
    if len(loc) > 1 and loc[0] == "cases" and loc[1] in ("mapping", "list"):
        del loc[1]  # the tag of the written form of the cases
    key: Key = tuple(loc)
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        if cause.about is None:
            about = None
        elif cause.about:
            about = [(*key, name) for name in cause.about]
        else:
            about = [key]
        return _Problem((*key, *cause.at), cause.message, about)
    if isinstance(cause, ValueError):
        return _Problem(key, str(cause))
    kind = error["type"]
    value = error.get("input")
    field = next((str(part) for part in reversed(key) if isinstance(part, str)), "this")
    subject = f"{field} is empty" if value is None else f"{value!r} is"
    if chain:
        said = "this entry is empty" if value is None else f"{value!r} is not a flow entry"
        return _Problem(key, f"{said}; {_FLOW_ENTRY}")
    if kind == "string_type" and key[:1] == ("flow",) and ("from" in key or "to" in key):
        return _Problem(key, f"{value!r} is not an element id; write the id of an element, e.g. m1")
    if kind in _KINDS:
        not_what, fix = _KINDS[kind]
        fix = _EXAMPLES.get((kind, field), fix)
        if value is None:
            return _Problem(key, f"{subject}; {fix}")
        return _Problem(key, f"{subject} {not_what}; {fix}")
    if kind == "literal_error":
        expected = (error.get("ctx") or {}).get("expected", "")
        return _Problem(key, f"{field} {value!r} is unknown; use {expected}")
    if kind == "missing":
        return _Problem(key, f"{field} is missing")
    if kind == "extra_forbidden":
        return _Problem(key, f"{field} is not a known field")
    text = str(error["msg"]).removeprefix("Value error, ")
    if text.startswith("Input should be "):
        return _Problem(key, f"{value!r} is not allowed; it should be {text[16:]}")
    return _Problem(key, f"{value!r}: {text[:1].lower()}{text[1:]}")


def raw_scenario(text: str, *, source: str = "<string>", overrides: Sequence[str] = ()) -> dict:
    """The scenario as written, with its ``--set`` overrides applied: plain data, before any
    validation (what a recorded run was asked to run, to set runs side by side)."""
    raw, _ = _read_yaml(text, source)
    apply_overrides(raw, overrides)
    return raw
