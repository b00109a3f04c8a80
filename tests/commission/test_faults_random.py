"""Faults at random with a rate: exponential times between occurrences, drawn from a stream
of the fault's own, so that the same seed gives the same faults and adding a fault changes no
other random number of the run. And `--fault` on the command line: the same faults, checked
and placed like the scenario's, kept with the recorded run."""

from __future__ import annotations

import statistics
import textwrap

import pytest
from conftest import twin_commands

import twin
from twin.observer import BaseObserver
from twin.plant.build import build
from twin.record import RunStore
from twin.record.replay import Replay
from twin.scenario.loader import FAULT_SETTING


class Log(BaseObserver):
    def __init__(self) -> None:
        self.moves: list[tuple[float, int, str, str]] = []
        self.events: list[tuple[float, str, str]] = []

    def move(self, time_s, part_id, from_id, to_id):
        self.moves.append((time_s, part_id, from_id, to_id))

    def event(self, time_s, source, text, value=None):
        self.events.append((time_s, source, text))

    def fault_times(self, source: str) -> list[tuple[str, float]]:
        return [
            (text.split(":")[0], t)
            for t, s, text in self.events
            if s == source and text.startswith("fault_")
        ]


LINE = """\
name: random faults
run: {horizon: 20h, seed: 1}
elements:
  feed: {type: source, interarrival: {exponential: 60s}}
  b1: {type: buffer, capacity: inf}
  m1: {type: station, process: {exponential: 50s}}
  belt: {type: conveyor, length: 6, speed: 0.5, capacity: 10}
  done: {type: sink}
flow: [feed -> b1 -> m1 -> belt -> done]
faults:
  - {breakdown: m1, rate: 1/h, for: 5min}
"""
JAMS = "  - {jam: belt, rate: 2/h, for: 1min}\n"


def run(text: str, seed: int | None = None) -> Log:
    overrides = [f"run.seed={seed}"] if seed is not None else []
    log = Log()
    build(twin.loads(text, source="random.yaml", set=overrides), observer=log).run()
    return log


def test_the_same_seed_draws_the_same_faults_and_another_seed_others():
    first, again, other = run(LINE), run(LINE), run(LINE, seed=2)
    times = first.fault_times("m1")
    # About one breakdown an hour in 20 h, each logged when it starts and when it ends.
    assert 10 <= len(times) / 2 <= 30
    assert times == again.fault_times("m1")
    assert times != other.fault_times("m1")
    starts = [t for what, t in times if what == "fault_start"]
    ends = [t for what, t in times if what == "fault_end"]
    assert ends == pytest.approx([t + 300 for t in starts[: len(ends)]])


def test_adding_a_fault_changes_no_other_random_number_of_the_run():
    alone, with_jams = run(LINE), run(LINE + JAMS)
    # The breakdowns come at the same times, and the parts arrive at the same times (the
    # source never waits: the buffer before m1 is unlimited) though the jams slow the line.
    assert with_jams.fault_times("m1") == alone.fault_times("m1")
    assert with_jams.fault_times("belt")
    arrivals = [t for t, _, origin, _ in alone.moves if origin == "feed"]
    assert [t for t, _, origin, _ in with_jams.moves if origin == "feed"] == arrivals
    assert [m for m in with_jams.moves if m[2] == "belt"] != [
        m for m in alone.moves if m[2] == "belt"
    ]


def test_the_same_fault_given_twice_draws_its_own_times_for_each():
    log = run(LINE.replace("for: 5min}", "for: 5min}\n  - {breakdown: m1, rate: 1/h, for: 5min}"))
    starts = [t for what, t in log.fault_times("m1") if what == "fault_start"]
    assert len(starts) != len(set(starts)) * 2  # not every time twice


def test_times_between_occurrences_are_exponential_with_the_rate():
    text = LINE.replace("horizon: 20h", "horizon: 2000h").replace("for: 5min", "for: 1s")
    text = text.replace("rate: 1/h", "rate: 1/min")
    times = run(text).fault_times("m1")
    # Counted from the end of one occurrence to the start of the next.
    gaps = [
        start - end
        for (what_end, end), (what_start, start) in zip(times[1::2], times[2::2], strict=False)
        if what_end == "fault_end" and what_start == "fault_start"
    ]
    assert len(gaps) > 100_000
    mean_s = statistics.fmean(gaps)
    assert mean_s == pytest.approx(60, rel=0.01)
    assert statistics.stdev(gaps) / mean_s == pytest.approx(1.0, rel=0.02)  # exponential


def test_a_fault_written_back_reads_as_the_same_fault():
    scenario = twin.loads(LINE + JAMS, source="random.yaml")
    for fault in scenario.faults:
        again = twin.loads(
            LINE.split("faults:")[0], source="x.yaml", set=[FAULT_SETTING + fault.written()]
        ).faults
        assert again == (fault,)


# The command line -------------------------------------------------------------------------

BELT = """\
name: a belt
run: {horizon: 30s}
elements:
  feed: {type: source, interarrival: 2s}
  belt: {type: conveyor, length: 3, speed: 0.5, capacity: 5}
  done: {type: sink}
flow: [feed -> belt -> done]
"""


@pytest.mark.slow
def test_fault_on_the_command_line_is_injected_and_kept_with_the_run(tmp_path):
    path = tmp_path / "belt.yaml"
    path.write_text(BELT, encoding="utf-8")
    store = tmp_path / "runs"
    jam = "{jam: belt, at: 9s, for: 5s}"
    done, bad, typo = twin_commands(
        ["run", str(path), "--fault", jam, "--store", str(store)],
        ["run", str(path), "--fault", "{jam: belt, at: 9s}", "--no-record"],
        ["run", str(path), "--fault", "{jam: blet, at: 9s, for: 1s}", "--no-record"],
    )
    assert done.returncode == 0, done.stderr
    run = RunStore(store).runs()[0]
    assert run.overrides == [FAULT_SETTING + jam]
    events = Replay(store, run.id).events(0, 30, kinds=["event"]).to_pylist()
    assert [(e["time_s"], e["text"]) for e in events] == [
        (9.0, "fault_start: belt jammed"),
        (14.0, "fault_end: belt jammed"),
    ]
    assert bad.returncode == typo.returncode == 2
    assert bad.stderr.startswith(
        "error: --fault {jam: belt, at: 9s}: faults[0].for: a jam needs a duration"
    )
    assert "--fault {jam: blet, at: 9s, for: 1s}: faults[0].jam: 'blet' is not a conveyor" in (
        " ".join(typo.stderr.split())
    )
    # A fault may also be written into the file: the same fault, placed at its line there.
    path.write_text(BELT + "faults:\n  - {jam: belt, at: 9s}\n", encoding="utf-8")
    (in_file,) = twin_commands(["validate", str(path)])
    assert in_file.returncode == 2
    assert f"{path}:9: faults[0].for: a jam needs a duration" in " ".join(in_file.stderr.split())


def test_a_fault_from_the_command_line_is_placed_at_its_flag():
    with pytest.raises(twin.ScenarioError) as caught:
        twin.loads(textwrap.dedent(BELT), source="b.yaml", set=[FAULT_SETTING + "{jam: m9}"])
    assert str(caught.value).startswith("--fault {jam: m9}: faults[0]")
