"""Scenario files: the schema, the loader and the checks of the flow."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twin.scenario.flow import Route
    from twin.scenario.loader import Scenario, apply_overrides, load_scenario, parse_scenario
    from twin.scenario.schema import RunSettings

__all__ = ["Route", "RunSettings", "Scenario", "apply_overrides", "load_scenario", "parse_scenario"]

# Where each name lives: loaded on first use, so that a command which only needs a constant
# of this package (the command line's help, say) does not pay for the schema.
_HOMES = {
    "Route": "twin.scenario.flow",
    "RunSettings": "twin.scenario.schema",
    "Scenario": "twin.scenario.loader",
    "apply_overrides": "twin.scenario.loader",
    "load_scenario": "twin.scenario.loader",
    "parse_scenario": "twin.scenario.loader",
}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'twin.scenario' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
