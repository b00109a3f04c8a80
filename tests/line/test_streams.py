"""Common random numbers: every element draws each kind of random number (process times,
failures, setups, arrivals, routing) from a stream of its own, keyed by its id and the
purpose — not by its place in the file, and not shared with the other elements."""

from __future__ import annotations

from conftest import scenario

from twin.line import Line
from twin.observer import BaseObserver

# Two stations with the same distributions, a routing by probability and a source.
LINE = """
name: streams
run: {horizon: 4h, seed: 11}
elements:
  feed: {type: source, interarrival: {exponential: 40s}}
  m1: {type: station, process: {exponential: 30s}, failures: {mtbf: 20min, mttr: 2min},
       setup: {time: {uniform: [5s, 15s]}, every: 3}}
  m2: {type: station, process: {exponential: 30s}, failures: {mtbf: 20min, mttr: 2min},
       setup: {time: {uniform: [5s, 15s]}, every: 3}}
  split: {type: buffer, capacity: inf}
  left: {type: sink}
  right: {type: sink}
flow:
  - feed -> m1 -> m2 -> split
  - {from: split, to: [left, right], rule: probability, weights: [0.5, 0.5]}
"""
# The same line with its elements written in another order.
REORDERED = """
name: streams
run: {horizon: 4h, seed: 11}
elements:
  m2: {type: station, process: {exponential: 30s}, failures: {mtbf: 20min, mttr: 2min},
       setup: {time: {uniform: [5s, 15s]}, every: 3}}
  split: {type: buffer, capacity: inf}
  left: {type: sink}
  m1: {type: station, process: {exponential: 30s}, failures: {mtbf: 20min, mttr: 2min},
       setup: {time: {uniform: [5s, 15s]}, every: 3}}
  right: {type: sink}
  feed: {type: source, interarrival: {exponential: 40s}}
flow:
  - feed -> m1 -> m2 -> split
  - {from: split, to: [left, right], rule: probability, weights: [0.5, 0.5]}
"""
# The same line with a station added before the others (first in the file and in the flow).
EXTENDED = LINE.replace(
    "elements:\n",
    "elements:\n  m0: {type: station, process: {exponential: 30s}, "
    "failures: {mtbf: 20min, mttr: 2min}}\n",
).replace("feed -> m1", "feed -> m0 -> m1")

DRAWS = ("draw_process", "draw_mtbf", "draw_mttr", "draw_setup")


def draws(text: str, element_id: str, count: int = 25) -> dict[str, list[float]]:
    """The first numbers each of the element's samplers gives, as the line built them."""
    element = Line(scenario(text)).elements[element_id]
    found = {}
    for name in (*DRAWS, "draw_interarrival"):
        sampler = getattr(element, name, None)
        if sampler is not None:
            found[name] = [sampler() for _ in range(count)]
    return found


class Routes(BaseObserver):
    """The target of every part the split sends on, in order."""

    def __init__(self) -> None:
        self.targets: list[str] = []

    def move(self, time_s, part_id, from_id, to_id) -> None:
        if from_id == "split":
            self.targets.append(to_id)


def routes(text: str) -> list[str]:
    observer = Routes()
    Line(scenario(text), observer=observer).run()
    return observer.targets


def test_the_order_of_the_elements_in_the_file_changes_no_element_s_numbers():
    assert REORDERED != LINE
    for element_id in ("feed", "m1", "m2"):
        assert draws(REORDERED, element_id) == draws(LINE, element_id), element_id


def test_two_stations_with_the_same_distributions_draw_different_numbers():
    m1, m2 = draws(LINE, "m1"), draws(LINE, "m2")
    for name in DRAWS:
        assert m1[name] != m2[name], name
        assert not set(m1[name]) & set(m2[name]), name  # not even shifted copies


def test_each_purpose_of_one_station_has_a_stream_of_its_own():
    m1 = draws(LINE, "m1")
    # mtbf and mttr are both exponential: from one stream they would be scaled copies.
    ratios = {round(a / b, 9) for a, b in zip(m1["draw_mtbf"], m1["draw_mttr"], strict=True)}
    assert len(ratios) == len(m1["draw_mtbf"])


def test_an_element_added_anywhere_leaves_every_other_element_s_numbers_unchanged():
    for element_id in ("feed", "m1", "m2"):
        assert draws(EXTENDED, element_id) == draws(LINE, element_id), element_id


def test_the_routing_of_a_split_keeps_its_draws_when_the_line_is_reordered():
    base = routes(LINE)
    assert len(base) > 100 and set(base) == {"left", "right"}
    assert routes(REORDERED) == base
