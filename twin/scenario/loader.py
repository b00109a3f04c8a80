"""Reading a scenario: YAML with line numbers, `--set` overrides, validation, flow checks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from twin.errors import ScenarioError
from twin.scenario.flow import Route, build_routes
from twin.scenario.schema import ELEMENT_TYPES, ID_PATTERN, RunSettings, ScenarioSpec

Key = tuple[str | int, ...]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: what the engine runs and the run store records."""

    name: str
    run: RunSettings
    elements: dict[str, Any]
    routes: dict[str, Route]
    text: str
    source: str = "<string>"
    overrides: tuple[str, ...] = ()
    description: str | None = None
    sha256: str = field(default="")

    def element_ids(self, kind: str) -> list[str]:
        return [i for i, e in self.elements.items() if e.type == kind]


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read and validate the scenario file at ``path``, applying ``--set`` style overrides."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"file not found: {path}; give the path of a scenario .yaml") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read {path}: {exc}") from None
    return parse_scenario(text, source=str(path), overrides=overrides)


def parse_scenario(
    text: str, *, source: str = "<string>", overrides: Sequence[str] = ()
) -> Scenario:
    """Validate scenario ``text``; errors name ``source``, the line and the field."""
    raw, lines = _read_yaml(text, source)
    overridden = apply_overrides(raw, overrides)

    def where(path: Key) -> str:
        for key, setting in overridden.items():
            if path[: len(key)] == key or key[: len(path)] == path:
                return f"--set {setting}"
        for cut in range(len(path), -1, -1):
            if path[:cut] in lines:
                return f"{source}:{lines[path[:cut]]}"
        return source

    _precheck_elements(raw, where)
    try:
        spec = ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()]
        first_path, first_message = problems[0]
        message = first_message
        if len(problems) > 1:
            more = "; ".join(f"{_dotted(p)}: {m}" for p, m in problems[1:4])
            message += f" (also {more})"
        raise ScenarioError(message, path=_dotted(first_path), where=where(first_path)) from None
    try:
        routes = build_routes(spec.elements, spec.flow)
    except ScenarioError as exc:
        key = _key(exc.path)
        raise exc.located(where(key)) from None
    return Scenario(
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


def _read_yaml(text: str, source: str) -> tuple[dict, dict[Key, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"not valid YAML: {problem}", where=f"{source}{line}") from None
    if not isinstance(raw, dict):
        raise ScenarioError(
            "a scenario is a YAML mapping with name, run, elements and flow", where=source
        )
    lines: dict[Key, int] = {}
    _index_lines(node, (), lines, source)
    return raw, lines


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
                raise ScenarioError(
                    f"{what} {key!r} is used twice (lines {seen[key]} and {line}); "
                    f"each {what} must be unique",
                    path=_dotted(path) or key,
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


def _override_key(name: str, elements: dict, setting: str) -> Key:
    if name.startswith("run."):
        return ("run", *name.split(".")[1:])
    # Element ids may contain dots themselves: the longest id that prefixes the name wins.
    for element_id in sorted(elements, key=len, reverse=True):
        if name.startswith(element_id + ".") and len(name) > len(element_id) + 1:
            return ("elements", element_id, *name[len(element_id) + 1 :].split("."))
    known = ", ".join(["run", *elements])
    raise ScenarioError(
        f"{name!r} names no element; write element.field=value with one of: {known}",
        where=f"--set {setting}",
    )


def _precheck_elements(raw: dict, where) -> None:
    elements = raw.get("elements")
    if not isinstance(elements, dict):
        return  # the schema reports it with the right wording
    for element_id, element in elements.items():
        path: Key = ("elements", element_id)
        if not isinstance(element_id, str) or not ID_PATTERN.match(element_id):
            raise ScenarioError(
                f"{element_id!r} is not an element id; use letters, digits and _ (dots to "
                "group, e.g. line1.m1), starting with a letter",
                path="elements",
                where=where(path),
            )
        kind = element.get("type") if isinstance(element, dict) else None
        if kind not in ELEMENT_TYPES:
            said = f"type {kind!r} is unknown" if kind is not None else "type is missing"
            raise ScenarioError(
                f"{said}; valid types: {', '.join(ELEMENT_TYPES)}",
                path=f"elements.{element_id}.type",
                where=where((*path, "type")),
            )


def _describe(error: dict) -> tuple[Key, str]:
    loc = list(error["loc"])
    # Drop the union tags pydantic puts in the location (element type, chain/branch).
    if len(loc) > 2 and loc[0] == "elements" and loc[2] in ELEMENT_TYPES:
        del loc[2]
    if len(loc) > 2 and loc[0] == "flow" and loc[2] in ("chain", "branch"):
        del loc[2]
    kind = error["type"]
    message = error["msg"]
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    elif kind == "missing":
        message = "is required here but missing"
    elif kind == "extra_forbidden":
        message = "is not a known field"
    else:
        message = f"{error.get('input')!r}: {message[0].lower()}{message[1:]}"
    return tuple(loc), message


def _dotted(path: Key) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _key(dotted: str) -> Key:
    key: list[str | int] = []
    for part in dotted.replace("]", "").split("."):
        name, *indices = part.split("[")
        if name:
            key.append(name)
        key.extend(int(i) for i in indices)
    return tuple(key)
