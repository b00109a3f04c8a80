"""Replay tells where everything stood at any time, and what happened in any window, exactly as
the line reported it while it ran — also across the row groups of a long log."""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field

import pyarrow.compute as pc
import pytest
from conftest import ROOT, scenario

from twin.experiment import run_experiment
from twin.line import Line
from twin.observer import BaseObserver
from twin.record import RunInfo, RunStore, StoreError
from twin.record.events import what
from twin.record.log import ROW_GROUP_ROWS
from twin.record.replay import Replay
from twin.scenario import Scenario, load_scenario

# Five and a half hours of the bottling line: about 145,000 state changes and as many moves per
# replication, i.e. three row groups of each.
BOTTLING = load_scenario(
    ROOT / "scenarios" / "bottling_line.yaml", ["run.horizon=330min", "run.replications=2"]
)


@dataclass
class Raw(BaseObserver):
    """Observer keeping, in plain Python, everything the line reports."""

    states: list[tuple[float, str, int, str]] = field(default_factory=list)
    moves: list[tuple[float, int, str, str]] = field(default_factory=list)

    def state(self, time_s: float, element_id: str, place: int, state: str) -> None:
        self.states.append((time_s, element_id, place, state))

    def move(self, time_s: float, part_id: int, from_id: str, to_id: str) -> None:
        self.moves.append((time_s, part_id, from_id, to_id))


def raw_replication(source: Scenario, replication: int) -> Raw:
    """The same replication run again, unrecorded: by determinism it reports the same things."""
    raw = Raw()
    Line(source, replication=replication, observer=raw).run()
    return raw


@dataclass
class Recording:
    store: RunStore
    run: RunInfo
    raw: list[Raw]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    store = RunStore(tmp_path_factory.mktemp("replay"))
    result = run_experiment(BOTTLING, store=store)
    raw = [raw_replication(BOTTLING, r) for r in range(BOTTLING.run.replications)]
    return Recording(store, store.get(result.run_id), raw)


# The answers, recomputed from the raw lists -----------------------------------------------------


def expected_at(raw: Raw, times: list[float]) -> list[tuple[dict, dict]]:
    """(states, contents) at each time: the last state of every element place reported at or
    before it, and parts moved in minus parts moved out of every element that received any."""
    answers: list[tuple[dict, dict]] = [({}, {})] * len(times)
    states: dict[str, dict[int, str]] = {}
    moved_in: Counter[str] = Counter()
    moved_out: Counter[str] = Counter()
    next_state = next_move = 0
    for k in sorted(range(len(times)), key=times.__getitem__):
        t = times[k]
        while next_state < len(raw.states) and raw.states[next_state][0] <= t:
            _, element, place, state = raw.states[next_state]
            states.setdefault(element, {})[place] = state
            next_state += 1
        while next_move < len(raw.moves) and raw.moves[next_move][0] <= t:
            _, _, from_id, to_id = raw.moves[next_move]
            moved_out[from_id] += 1
            moved_in[to_id] += 1
            next_move += 1
        contents = {e: n - moved_out[e] for e, n in moved_in.items()}
        answers[k] = ({e: dict(p) for e, p in states.items()}, contents)
    return answers


def boundary_times(rows: list[tuple]) -> list[float]:
    """Times around each place where the recorder starts a new row group."""
    times = []
    for start in range(ROW_GROUP_ROWS, len(rows), ROW_GROUP_ROWS):
        last, first = rows[start - 1][0], rows[start][0]
        times += [last, first, (last + first) / 2, math.nextafter(first, -math.inf)]
        times += [math.nextafter(last, math.inf)]
    return times


def probe_times(raw: Raw, seed: int) -> list[float]:
    """Instants to ask about: before anything, at time zero, exactly at events, between
    events, at row-group boundaries, at the end of the warm-up and after the last event."""
    pick = random.Random(seed)
    end = max(raw.states[-1][0], raw.moves[-1][0])
    times = [-1.0, 0.0, 1_800.0, end, end + 3_600.0]
    times += boundary_times(raw.states) + boundary_times(raw.moves)
    times += [row[0] for row in pick.sample(raw.states, 30)]
    times += [row[0] for row in pick.sample(raw.moves, 30)]
    times += [math.nextafter(row[0], -math.inf) for row in pick.sample(raw.moves, 10)]
    times += [pick.uniform(0.0, end) for _ in range(30)]
    return times


# Where everything stood -------------------------------------------------------------------------


@pytest.mark.slow
def test_the_log_spans_several_row_groups_per_replication(recording: Recording) -> None:
    _, index = recording.store.open_log(recording.run)

    groups = Counter((group["replication"], group["kind"]) for group in index)
    assert groups == {(0, "state"): 3, (0, "move"): 3, (1, "state"): 3, (1, "move"): 3}
    raw_rows = sum(len(raw.states) + len(raw.moves) for raw in recording.raw)
    assert recording.run.log_rows == raw_rows


@pytest.mark.slow
@pytest.mark.parametrize("replication", [0, 1])
def test_state_at_any_time_is_what_the_line_reported_up_to_then(
    recording: Recording, replication: int
) -> None:
    raw = recording.raw[replication]
    replay = Replay(recording.store, recording.run, replication)
    times = probe_times(raw, seed=replication)

    for t, (states, contents) in zip(times, expected_at(raw, times), strict=True):
        seen = replay.state_at(t)
        assert seen.time_s == t
        assert seen.states == states, f"states at {t!r}"
        assert seen.contents == contents, f"contents at {t!r}"


def test_before_the_first_event_nothing_is_there_and_at_the_end_the_line_is_whole(
    recording: Recording,
) -> None:
    raw = recording.raw[1]
    replay = Replay(recording.store, recording.run, 1)

    before = replay.state_at(-0.5)
    assert before.states == {} and before.contents == {}
    at_end = replay.state_at(replay.end_s)
    assert replay.end_s == max(raw.states[-1][0], raw.moves[-1][0])
    assert at_end.state_of("filler") == [s for s in raw.states if s[1] == "filler"][-1][3]
    assert at_end.state_of("no-such-element") is None
    # Every bottle that entered is somewhere: inside an element, or in the warehouse.
    created = sum(1 for move in raw.moves if move[2] == "empties")
    assert sum(at_end.contents.values()) == created
    assert at_end.contents["warehouse"] == sum(1 for move in raw.moves if move[3] == "warehouse")


# What happened in a window ----------------------------------------------------------------------


def window(raw: Raw, start_s: float, end_s: float) -> tuple[list, list]:
    states = [row for row in raw.states if start_s <= row[0] <= end_s]
    moves = [row for row in raw.moves if start_s <= row[0] <= end_s]
    return states, moves


def rows_of(table, kind: str, columns: tuple[str, ...]) -> list[tuple]:
    part = table.filter(pc.equal(table["kind"].cast("string"), kind))
    return list(zip(*(part[name].to_pylist() for name in columns), strict=True))


def test_events_in_a_window_are_exactly_the_raw_events_in_time_order(
    recording: Recording,
) -> None:
    raw = recording.raw[1]
    replay = Replay(recording.store, recording.run, 1)
    boundary = raw.states[ROW_GROUP_ROWS][0]
    windows = [
        (boundary - 600.0, boundary + 600.0),  # across the first row-group boundary
        (raw.moves[1_000][0], raw.moves[4_000][0]),  # both ends exactly at moves
        (0.0, 0.0),  # the initial states
        (-10.0, -1.0),  # before anything
        (raw.moves[-1][0] - 300.0, raw.moves[-1][0] + 300.0),  # the end
    ]

    for start_s, end_s in windows:
        table = replay.events(start_s, end_s)
        states, moves = window(raw, start_s, end_s)

        times = table["time_s"].to_pylist()
        assert times == sorted(times)
        expected_counts = {"state": len(states), "move": len(moves)}
        assert Counter(table["kind"].to_pylist()) == {k: n for k, n in expected_counts.items() if n}
        assert rows_of(table, "state", ("time_s", "source", "place", "text")) == states
        assert rows_of(table, "move", ("time_s", "part", "source", "target")) == moves
        assert set(table["replication"].to_pylist()) <= {1}


@pytest.mark.slow
def test_the_whole_replication_is_one_window(recording: Recording) -> None:
    raw = recording.raw[0]
    replay = Replay(recording.store, recording.run, 0)

    table = replay.events(-math.inf, math.inf)

    assert Counter(table["kind"].to_pylist()) == {"state": len(raw.states), "move": len(raw.moves)}
    assert rows_of(table, "move", ("part",)) == [(move[1],) for move in raw.moves]


def test_events_can_be_narrowed_to_kinds_and_elements(recording: Recording) -> None:
    raw = recording.raw[0]
    replay = Replay(recording.store, recording.run, 0)
    start_s, end_s = 3_600.0, 7_200.0
    states, moves = window(raw, start_s, end_s)

    only_moves = replay.events(start_s, end_s, kinds=["move"])
    filler = replay.events(start_s, end_s, sources=["filler"])

    assert rows_of(only_moves, "move", ("time_s", "part", "source", "target")) == moves
    assert only_moves.num_rows == len(moves)
    assert rows_of(filler, "state", ("time_s", "source", "place", "text")) == [
        s for s in states if s[1] == "filler"
    ]
    assert rows_of(filler, "move", ("time_s", "part", "source", "target")) == [
        m for m in moves if m[2] == "filler"
    ]
    assert filler.num_rows == sum(1 for s in states if s[1] == "filler") + sum(
        1 for m in moves if m[2] == "filler"
    )


# Asking for what is not there -------------------------------------------------------------------


@pytest.mark.parametrize("replication", [2, -1])
def test_a_replication_the_run_does_not_have_is_refused(
    recording: Recording, replication: int
) -> None:
    with pytest.raises(StoreError) as raised:
        Replay(recording.store, recording.run, replication)

    assert str(raised.value) == (
        f"replication {replication} is not in run {recording.run.short_id}; it has 0 to 1"
    )


def test_a_run_can_be_replayed_by_its_first_digits(recording: Recording) -> None:
    replay = Replay(recording.store, recording.run.id[:6], 1)

    assert replay.run == recording.run
    assert replay.replication == 1


# Opening a replay by the store's folder ---------------------------------------------------------


def test_a_replay_opens_by_the_store_folder_and_the_first_digits_of_the_run(
    recording: Recording, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = recording.store.folder
    run = recording.run
    # The README's call, from the folder that holds ./twin-runs.
    (tmp_path / "twin-runs").symlink_to(folder.resolve(), target_is_directory=True)
    monkeypatch.chdir(tmp_path)

    by_name = Replay("twin-runs", run.id[:4])
    by_path = Replay(folder, run.id[:8], 1)
    by_store = Replay(recording.store, run, 1)

    assert by_name.run == run and by_name.replication == 0
    assert by_path.run == run and by_path.replication == 1
    at_s = 2 * 3_600.0
    assert by_path.state_at(at_s) == by_store.state_at(at_s)
    assert by_path.events(at_s, at_s + 60.0) == by_store.events(at_s, at_s + 60.0)
    assert by_name.state_at(at_s) == Replay(recording.store, run, 0).state_at(at_s)


def test_a_folder_without_a_store_is_refused_and_left_as_it_was(tmp_path) -> None:
    missing = tmp_path / "no-runs-here"

    with pytest.raises(StoreError) as raised:
        Replay(missing, "41ca")

    assert str(raised.value) == (
        f"no run store at {missing}: it holds no catalog.sqlite; give the folder `twin run` "
        "records into (--store, $TWIN_STORE, or ./twin-runs by default)"
    )
    assert not missing.exists()


def test_names_are_every_element_the_log_mentions(recording: Recording) -> None:
    replay = Replay(recording.store, recording.run, 0)
    raw = recording.raw[0]

    mentioned = {s[1] for s in raw.states} | {m[2] for m in raw.moves} | {m[3] for m in raw.moves}
    assert replay.names() == sorted(mentioned)
    assert "warehouse" in replay.names()  # a sink: only ever a move's target


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ({"kind": "state", "source": "m1", "place": 1, "text": "blocked"}, "place 1 → blocked"),
        ({"kind": "move", "source": "m1", "part": 17, "target": "b1"}, "part 17 m1 → b1"),
        ({"kind": "tag", "source": "belt.run", "value": 1.0}, "= 1"),
        ({"kind": "tag", "source": "m1.count", "value": 1_234_567.0}, "= 1234567"),
        ({"kind": "tag", "source": "scale.kg", "value": 0.25}, "= 0.25"),
        ({"kind": "event", "source": "panel", "text": "estop pressed", "value": None},
         "estop pressed"),
        ({"kind": "event", "source": "loader", "text": "collision: table", "value": 2.0},
         "collision: table (2)"),
        ({"kind": "pose", "source": "part.3", "pose": [0.12345, -0.5, 0.8, 0.0, 0.0, 0.7071068,
                                                      0.7071068]},
         "at 0.123 -0.500 0.800 m, q 0.000 0.000 0.707 0.707"),
    ],
)  # fmt: skip
def test_each_kind_of_row_is_told_in_words(row: dict, words: str) -> None:
    assert what(row) == words


def test_a_part_passing_straight_through_is_logged_in_the_order_it_went(tmp_path):
    # At 1 s the part goes from the source into the buffer and on to the idle machine at once.
    store = RunStore(tmp_path / "runs")
    result = run_experiment(
        scenario(
            """
            name: straight through
            run: {horizon: 5s}
            elements:
              feed: {type: source, interarrival: 1s, limit: 1}
              b1: {type: buffer, capacity: 2}
              m1: {type: station, process: 2s}
              done: {type: sink}
            flow: [feed -> b1 -> m1 -> done]
            """
        ),
        store=store,
    )
    moves = Replay(store, result.run_id).events(0, 5, kinds=["move"]).to_pylist()
    assert [(m["time_s"], m["source"], m["target"]) for m in moves] == [
        (1.0, "feed", "b1"),
        (1.0, "b1", "m1"),
        (3.0, "m1", "done"),
    ]
