"""The scenario format as pydantic models: run settings, element types and flow entries."""

from twin.scenario.schema.elements import (
    ELEMENT_TYPES,
    OFF_FLOW_TYPES,
    Branch,
    PusherSpec,
    SinkSpec,
    SourceSpec,
)
from twin.scenario.schema.fields import ID_PATTERN, FieldError, Key, and_list, dotted
from twin.scenario.schema.root import ScenarioSpec
from twin.scenario.schema.run import RunSettings

__all__ = [
    "ELEMENT_TYPES",
    "ID_PATTERN",
    "OFF_FLOW_TYPES",
    "Branch",
    "FieldError",
    "Key",
    "PusherSpec",
    "RunSettings",
    "ScenarioSpec",
    "SinkSpec",
    "SourceSpec",
    "and_list",
    "dotted",
]
