"""The root of a scenario file: its name, run settings, parts, elements, flow and control."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator

from twin.scenario.schema.checks import Cases, Checks
from twin.scenario.schema.control import ControlSpec
from twin.scenario.schema.elements import ElementSpec, FlowEntry, PartTypeSpec
from twin.scenario.schema.faults import FaultSpec
from twin.scenario.schema.fields import _Strict
from twin.scenario.schema.run import RunSettings


class ScenarioSpec(_Strict):
    name: str
    description: str | None = None
    run: RunSettings
    parts: dict[str, PartTypeSpec] = Field(default_factory=dict)
    elements: dict[str, ElementSpec]
    flow: list[FlowEntry]
    control: ControlSpec | None = None
    faults: list[FaultSpec] = Field(default_factory=list)  # injected in every replication
    checks: Checks = Field(default_factory=list)  # commissioning: what every run must pass
    cases: Cases = Field(default_factory=dict)  # named runs of the scenario (twin commission)

    _if_missing: ClassVar[dict[str, str]] = {
        "name": "give the line a name, e.g. name: Two-station line",
        "run": "give the run settings, e.g. run: {horizon: 8h, warmup: 30min}",
        "elements": "a line needs elements: at least a source and a sink, "
        "e.g. elements: {feed: {type: source}, m1: {type: station, process: 50s}, "
        "done: {type: sink}}",
        "flow": "a line needs a flow, e.g. flow: [feed -> m1 -> done]",
    }
    _if_several_missing: ClassVar[str] = "a scenario has name, run, elements and flow"

    @field_validator("elements", mode="before")
    @classmethod
    def _some_elements(cls, value: Any) -> Any:
        if value is None or value == {}:
            raise ValueError(
                "a line needs elements: at least a source and a sink, "
                "e.g. {feed: {type: source}, m1: {type: station, process: 50s}, "
                "done: {type: sink}}"
            )
        return value

    @field_validator("flow", mode="before")
    @classmethod
    def _some_flow(cls, value: Any) -> Any:
        if value is None or value == []:
            raise ValueError(
                "a line needs a flow: at least one chain of element ids, e.g. [feed -> m1 -> done]"
            )
        return value
