"""Scenario files: the schema, the loader and the checks of the flow."""

from twin.scenario.flow import Route
from twin.scenario.loader import Scenario, apply_overrides, load_scenario, parse_scenario
from twin.scenario.schema import RunSettings

__all__ = ["Route", "RunSettings", "Scenario", "apply_overrides", "load_scenario", "parse_scenario"]
