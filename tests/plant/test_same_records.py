"""The same scenario and seed give the same records, release after release: a checksum of
everything each reference scenario reports (every state change, move, tag, event and pose,
in order, and the KPIs), taken once and kept here. A change that alters any of it on purpose
updates the checksum in the same commit and says why."""

from __future__ import annotations

import hashlib

import pytest
from conftest import ROOT

from twin.observer import BaseObserver
from twin.plant.build import build
from twin.scenario import load_scenario

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses or physics

SCENARIOS = ROOT / "scenarios"

# (scenario, settings, fidelity) -> SHA-256 of the reported stream, first 16 hex digits.
EXPECTED = {
    ("two_machine_line.yaml", ("run.horizon=20h", "run.replications=2"), None): "57a77107bb8725b7",
    ("bottling_line.yaml", ("run.horizon=2h",), None): "7a31c1ec1a6c216c",
    ("robot_cell.yaml", ("run.horizon=60s",), None): "b431a8826f22dce9",
    ("robot_cell.yaml", ("run.horizon=10min",), "timed"): "577bf61ac1106d7e",
    ("sorting_station/sorting_station.yaml", ("run.horizon=40s",), None): "4e35fa26f105f750",
    ("robot_cell_plc/robot_cell_plc.yaml", ("run.horizon=60s",), None): "0da2e063cb18b1d0",
}


class Digest(BaseObserver):
    """An observer that folds every report, in order and at full precision, into a hash."""

    wants_poses = True

    def __init__(self) -> None:
        self.hash = hashlib.sha256()

    def _add(self, *values) -> None:
        self.hash.update(repr(values).encode())

    def state(self, time_s, element_id, place, state) -> None:
        self._add("state", time_s, element_id, place, state)

    def move(self, time_s, part_id, from_id, to_id) -> None:
        self._add("move", time_s, part_id, from_id, to_id)

    def event(self, time_s, source, text, value=None) -> None:
        self._add("event", time_s, source, text, value)

    def tag(self, time_s, name, value) -> None:
        self._add("tag", time_s, name, value)

    def pose(self, time_s, body_id, pose) -> None:
        self._add("pose", time_s, body_id, tuple(pose))


def digest(path: str, settings: tuple[str, ...], fidelity: str | None) -> str:
    scenario = load_scenario(SCENARIOS / path, list(settings))
    observer = Digest()
    for replication in range(scenario.run.replications):
        result = build(scenario, replication, observer=observer, fidelity=fidelity).run()
        observer._add("kpis", sorted(result.kpis.items()))
    return observer.hash.hexdigest()[:16]


@pytest.mark.parametrize(("case", "expected"), list(EXPECTED.items()), ids=lambda c: str(c))
def test_a_reference_scenario_reports_exactly_what_it_always_did(case, expected):
    assert digest(*case) == expected
