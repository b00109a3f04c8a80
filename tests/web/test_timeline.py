"""What the replay page draws over time is the log itself: the Gantt's time in each state is
the KPIs' state share, a level at any instant is the replay's ``state_at``, a body in the 3D
view is where it was last posed."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT

import twin
from twin.record import RunStore
from twin.record.replay import Replay
from web.line_layout import layout
from web.poses import trajectories
from web.run_view import run_view
from web.timeline import (
    StateTrack,
    happenings,
    in_line,
    intervals,
    level,
    moves,
    occupancy,
    state_tracks,
)

FAILING = """
name: Failing line
run: {horizon: 8h, warmup: 1h, replications: 1, seed: 5}
elements:
  feed: {type: source}
  m1: {type: station, process: {exponential: 50s}, failures: {mtbf: 1h, mttr: 10min}}
  b1: {type: buffer, capacity: 4}
  m2: {type: station, process: {exponential: 55s}}
  done: {type: sink}
flow: [feed -> m1 -> b1 -> m2 -> done]
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("timeline")
    failing = twin.run(twin.loads(FAILING, source="failing.yaml"), store=folder).run_id
    cell = twin.run(
        twin.load(ROOT / "scenarios" / "robot_cell.yaml", set=["run.horizon=40s"]), store=folder
    ).run_id
    return {"folder": folder, "failing": failing, "cell": cell}


def test_the_time_in_each_state_after_the_warmup_is_the_kpis_state_share(recorded):
    store = RunStore(recorded["folder"])
    run = store.get(recorded["failing"])
    replay = Replay(store, run)
    shares = store.replications(run.id)[0]["elements"]
    end_s = replay.until_s  # the horizon: the last change comes before it
    assert end_s == run.horizon_s > replay.end_s
    for track in state_tracks(replay):
        held = occupancy(track, np.array([run.warmup_s, end_s]), end_s)
        for state, seconds in held.items():
            expected = shares[track.element]["states"][state]
            assert seconds[0] / (end_s - run.warmup_s) == pytest.approx(expected, abs=1e-9)


def test_failures_and_repairs_are_events_at_the_instants_the_station_went_down_and_up(recorded):
    replay = Replay(RunStore(recorded["folder"]), recorded["failing"])
    listed = happenings(replay, state_tracks(replay))
    assert listed, "an MTBF of 1 h over 8 h fails at least once with this seed"
    for event in listed:
        assert event.source == "m1"
        before = replay.state_at(np.nextafter(event.time_s, 0)).state_of("m1")
        after = replay.state_at(event.time_s).state_of("m1")
        if event.text == "failure":
            assert (before, after) != ("down", "down") and after == "down"
        else:
            assert before == "down" and after != "down"
    assert [e.text for e in listed][:2] == ["failure", "repair"]


def test_levels_and_wip_at_any_instant_are_what_state_at_says(recorded):
    replay = Replay(RunStore(recorded["folder"]), recorded["failing"])
    moved = moves(replay)
    b1 = level(moved, {"b1"})
    wip = in_line(moved, {"feed"}, {"done"})
    for time_s in np.linspace(0.0, replay.until_s, 41)[1:]:
        state = replay.state_at(time_s)
        at = np.searchsorted(b1.times_s, time_s, side="right") - 1
        assert b1.values[at] == state.contents.get("b1", 0)
        inside = sum(n for e, n in state.contents.items() if e not in ("feed", "done"))
        assert wip.values[np.searchsorted(wip.times_s, time_s, side="right") - 1] == inside


def test_a_crowded_timeline_shows_the_longest_state_of_each_slice():
    # Working 0..7 s and starved 7..10 s of each 10 s slice: 1000 changes, 10 slices.
    starts = np.sort(np.concatenate([np.arange(0, 5000, 10.0), np.arange(7, 5000, 10.0)]))
    track = StateTrack.of("m1", 0, starts, ["working", "starved"] * 500)
    exact, slice_s = intervals(track, 5000.0, 2000)
    assert slice_s is None and len(exact) == 1000
    assert exact[:2] == [(0.0, 7.0, "working"), (7.0, 10.0, "starved")]
    binned, slice_s = intervals(track, 5000.0, 100)
    assert slice_s == 50.0
    assert binned == [(0.0, 5000.0, "working")]  # merged: every slice was mostly working


def test_physics_elements_stand_where_the_scenario_puts_them(recorded):
    run = RunStore(recorded["folder"]).get(recorded["cell"])
    points = layout(run_view(run))
    assert points["loader"] == (0.0, 0.0)
    assert points["unloader"] == (2.0, 0.0)
    assert points["infeed"] == pytest.approx((-1.0, 0.6))  # the belt's middle
    # The machine between the robots that tend it, the source before the infeed's start.
    assert points["machine"] == pytest.approx((1.0, 0.0))
    assert points["feed"][0] < -2.0


def test_a_body_in_the_3d_view_is_where_it_was_last_posed(recorded):
    replay = Replay(RunStore(recorded["folder"]), recorded["cell"])
    poses = trajectories(replay, {"done"})
    rows = replay.events(0.0, replay.end_s, kinds=["pose"]).to_pylist()
    link = [r for r in rows if r["source"] == "loader.lbr_iiwa_link_4"]
    body = poses["bodies"]["loader.lbr_iiwa_link_4"]
    assert len(body["t"]) == len(link)
    middle = link[len(link) // 2]
    index = body["t"].index(round(middle["time_s"], 4))
    assert body["xyz"][index] == pytest.approx(middle["pose"][:3], abs=1e-4)
    assert poses["groups"]["loader"][0] == "loader.base"
    assert poses["groups"]["loader"][-1] == "loader.lbr_iiwa_link_7"  # base to tip
