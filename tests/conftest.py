"""Shared helpers for the test suite: scenario text to results in one call."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from twin.experiment import RunResult, run_experiment
from twin.scenario import Scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent


def scenario(text: str, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """A scenario from indented YAML text written inside a test."""
    return parse_scenario(textwrap.dedent(text), source="test.yaml", overrides=list(overrides))


def run(text: str, overrides: list[str] | tuple[str, ...] = ()) -> RunResult:
    return run_experiment(scenario(text, overrides))


@pytest.fixture
def root() -> Path:
    return ROOT
