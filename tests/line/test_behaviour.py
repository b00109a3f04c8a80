"""Exact behaviour of line elements with constant times: every number here is worked out by hand."""

from __future__ import annotations

import pytest
from conftest import run, scenario

from twin.line import Line
from twin.observer import BaseObserver


def single(result, name: str) -> float:
    """The value of a KPI in a one-replication run."""
    (value,) = result.kpis[name].values
    return value


def test_a_part_takes_exactly_its_process_time_through_an_unloaded_station():
    result = run(
        """
        name: unloaded
        run: {horizon: 1000s}
        elements:
          feed: {type: source, interarrival: 10s}
          m1: {type: station, process: 4s}
          out: {type: sink}
        flow: [feed -> m1 -> out]
        """
    )
    # Parts arrive at 10, 20, ..., 1000: the one created at 1000 never gets processed.
    assert result.replications[0].parts_out == 99
    assert single(result, "lead_time_s") == 4.0
    assert single(result, "m1.utilisation") == pytest.approx(99 * 4 / 1000)


def test_a_station_finishing_into_a_full_station_is_blocked_with_its_part():
    # m1 (1 s) feeds m2 (2 s) with no buffer between: m1 works 1 s, then waits 1 s holding
    # its part until m2 is free. Blocking after service halves m1's utilisation.
    result = run(
        """
        name: blocking
        run: {horizon: 1000s, warmup: 100s}
        elements:
          feed: {type: source}
          m1: {type: station, process: 1s}
          m2: {type: station, process: 2s}
          out: {type: sink}
        flow: [feed -> m1 -> m2 -> out]
        """
    )
    m1 = result.replications[0].elements["m1"]["states"]
    assert m1["working"] == pytest.approx(0.5)
    assert m1["blocked"] == pytest.approx(0.5)
    assert single(result, "throughput_per_hour") == pytest.approx(1800)
    assert result.replications[0].elements["m2"]["states"] == {
        "working": pytest.approx(1.0),
        "setup": 0.0,
        "down": 0.0,
        "blocked": 0.0,
        "starved": 0.0,
    }
    assert result.kpis["m1.state.blocked"].mean == pytest.approx(0.5)


def test_failures_stop_the_part_in_process_and_resume_it_after_repair():
    # Time to failure counts working time only: 10 s parts, a failure after every 25 s of
    # work, 5 s to repair. Every 30 s of clock: 25 s of work (2.5 parts) and 5 s down.
    result = run(
        """
        name: failing
        run: {horizon: 300s}
        elements:
          feed: {type: source}
          m: {type: station, process: 10s, failures: {mtbf: {constant: 25s}, mttr: {constant: 5s}}}
          out: {type: sink}
        flow: [feed -> m -> out]
        """
    )
    assert result.replications[0].parts_out == 25
    states = result.replications[0].elements["m"]["states"]
    assert states["down"] == pytest.approx(50 / 300)
    assert states["working"] == pytest.approx(250 / 300)


def test_failures_do_not_advance_while_a_station_waits():
    # Starved 90 % of the time: with operation-dependent failures, the 25 s of work between
    # failures take 250 s of clock, so a 300 s run sees exactly one failure.
    result = run(
        """
        name: mostly idle
        run: {horizon: 300s}
        elements:
          feed: {type: source, interarrival: 10s}
          m: {type: station, process: 1s, failures: {mtbf: {constant: 25s}, mttr: {constant: 5s}}}
          out: {type: sink}
        flow: [feed -> m -> out]
        """
    )
    assert result.replications[0].elements["m"]["states"]["down"] == pytest.approx(5 / 300)


def test_setup_before_every_batch_of_parts():
    # 3 s setup every 2 parts of 10 s: 23 s per pair.
    result = run(
        """
        name: setups
        run: {horizon: 230s}
        elements:
          feed: {type: source}
          m: {type: station, process: 10s, setup: {time: 3s, every: 2}}
          out: {type: sink}
        flow: [feed -> m -> out]
        """
    )
    assert result.replications[0].parts_out == 19  # the 20th finishes exactly at 230 s
    states = result.replications[0].elements["m"]["states"]
    assert states["setup"] == pytest.approx(30 / 230)


def test_a_station_with_capacity_two_processes_two_parts_at_once():
    result = run(
        """
        name: parallel
        run: {horizon: 1005s}
        elements:
          feed: {type: source}
          m: {type: station, process: 10s, capacity: 2}
          out: {type: sink}
        flow: [feed -> m -> out]
        """
    )
    assert result.replications[0].parts_out == 200
    assert single(result, "m.utilisation") == pytest.approx(1.0)


def test_a_conveyor_carries_parts_in_length_over_speed_and_spaces_them_at_the_exit():
    # 10 m at 1 m/s, 5 parts at most: travel 10 s, exits at least 2 s apart. Parts come every
    # 1 s, so the belt fills and then passes one part every 2 s.
    result = run(
        """
        name: belt
        run: {horizon: 100s}
        elements:
          feed: {type: source, interarrival: 1s}
          belt: {type: conveyor, length: 10, speed: 1, capacity: 5}
          out: {type: sink}
        flow: [feed -> belt -> out]
        """
    )
    # First part enters at 1 s and leaves at 11 s; then one every 2 s up to 99 s.
    assert result.replications[0].parts_out == 45
    first = result.replications[0].lead_times_s[0]
    assert first == 10.0


def test_a_blocked_conveyor_accumulates_up_to_its_capacity():
    result = run(
        """
        name: accumulating
        run: {horizon: 1000s, warmup: 200s}
        elements:
          feed: {type: source, interarrival: 1s}
          belt: {type: conveyor, length: 4, speed: 1, capacity: 8}
          m: {type: station, process: 5s}
          out: {type: sink}
        flow: [feed -> belt -> m -> out]
        """
    )
    # m takes a part every 5 s; the next one reaches the belt's end half a second later
    # (4 m / 8 parts at 1 m/s), and the source refills the belt at once.
    belt = result.replications[0].elements["belt"]
    assert belt["mean_level"] == pytest.approx(8, abs=0.01)
    assert belt["states"]["blocked"] == pytest.approx(0.9)
    assert belt["states"]["working"] == pytest.approx(0.1)


def test_round_robin_alternates_between_targets():
    result = run(
        """
        name: round robin
        run: {horizon: 100s}
        elements:
          feed: {type: source, interarrival: 1s}
          split: {type: buffer, capacity: 10}
          a: {type: station, process: 0.5s}
          b: {type: station, process: 0.5s}
          out_a: {type: sink}
          out_b: {type: sink}
        flow:
          - feed -> split
          - {from: split, to: [a, b], rule: round_robin}
          - a -> out_a
          - b -> out_b
        """
    )
    elements = result.replications[0].elements
    assert elements["out_a"]["parts_out"] == 50
    assert elements["out_b"]["parts_out"] == 49


def test_shortest_queue_sends_parts_to_the_emptier_buffer():
    # Ties go to the first target: the first part goes to q_slow (and on into slow), the
    # second too (both empty), and from then on q_slow holds one part whenever slow takes
    # one, so every other part goes to the fast branch.
    result = run(
        """
        name: shortest queue
        run: {horizon: 1000s}
        elements:
          feed: {type: source, interarrival: 1s}
          q_fast: {type: buffer, capacity: 10}
          q_slow: {type: buffer, capacity: 10}
          fast: {type: station, process: 0.5s}
          slow: {type: station, process: 50s}
          out: {type: sink}
        flow:
          - {from: feed, to: [q_slow, q_fast], rule: shortest_queue}
          - q_fast -> fast -> out
          - q_slow -> slow -> out
        """
    )
    elements = result.replications[0].elements
    assert elements["slow"]["utilisation"] == pytest.approx(1.0, abs=0.01)
    assert elements["q_slow"]["mean_level"] == pytest.approx(1.0, abs=0.01)
    assert elements["q_fast"]["mean_level"] == 0.0
    # 999 arrivals; 21 took the slow branch (parts 1 and 2, then one each time slow took a
    # part, at 51, 101, ..., 951 s), of which 19 finished; the fast branch finished its 978.
    assert result.replications[0].parts_out == 978 + 19


def test_probability_routing_splits_parts_by_weight():
    result = run(
        """
        name: probability
        run: {horizon: 20000s, seed: 5}
        elements:
          feed: {type: source, interarrival: 1s}
          good: {type: sink}
          rework: {type: sink}
        flow:
          - {from: feed, to: [good, rework], rule: probability, weights: [0.9, 0.1]}
        """
    )
    elements = result.replications[0].elements
    total = elements["good"]["parts_out"] + elements["rework"]["parts_out"]
    share = elements["rework"]["parts_out"] / total
    # Binomial: 4 standard errors around 0.1.
    assert abs(share - 0.1) < 4 * (0.1 * 0.9 / total) ** 0.5


def test_two_sources_merge_into_one_station():
    result = run(
        """
        name: merge
        run: {horizon: 100s}
        elements:
          left: {type: source, interarrival: 2s}
          right: {type: source, interarrival: 2s}
          m: {type: station, process: 1s}
          out: {type: sink}
        flow: [left -> m -> out, right -> m]
        """
    )
    # Both send a part at 2 s: m takes one, the other waits 1 s. From then on the two
    # sources take turns and m never rests: parts leave at 3, 4, ..., 99 s.
    assert result.replications[0].parts_out == 97
    assert single(result, "m.utilisation") == pytest.approx(98 / 100, abs=0.02)


def test_a_run_can_end_after_a_number_of_parts():
    line = Line(
        scenario(
            """
            name: parts
            run: {parts: 100}
            elements:
              feed: {type: source}
              m: {type: station, process: 3s}
              out: {type: sink}
            flow: [feed -> m -> out]
            """
        )
    )
    result = line.run()
    assert result.parts_out == 100
    assert result.end_s == 300.0
    assert result.kpis["throughput_per_hour"] == pytest.approx(1200)


def test_a_source_with_a_limit_stops_after_that_many_parts():
    result = run(
        """
        name: limited
        run: {horizon: 1000s}
        elements:
          feed: {type: source, interarrival: 1s, limit: 7}
          m: {type: station, process: 2s}
          out: {type: sink}
        flow: [feed -> m -> out]
        """
    )
    assert result.replications[0].parts_out == 7
    assert "idle" in result.replications[0].elements["feed"]["states"]


def test_warmup_deletes_what_happened_before_it():
    result = run(
        """
        name: warm-up
        run: {horizon: 1000s, warmup: 400s}
        elements:
          feed: {type: source, interarrival: 10s}
          m: {type: station, process: 4s}
          out: {type: sink}
        flow: [feed -> m -> out]
        """
    )
    # Parts leave at 14, 24, ...: those at 404 ... 994 count, 60 of them, over 600 s.
    assert result.replications[0].parts_out == 60
    assert single(result, "throughput_per_hour") == pytest.approx(360)
    assert single(result, "m.utilisation") == pytest.approx(0.4)


class Trace(BaseObserver):
    """When each place entered each state, and the parts inside every element over time."""

    def __init__(self) -> None:
        self.states: list[tuple[float, str, str]] = []
        self.inside: dict[str, int] = {}
        self.most: dict[str, int] = {}

    def state(self, time_s, element_id, place, state) -> None:
        self.states.append((time_s, element_id, state))

    def move(self, time_s, part_id, from_id, to_id) -> None:
        self.inside[from_id] = self.inside.get(from_id, 0) - 1
        self.inside[to_id] = self.inside.get(to_id, 0) + 1
        self.most[to_id] = max(self.most.get(to_id, 0), self.inside[to_id])

    def first(self, element_id: str, state: str) -> float:
        return next(t for t, e, s in self.states if e == element_id and s == state)


@pytest.mark.parametrize("capacity", [1, 2, 5])
def test_a_finite_buffer_holds_exactly_its_capacity_then_blocks_the_station_before_it(capacity):
    # m1 makes a part every second from t = 1 s; m2 takes the first at 1 s and holds it 10 s.
    # The parts of 2 s, 3 s ... fill b1; with it full, the part finished at capacity + 2 s
    # stays on m1, which is blocked from then on.
    trace = Trace()
    line = scenario(
        f"""
        name: buffer of {capacity}
        run: {{horizon: 10.5s}}
        elements:
          feed: {{type: source}}
          m1: {{type: station, process: 1s}}
          b1: {{type: buffer, capacity: {capacity}}}
          m2: {{type: station, process: 10s}}
          done: {{type: sink}}
        flow: [feed -> m1 -> b1 -> m2 -> done]
        """
    )
    Line(line, observer=trace).run()
    assert trace.most["b1"] == capacity
    assert trace.first("m1", "blocked") == pytest.approx(capacity + 2.0)
    assert trace.inside["b1"] == capacity


def test_a_capacity_zero_buffer_hands_parts_straight_through():
    result = run(
        """
        name: zero buffer
        run: {horizon: 1000s, warmup: 100s}
        elements:
          feed: {type: source}
          m1: {type: station, process: 1s}
          b: {type: buffer, capacity: 0}
          m2: {type: station, process: 2s}
          out: {type: sink}
        flow: [feed -> m1 -> b -> m2 -> out]
        """
    )
    assert result.replications[0].elements["m1"]["states"]["blocked"] == pytest.approx(0.5)
    assert single(result, "b.mean_level") == 0.0


def test_a_timed_robot_picks_only_when_it_can_put_the_part_down():
    # A 2 s robot loads a 10 s machine: it waits (starved) with empty hands until the machine
    # is free, then works 2 s; it is never blocked holding a part, as a station would be.
    result = run(
        """
        name: robot loads a machine
        run: {horizon: 1000s, warmup: 100s}
        elements:
          feed: {type: source}
          loader: {type: robot, fidelity: timed, cycle: 2s, pick: [0, 0.6, 0.8],
                   place: [0.6, 0, 0.8]}
          machine: {type: station, process: 10s}
          out: {type: sink}
        flow: [feed -> loader -> machine -> out]
        """
    )
    loader = result.replications[0].elements["loader"]["states"]
    assert loader["blocked"] == 0.0
    assert loader["working"] == pytest.approx(2 / 12)
    assert single(result, "throughput_per_hour") == pytest.approx(300)
