"""Scenario files: what a valid line looks like, and how every mistake is reported.

Each invalid case says which field is wrong, on which line of which file, and what would be
valid. The cases are derived from one small valid line so that each differs by one mistake.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest

from twin.distributions import (
    Constant,
    Empirical,
    Erlang,
    Exponential,
    Lognormal,
    Normal,
    Triangular,
    Uniform,
)
from twin.errors import ScenarioError
from twin.scenario import Route, load_scenario, parse_scenario

# The line numbers the cases below refer to:
#  1 name            4 feed    7 belt    10 flow:
#  2 run             5 m1      8 m2      11   the chain
#  3 elements:       6 b1      9 done    12.. flow entries a case adds
BASE = """\
name: Two-station line
run: {horizon: 8h, warmup: 30min, seed: 1}
elements:
  feed: {type: source, interarrival: {exponential: 60s}}
  m1: {type: station, process: {exponential: 50s}, failures: {mtbf: 4h, mttr: 10min}}
  b1: {type: buffer, capacity: 5}
  belt: {type: conveyor, length: 6, speed: 0.5, capacity: 10}
  m2: {type: station, process: {lognormal: {mean: 55s, sd: 5s}}}
  done: {type: sink}
flow:
  - feed -> m1 -> b1 -> belt -> m2 -> done
"""

SOURCE = "line.yaml"


def derive(
    *replacements: tuple[str, str], elements: tuple[str, ...] = (), flow: tuple[str, ...] = ()
) -> str:
    """BASE with text replaced, elements added after `done` and entries added to the flow."""
    text = BASE
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} must occur once in the base scenario"
        text = text.replace(old, new)
    added = "".join(f"  {line}\n" for line in elements)
    text = text.replace("  done: {type: sink}\n", "  done: {type: sink}\n" + added)
    return text + "".join(f"  - {entry}\n" for entry in flow)


def parse(text: str, overrides: tuple[str, ...] = ()):
    return parse_scenario(text, source=SOURCE, overrides=overrides)


def refused(text: str, overrides: tuple[str, ...] = ()) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        parse(text, overrides)
    return caught.value


# --- the base line -----------------------------------------------------------------------------


def test_the_base_line_reads_as_written() -> None:
    scenario = parse(BASE)

    assert scenario.name == "Two-station line"
    assert scenario.source == SOURCE
    assert scenario.text == BASE
    assert scenario.sha256 == hashlib.sha256(BASE.encode()).hexdigest()
    assert (scenario.run.horizon_s, scenario.run.warmup_s) == (28800.0, 1800.0)
    assert (scenario.run.seed, scenario.run.replications, scenario.run.parts) == (1, 1, None)
    assert list(scenario.elements) == ["feed", "m1", "b1", "belt", "m2", "done"]
    assert scenario.elements["feed"].interarrival == Exponential(60.0)
    assert scenario.elements["m1"].process == Exponential(50.0)
    assert scenario.elements["m1"].capacity == 1
    assert scenario.elements["m1"].failures.mtbf == Exponential(14400.0)
    assert scenario.elements["m1"].failures.mttr == Exponential(600.0)
    assert scenario.elements["b1"].capacity == 5.0
    assert scenario.elements["belt"].travel_s == 12.0
    assert scenario.elements["m2"].process == Lognormal(55.0, 5.0)
    assert scenario.routes == {
        "feed": Route(("m1",)),
        "m1": Route(("b1",)),
        "b1": Route(("belt",)),
        "belt": Route(("m2",)),
        "m2": Route(("done",)),
    }
    assert scenario.element_ids("station") == ["m1", "m2"]


# --- invalid fragments -------------------------------------------------------------------------

INVALID = [
    # Numbers out of range or of the wrong kind.
    pytest.param(
        derive(("capacity: 5}", "capacity: -1}")),
        "elements.b1.capacity",
        6,
        "-1 is not allowed; a buffer holds 0 or more parts",
        id="buffer-capacity-negative",
    ),
    pytest.param(
        derive(("capacity: 5}", "capacity: 2.5}")),
        "elements.b1.capacity",
        6,
        "2.5 is not allowed; a buffer holds a whole number of parts (0 or more) or 'inf'",
        id="buffer-capacity-fractional",
    ),
    pytest.param(
        derive(("capacity: 5}", "capacity: lots}")),
        "elements.b1.capacity",
        6,
        "'lots' is not allowed; a buffer holds a whole number of parts (0 or more) or 'inf'",
        id="buffer-capacity-word",
    ),
    pytest.param(
        derive(("sd: 5s}}}", "sd: 5s}}, capacity: 0}")),
        "elements.m2.capacity",
        8,
        "0 is not allowed; a station processes 1 or more parts at once",
        id="station-capacity-zero",
    ),
    pytest.param(
        derive(("sd: 5s}}}", "sd: 5s}}, capacity: 2.5}")),
        "elements.m2.capacity",
        8,
        "2.5 is not allowed; a station processes a whole number of parts, 1 or more",
        id="station-capacity-fractional",
    ),
    pytest.param(
        derive(("speed: 0.5", "speed: 0")),
        "elements.belt.speed",
        7,
        "speed 0 is not allowed; a conveyor moves at more than 0 m/s",
        id="conveyor-speed-zero",
    ),
    pytest.param(
        derive(("length: 6", "length: -6")),
        "elements.belt.length",
        7,
        "length -6 is not allowed; a conveyor is more than 0 m long",
        id="conveyor-length-negative",
    ),
    pytest.param(
        derive(("length: 6", "length: 6m")),
        "elements.belt.length",
        7,
        "length '6m' is not allowed; give a plain number of metres, e.g. length: 6",
        id="conveyor-length-with-unit",
    ),
    pytest.param(
        derive(("capacity: 10}", "capacity: 0}")),
        "elements.belt.capacity",
        7,
        "0 is not allowed; a conveyor carries 1 or more parts",
        id="conveyor-capacity-zero",
    ),
    pytest.param(
        derive(("capacity: 10}", "capacity: 2.5}")),
        "elements.belt.capacity",
        7,
        "2.5 is not allowed; a conveyor carries a whole number of parts, 1 or more",
        id="conveyor-capacity-fractional",
    ),
    pytest.param(
        derive(("seed: 1}", "seed: 1, replications: 0}")),
        "run.replications",
        2,
        "replications 0 is not allowed; run 1 or more",
        id="replications-zero",
    ),
    pytest.param(
        derive(("seed: 1}", "seed: 1, replications: 2.5}")),
        "run.replications",
        2,
        "replications 2.5 is not allowed; run a whole number of replications, 1 or more",
        id="replications-fractional",
    ),
    pytest.param(
        derive(("seed: 1}", "seed: -1}")),
        "run.seed",
        2,
        "seed -1 is not allowed; use 0 or more",
        id="seed-negative",
    ),
    pytest.param(
        derive(("seed: 1}", "seed: 1, parts: 0}")),
        "run.parts",
        2,
        "parts 0 is not allowed; end the run after 1 or more parts",
        id="parts-zero",
    ),
    pytest.param(
        derive(("{exponential: 60s}}", "{exponential: 60s}, limit: 0}")),
        "elements.feed.limit",
        4,
        "limit 0 is not allowed; a source creates 1 or more parts (leave limit out for no limit)",
        id="source-limit-zero",
    ),
    pytest.param(
        derive(("sd: 5s}}}", "sd: 5s}}, setup: {time: 5min, every: 0}}")),
        "elements.m2.setup.every",
        8,
        "every 0 is not allowed; a setup comes once every 1 or more parts, e.g. every: 10",
        id="setup-every-zero",
    ),
    # Element types and fields.
    pytest.param(
        derive(("{type: buffer, capacity: 5}", "{type: silo, capacity: 5}")),
        "elements.b1.type",
        6,
        "type 'silo' is unknown; valid types: source, station, buffer, conveyor, robot, sink, "
        "pusher, panel",
        id="unknown-type",
    ),
    pytest.param(
        derive(("{type: buffer, capacity: 5}", "{capacity: 5}")),
        "elements.b1.type",
        6,
        "type is missing; valid types: source, station, buffer, conveyor, robot, sink, "
        "pusher, panel",
        id="missing-type",
    ),
    pytest.param(
        derive(("{type: buffer, capacity: 5}", "{tpye: buffer, capacity: 5}")),
        "elements.b1.type",
        6,
        "type is missing (is 'tpye' meant to be 'type'?); "
        "valid types: source, station, buffer, conveyor, robot, sink, pusher, panel",
        id="misspelt-type",
    ),
    pytest.param(
        derive(("{type: buffer, capacity: 5}", "5")),
        "elements.b1",
        6,
        "5 is not an element; write a mapping with a type, e.g. {type: station, process: 50s}; "
        "valid types: source, station, buffer, conveyor, robot, sink, pusher, panel",
        id="element-not-a-mapping",
    ),
    pytest.param(
        derive(("{type: buffer, capacity: 5}", "{type: buffer, capcity: 5}")),
        "elements.b1.capcity",
        6,
        "unknown field 'capcity' (did you mean 'capacity'?); valid fields here: type, capacity",
        id="unknown-field-typo",
    ),
    pytest.param(
        derive(("{type: buffer, capacity: 5}", "{type: buffer, capacity: 5, colour: red}")),
        "elements.b1.colour",
        6,
        "unknown field 'colour'; valid fields here: type, capacity",
        id="unknown-field-unlike-any",
    ),
    pytest.param(
        derive(("  b1: {", "  buffer one: {")),
        "elements",
        6,
        "'buffer one' is not an element id; use letters, digits and _ (dots to group, "
        "e.g. line1.m1), starting with a letter",
        id="element-id-with-space",
    ),
    pytest.param(
        derive(("  b1: {", "  run: {"), ("b1 -> belt", "run -> belt")),
        "elements",
        6,
        "'run' is reserved for run settings; rename the element",
        id="element-named-run",
    ),
    pytest.param(
        derive(("  b1: {", "  run.b1: {"), ("b1 -> belt", "run.b1 -> belt")),
        "elements",
        6,
        "'run.b1' starts with 'run', which is reserved for run settings; rename the element",
        id="element-id-starting-with-run",
    ),
    pytest.param(
        derive(("  b1: {type: buffer, capacity: 5}\n", "  b1: {type: buffer, capacity: 5}\n" * 2)),
        "elements",
        7,
        "id 'b1' is used twice (lines 6 and 7); each id must be unique",
        id="id-used-twice",
    ),
    pytest.param(
        derive(("capacity: 5}", "capacity: 5, capacity: 9}")),
        "elements.b1",
        6,
        "field 'capacity' is used twice on line 6; each field must be unique",
        id="field-used-twice-on-one-line",
    ),
    pytest.param(
        derive(("failures: {mtbf: 4h, mttr: 10min}", "failures: {mtbf: 4h}")),
        "elements.m1.failures.mttr",
        5,
        "mttr is missing; failures need both, e.g. {mtbf: 4h, mttr: 10min}",
        id="failures-without-mttr",
    ),
    pytest.param(
        derive(("failures: {mtbf: 4h, mttr: 10min}", "failures: {}")),
        "elements.m1.failures.mtbf",
        5,
        "mtbf and mttr are missing; failures need both, e.g. {mtbf: 4h, mttr: 10min}",
        id="failures-empty-mapping",
    ),
    pytest.param(
        derive(("failures: {mtbf: 4h, mttr: 10min}", "failures: 4h")),
        "elements.m1.failures",
        5,
        "'4h' is not a mapping; give failures as a mapping, e.g. {mtbf: 4h, mttr: 10min}",
        id="failures-not-a-mapping",
    ),
    pytest.param(
        derive(("mttr: 10min", "mttr: 0")),
        "elements.m1.failures.mttr",
        5,
        "0 is not allowed; a mean time must be greater than 0",
        id="mttr-zero",
    ),
    pytest.param(
        derive(("{type: station, process: {lognormal: {mean: 55s, sd: 5s}}}", "{type: station}")),
        "elements.m2.process",
        8,
        "process is missing; a station needs a process time, e.g. process: {exponential: 50s}",
        id="station-without-process",
    ),
    pytest.param(
        derive(("length: 6, speed: 0.5, ", "")),
        "elements.belt.length",
        7,
        "length and speed are missing; a conveyor needs length, speed and capacity, "
        "e.g. {type: conveyor, length: 6, speed: 0.5, capacity: 10}",
        id="conveyor-without-length-and-speed",
    ),
    pytest.param(
        derive(("{type: buffer, capacity: 5}", "{type: buffer}")),
        "elements.b1.capacity",
        6,
        "capacity is missing; a buffer needs a capacity, e.g. capacity: 5 (or inf for no limit)",
        id="buffer-without-capacity",
    ),
    # Durations and distributions.
    pytest.param(
        derive(("{lognormal: {mean: 55s, sd: 5s}}", "5 parsecs")),
        "elements.m2.process",
        8,
        "'5 parsecs' is not a duration; use a number of seconds or a number with a unit: "
        "ms, s, min, h, d (e.g. 90s, 5min)",
        id="bad-duration-unit",
    ),
    pytest.param(
        derive(("{exponential: 50s}, failures", "-50s, failures")),
        "elements.m1.process",
        5,
        "-50s is negative; a duration is 0 or more",
        id="negative-process-time",
    ),
    pytest.param(
        derive(("warmup: 30min", "warmup: -30min")),
        "run.warmup",
        2,
        "-30min is negative; a duration is 0 or more",
        id="negative-warmup",
    ),
    pytest.param(
        derive(("mttr: 10min", "mttr: -10min")),
        "elements.m1.failures.mttr",
        5,
        "-10min is negative; a mean time is greater than 0",
        id="negative-repair-time",
    ),
    pytest.param(
        derive(("{lognormal: {mean: 55s, sd: 5s}}", "{uniform: [-5s, 5s]}")),
        "elements.m2.process",
        8,
        "uniform value -5s is negative; a duration is 0 or more",
        id="negative-bound-inside-a-distribution",
    ),
    pytest.param(
        derive(("horizon: 8h", "horizon: 5 parsecs")),
        "run.horizon",
        2,
        "'5 parsecs' is not a duration; use a number of seconds or a number with a unit: "
        "ms, s, min, h, d (e.g. 90s, 5min)",
        id="bad-horizon-unit",
    ),
    pytest.param(
        derive(("{lognormal: {mean: 55s, sd: 5s}}", "{gamma: 3}")),
        "elements.m2.process",
        8,
        "unknown distribution 'gamma'; use one of: constant, exponential, normal, lognormal, "
        "uniform, triangular, erlang, empirical",
        id="unknown-distribution",
    ),
    pytest.param(
        derive(("{lognormal: {mean: 55s, sd: 5s}}", "{uniform: [60s, 40s]}")),
        "elements.m2.process",
        8,
        "uniform [60s, 40s]: the lower bound must come first, e.g. [40s, 60s]",
        id="uniform-reversed",
    ),
    pytest.param(
        derive(("{exponential: 60s}", "0")),
        "elements.feed.interarrival",
        4,
        "a mean interarrival time of 0 is not allowed; omit interarrival for a saturated source",
        id="interarrival-zero",
    ),
    # Run settings.
    pytest.param(
        derive(("horizon: 8h", "horizon: 10min")),
        "run",
        2,
        "horizon 10min must be longer than warmup 30min; lengthen the horizon or shorten "
        "the warmup",
        id="horizon-shorter-than-warmup",
    ),
    pytest.param(
        derive(("horizon: 8h, ", "")),
        "run",
        2,
        "a run needs an end: give horizon (e.g. 8h), parts (e.g. 1000) or both",
        id="no-horizon-no-parts",
    ),
    pytest.param(
        derive(("{horizon: 8h, warmup: 30min, seed: 1}", "8h")),
        "run",
        2,
        "'8h' is not a mapping; give run settings as a mapping, "
        "e.g. {horizon: 8h, warmup: 30min, seed: 1}",
        id="run-not-a-mapping",
    ),
    # The top level.
    pytest.param(
        derive(("name: Two-station line\n", "")),
        "name",
        1,
        "name is missing; give the line a name, e.g. name: Two-station line",
        id="missing-name",
    ),
    pytest.param(
        derive(("run: {horizon: 8h, warmup: 30min, seed: 1}\n", "")),
        "run",
        1,
        "run is missing; give the run settings, e.g. run: {horizon: 8h, warmup: 30min}",
        id="missing-run",
    ),
    pytest.param(
        derive(("flow:\n  - feed -> m1 -> b1 -> belt -> m2 -> done\n", "")),
        "flow",
        1,
        "flow is missing; a line needs a flow, e.g. flow: [feed -> m1 -> done]",
        id="missing-flow",
    ),
    pytest.param(
        derive(("  - feed -> m1 -> b1 -> belt -> m2 -> done\n", "  []\n")),
        "flow",
        10,
        "a line needs a flow: at least one chain of element ids, e.g. [feed -> m1 -> done]",
        id="empty-flow",
    ),
    pytest.param(
        derive(("  - feed -> m1 -> b1 -> belt -> m2 -> done\n", "  feed -> m1 -> done\n")),
        "flow",
        10,
        "'feed -> m1 -> done' is not a list; write one entry per line starting with '- ', "
        "e.g. - feed -> m1 -> done",
        id="flow-not-a-list",
    ),
    pytest.param(
        derive(("  - feed -> m1 -> b1 -> belt -> m2 -> done\n", "")),
        "flow",
        10,
        "a line needs a flow: at least one chain of element ids, e.g. [feed -> m1 -> done]",
        id="flow-left-empty",
    ),
    pytest.param(
        derive(("name: Two-station line", "name: 42")),
        "name",
        1,
        "42 is not text; write text, in quotes if it looks like a number",
        id="name-not-text",
    ),
    # The flow.
    pytest.param(
        derive(("m2 -> done", "m3 -> done")),
        "flow[0]",
        11,
        "unknown element 'm3'; known elements: feed, m1, b1, belt, m2, done",
        id="unknown-id-in-flow",
    ),
    pytest.param(
        derive(flow=("{from: m1, to: [b1, m3]}",)),
        "flow[1].to[1]",
        12,
        "unknown element 'm3'; known elements: feed, m1, b1, belt, m2, done",
        id="unknown-id-in-branch",
    ),
    pytest.param(
        derive(("feed -> m1", "feed -> -> m1")),
        "flow[0]",
        11,
        "'feed -> -> m1 -> b1 -> belt -> m2 -> done' is not a chain; write element ids joined "
        "by '->', e.g. 'feed -> m1 -> done'",
        id="bad-chain-syntax",
    ),
    pytest.param(
        derive(flow=("m1",)),
        "flow[1]",
        12,
        "'m1' is not a chain; write element ids joined by '->', e.g. 'feed -> m1 -> done'",
        id="chain-of-one",
    ),
    pytest.param(
        derive(flow=("42",)),
        "flow[1]",
        12,
        "42 is not a flow entry; write a chain such as 'feed -> m1 -> done' or a branch such "
        "as {from: m1, to: [b1, b2]}",
        id="flow-entry-a-number",
    ),
    pytest.param(
        derive(flow=("{from: m1, to: [1, done]}",)),
        "flow[1].to[0]",
        12,
        "1 is not an element id; write the id of an element, e.g. m1",
        id="branch-target-a-number",
    ),
    pytest.param(
        derive(flow=("m1 -> m1",)),
        "flow[1]",
        12,
        "'m1' cannot feed itself",
        id="feeds-itself",
    ),
    pytest.param(
        derive(
            elements=("scrap: {type: buffer, capacity: 20}",),
            flow=("{from: m1, to: [b1, scrap], rule: probability, weights: [0.95, 0.05]}",),
        ),
        "elements.scrap",
        10,
        "'scrap' has no way out; add it to the flow, e.g. 'scrap -> done'",
        id="no-way-out",
    ),
    pytest.param(
        derive(elements=("rework: {type: station, process: 2min}",), flow=("rework -> done",)),
        "elements.rework",
        10,
        "no source reaches 'rework'; connect them in the flow or remove them",
        id="unreachable",
    ),
    pytest.param(
        derive(flow=("{from: m2, to: [done, feed], rule: round_robin}",)),
        "flow[1]",
        12,
        "source 'feed' is fed by 'm2'; sources only send parts, so remove m2 -> feed",
        id="source-fed",
    ),
    pytest.param(
        derive(flow=("done -> m1",)),
        "flow[1]",
        12,
        "sink 'done' cannot send parts on; parts leave the line at a sink, so remove done -> m1",
        id="sink-feeds",
    ),
    pytest.param(
        derive(flow=("m1 -> done",)),
        "flow[1]",
        12,
        "'m1' feeds b1, done but says not how to choose; add "
        "{from: m1, to: [b1, done], rule: round_robin} (or shortest_queue, probability)",
        id="two-successors-without-rule",
    ),
    pytest.param(
        derive(flow=("m1 -> done", "{from: m1, to: [b1], rule: round_robin}")),
        "flow[2]",
        13,
        "'m1' also feeds 'done' outside its branch; add 'done' to the branch's targets",
        id="successor-outside-branch",
    ),
    pytest.param(
        derive(flow=("{from: m1, to: [b1, done]}", "{from: m1, to: [b1, done]}")),
        "flow[2]",
        13,
        "'m1' has a second branch (the first is flow[1]); give one branch per element with "
        "all its targets",
        id="two-branches-from-one-element",
    ),
    pytest.param(
        derive(flow=("{from: m1, to: [b1, b1]}",)),
        "flow[1].to",
        12,
        "to [b1, b1] names 'b1' twice; name each target once",
        id="branch-target-twice",
    ),
    pytest.param(
        derive(flow=("{from: m1, to: []}",)),
        "flow[1].to",
        12,
        "to is empty; a branch needs at least one target, e.g. to: [b1, b2]",
        id="branch-without-targets",
    ),
    pytest.param(
        derive(flow=("{from: m1, rule: round_robin}",)),
        "flow[1].to",
        12,
        "to is missing; a branch needs from and to, e.g. {from: m1, to: [b1, b2]}",
        id="branch-without-to",
    ),
    pytest.param(
        derive(flow=("{from: m1, to: [b1, done], rule: probability}",)),
        "flow[1]",
        12,
        "rule probability needs one weight per target (2), e.g. weights: [0.7, 0.3]",
        id="probability-without-weights",
    ),
    pytest.param(
        derive(flow=("{from: m1, to: [b1, done], rule: probability, weights: [1]}",)),
        "flow[1]",
        12,
        "rule probability needs one weight per target (2), e.g. weights: [0.7, 0.3]",
        id="probability-wrong-weight-count",
    ),
    pytest.param(
        derive(flow=("{from: m1, to: [b1, done], rule: probability, weights: [0, 0]}",)),
        "flow[1]",
        12,
        "weights [0, 0] are all 0; give at least one target a weight above 0",
        id="probability-all-weights-zero",
    ),
    pytest.param(
        derive(flow=("{from: m1, to: [b1, done], rule: probability, weights: [0.7, 0.2]}",)),
        "flow[1]",
        12,
        "weights [0.7, 0.2] sum to 0.9; the weights of rule probability are the targets' "
        "probabilities and sum to 1, e.g. weights: [0.7, 0.3]",
        id="probability-weights-short-of-one",
    ),
    pytest.param(
        derive(flow=("{from: m1, to: [b1, done], rule: probability, weights: [3, 1]}",)),
        "flow[1]",
        12,
        "weights [3, 1] sum to 4; the weights of rule probability are the targets' "
        "probabilities and sum to 1, e.g. weights: [0.75, 0.25]",
        id="probability-weights-as-ratios",
    ),
    pytest.param(
        derive(flow=("{from: m1, to: [b1, done], rule: probability, weights: [1, -0.5]}",)),
        "flow[1]",
        12,
        "weight -0.5 for 'done' is not allowed; a weight is 0 or more",
        id="probability-negative-weight",
    ),
    pytest.param(
        derive(flow=("{from: m1, to: [b1, done], rule: probability, weights: [1, lots]}",)),
        "flow[1].weights[1]",
        12,
        "'lots' is not a number; write a number, e.g. 0.5",
        id="probability-weight-a-word",
    ),
    pytest.param(
        derive(flow=("{from: m1, to: [b1, done], rule: round_robin, weights: [1, 2]}",)),
        "flow[1]",
        12,
        "weights only go with rule probability, not round_robin; remove the weights or write "
        "rule: probability",
        id="weights-on-round-robin",
    ),
    pytest.param(
        derive(flow=("{from: m1, to: [b1, done], rule: random}",)),
        "flow[1].rule",
        12,
        "rule 'random' is unknown; use 'round_robin', 'shortest_queue' or 'probability'",
        id="unknown-rule",
    ),
    pytest.param(
        derive(
            ("feed: {type: source, interarrival: {exponential: 60s}}", "feed: {type: source}"),
            flow=("{from: feed, to: [m1, done], rule: round_robin}",),
        ),
        "elements.feed.interarrival",
        4,
        "saturated source 'feed' reaches sink 'done' through no station or conveyor; give it "
        "an interarrival or put a station between",
        id="saturated-source-straight-into-sink",
    ),
    # Not YAML, or not a scenario at all.
    pytest.param(
        derive(("  b1:", "\tb1:")),
        "",
        6,
        "not valid YAML: found character '\\t' that cannot start any token; indent with "
        "spaces, not tabs",
        id="invalid-yaml-tab",
    ),
]


@pytest.mark.parametrize(("text", "path", "line", "message"), INVALID)
def test_an_invalid_scenario_names_the_field_the_line_and_what_is_valid(
    text: str, path: str, line: int, message: str
) -> None:
    error = refused(text)

    assert error.path == path
    assert error.where == f"{SOURCE}:{line}"
    assert error.message == message
    if path:
        assert str(error) == f"{SOURCE}:{line}: {path}: {message}"
    else:
        assert str(error) == f"{SOURCE}:{line}: {message}"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("- feed -> m1 -> done\n", id="a-list"),
        pytest.param("just a line of text\n", id="a-string"),
        pytest.param("", id="empty"),
    ],
)
def test_a_file_that_is_not_a_mapping_is_refused_naming_the_file(text: str) -> None:
    error = refused(text)

    assert error.where == SOURCE
    assert str(error) == (
        f"{SOURCE}: a scenario is a YAML mapping with name, run, elements and flow"
    )


def test_a_key_given_twice_names_both_lines_in_block_style() -> None:
    block = "  b1:\n    type: buffer\n    capacity: 5\n    capacity: 9\n"  # lines 6 to 9
    text = derive(("  b1: {type: buffer, capacity: 5}\n", block))

    error = refused(text)

    assert error.path == "elements.b1"
    assert error.where == f"{SOURCE}:9"
    assert (
        error.message == "field 'capacity' is used twice (lines 8 and 9); each field must be unique"
    )


def test_several_problems_are_reported_first_one_located_the_others_listed() -> None:
    text = derive(("capacity: 5}", "capacity: -1}"), ("speed: 0.5", "speed: 0"))

    error = refused(text)

    assert error.path == "elements.b1.capacity"
    assert error.where == f"{SOURCE}:6"
    assert "(also elements.belt.speed: " in error.message


def test_an_unknown_field_in_block_style_points_at_the_misspelt_line() -> None:
    text = derive(
        ("  b1: {type: buffer, capacity: 5}\n", "  b1:\n    type: buffer\n    capcity: 5\n")
    )

    error = refused(text)

    assert error.where == f"{SOURCE}:8"
    assert error.path == "elements.b1.capcity"
    assert error.message == (
        "unknown field 'capcity' (did you mean 'capacity'?); valid fields here: type, capacity"
    )


def test_a_flow_error_about_a_dotted_id_points_at_that_element() -> None:
    text = derive(
        ("feed: {type: source, interarrival: {exponential: 60s}}", "line1.feed: {type: source}"),
        ("  - feed -> m1", "  - line1.feed -> m1"),
        flow=("{from: line1.feed, to: [m1, done], rule: round_robin}",),
    )

    error = refused(text)

    assert error.path == "elements.line1.feed.interarrival"
    assert error.where == f"{SOURCE}:4"


def test_a_missing_element_field_in_block_style_points_at_the_element() -> None:
    # Lines 7 to 10: the belt written out, without its speed.
    block = "  belt:\n    type: conveyor\n    length: 6\n    capacity: 10\n"
    text = derive(("  belt: {type: conveyor, length: 6, speed: 0.5, capacity: 10}\n", block))

    error = refused(text)

    assert error.path == "elements.belt.speed"
    assert error.where == f"{SOURCE}:7"
    assert error.message == (
        "speed is missing; a conveyor needs length, speed and capacity, "
        "e.g. {type: conveyor, length: 6, speed: 0.5, capacity: 10}"
    )


def test_a_line_without_elements_says_what_it_needs() -> None:
    text = "name: Empty line\nrun: {horizon: 1h}\nelements: {}\nflow:\n  - feed -> done\n"

    error = refused(text)

    assert error.path == "elements"
    assert error.where == f"{SOURCE}:3"
    assert error.message == (
        "a line needs elements: at least a source and a sink, "
        "e.g. {feed: {type: source}, m1: {type: station, process: 50s}, done: {type: sink}}"
    )


def test_a_file_with_only_a_name_lists_what_a_scenario_has() -> None:
    error = refused("name: Nothing yet\n")

    assert error.path == "run"
    assert error.where == f"{SOURCE}:1"
    assert error.message == (
        "run, elements and flow are missing; a scenario has name, run, elements and flow"
    )


# --- valid fragments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        pytest.param("55", Constant(55.0), id="bare-number"),
        pytest.param("55s", Constant(55.0), id="bare-duration"),
        pytest.param("{constant: 1min}", Constant(60.0), id="constant"),
        pytest.param("{exponential: 50s}", Exponential(50.0), id="exponential"),
        pytest.param("{normal: {mean: 55s, sd: 5s}}", Normal(55.0, 5.0), id="normal"),
        pytest.param("{lognormal: {mean: 1min, sd: 5s}}", Lognormal(60.0, 5.0), id="lognormal"),
        pytest.param("{uniform: [40s, 1min]}", Uniform(40.0, 60.0), id="uniform"),
        pytest.param(
            "{triangular: [40s, 50s, 70s]}", Triangular(40.0, 50.0, 70.0), id="triangular"
        ),
        pytest.param("{erlang: {mean: 1min, k: 3}}", Erlang(60.0, 3), id="erlang"),
        pytest.param("{empirical: [48s, 52s, 50]}", Empirical((48.0, 52.0, 50.0)), id="empirical"),
    ],
)
def test_every_distribution_form_is_a_valid_process_time(written: str, expected: object) -> None:
    scenario = parse(derive(("{lognormal: {mean: 55s, sd: 5s}}", written)))

    assert scenario.elements["m2"].process == expected


@pytest.mark.parametrize(
    ("rule_text", "expected"),
    [
        pytest.param("", Route(("belt", "m2"), "round_robin"), id="round-robin-by-default"),
        pytest.param(", rule: round_robin", Route(("belt", "m2"), "round_robin"), id="round-robin"),
        pytest.param(
            ", rule: shortest_queue", Route(("belt", "m2"), "shortest_queue"), id="shortest-queue"
        ),
        pytest.param(
            ", rule: probability, weights: [0.7, 0.3]",
            Route(("belt", "m2"), "probability", (0.7, 0.3)),
            id="probability",
        ),
    ],
)
def test_a_branch_routes_by_its_rule(rule_text: str, expected: Route) -> None:
    # b1 feeds either the belt to m2 or m2 directly.
    text = derive(
        ("  - feed -> m1 -> b1 -> belt -> m2 -> done\n", "  - feed -> m1 -> b1\n"),
        flow=(f"{{from: b1, to: [belt, m2]{rule_text}}}", "belt -> m2 -> done"),
    )

    scenario = parse(text)

    assert scenario.routes["b1"] == expected
    assert scenario.routes["belt"] == Route(("m2",))


def test_probabilities_summing_to_one_but_for_rounding_are_taken_as_written() -> None:
    # 0.7 + 0.2 + 0.1 is 0.9999999999999999 in binary floating point.
    text = derive(
        ("  - feed -> m1 -> b1 -> belt -> m2 -> done\n", "  - feed -> m1 -> b1\n"),
        elements=("m3: {type: station, process: 50s}",),
        flow=(
            "{from: b1, to: [belt, m2, m3], rule: probability, weights: [0.7, 0.2, 0.1]}",
            "belt -> m2 -> done",
            "m3 -> done",
        ),
    )

    assert parse(text).routes["b1"].weights == (0.7, 0.2, 0.1)


def test_a_part_mix_is_weights_not_probabilities() -> None:
    # One tall part for every three flat ones: weights need not sum to 1.
    text = derive(
        (
            "feed: {type: source, interarrival: {exponential: 60s}}",
            "feed: {type: source, interarrival: 60s, part: {tall: 1, flat: 3}}",
        ),
    )
    text += "parts:\n  tall: {size: [0.1, 0.1, 0.2]}\n  flat: {size: [0.1, 0.1, 0.05]}\n"

    assert parse(text).elements["feed"].part == {"tall": 1, "flat": 3}


@pytest.mark.parametrize(
    ("written", "capacity"),
    [
        pytest.param("inf", math.inf, id="inf"),
        pytest.param("unlimited", math.inf, id="unlimited"),
        pytest.param("0", 0.0, id="zero-is-a-direct-hand-over"),
        pytest.param("12", 12.0, id="whole-number"),
        pytest.param("3.0", 3.0, id="whole-float"),
    ],
)
def test_buffer_capacities(written: str, capacity: float) -> None:
    scenario = parse(derive(("capacity: 5}", f"capacity: {written}}}")))

    assert scenario.elements["b1"].capacity == capacity


def test_element_ids_may_be_dotted_to_group_them() -> None:
    text = BASE.replace("m1", "line1.m1").replace("m2", "line1.m2")

    scenario = parse(text)

    assert list(scenario.elements) == ["feed", "line1.m1", "b1", "belt", "line1.m2", "done"]
    assert scenario.routes["feed"] == Route(("line1.m1",))
    assert scenario.routes["line1.m2"] == Route(("done",))


def test_a_run_may_end_after_a_number_of_parts_only() -> None:
    scenario = parse(derive(("{horizon: 8h, warmup: 30min, seed: 1}", "{parts: 500}")))

    assert scenario.run.parts == 500
    assert scenario.run.horizon_s is None
    assert scenario.run.warmup_s == 0.0
    assert (scenario.run.replications, scenario.run.seed) == (1, 0)


def test_a_saturated_source_is_fine_when_a_station_takes_time_before_the_sink() -> None:
    scenario = parse(derive((", interarrival: {exponential: 60s}}", "}")))

    assert scenario.elements["feed"].interarrival is None


@pytest.mark.parametrize(
    ("written", "time", "every"),
    [
        pytest.param("30s", Constant(30.0), 1, id="short-form-before-every-part"),
        pytest.param("{exponential: 30s}", Exponential(30.0), 1, id="random-short-form"),
        pytest.param("{time: 5min, every: 10}", Constant(300.0), 10, id="every-tenth-part"),
        pytest.param("{time: {uniform: [1min, 2min]}}", Uniform(60.0, 120.0), 1, id="random-time"),
    ],
)
def test_setup_forms(written: str, time: object, every: int) -> None:
    scenario = parse(derive(("sd: 5s}}}", f"sd: 5s}}}}, setup: {written}}}")))

    setup = scenario.elements["m2"].setup
    assert setup.time == time
    assert setup.every == every


def test_a_setup_without_a_time_asks_for_the_time() -> None:
    error = refused(derive(("sd: 5s}}}", "sd: 5s}}, setup: {every: 10}}")))

    assert error.path == "elements.m2.setup.time"
    assert error.where == f"{SOURCE}:8"
    assert (
        error.message
        == "time is missing; a setup needs a time, e.g. setup: {time: 5min, every: 10}"
    )


@pytest.mark.parametrize(
    ("written", "mtbf", "mttr"),
    [
        pytest.param(
            "{mtbf: 4h, mttr: 10min}", Exponential(14400.0), Exponential(600.0), id="plain"
        ),
        pytest.param(
            "{mtbf: 3600, mttr: 60}", Exponential(3600.0), Exponential(60.0), id="numbers"
        ),
        pytest.param(
            "{mtbf: {erlang: {mean: 4h, k: 2}}, mttr: {uniform: [5min, 15min]}}",
            Erlang(14400.0, 2),
            Uniform(300.0, 900.0),
            id="distributions",
        ),
        pytest.param(
            "{mtbf: {constant: 2h}, mttr: 10min}", Constant(7200.0), Exponential(600.0), id="mixed"
        ),
    ],
)
def test_failure_times(written: str, mtbf: object, mttr: object) -> None:
    scenario = parse(derive(("{mtbf: 4h, mttr: 10min}", written)))

    failures = scenario.elements["m1"].failures
    assert failures.mtbf == mtbf
    assert failures.mttr == mttr


# --- --set overrides ---------------------------------------------------------------------------


def test_an_override_changes_the_field_but_not_the_recorded_text() -> None:
    scenario = parse(BASE, ("m1.capacity=2",))

    assert scenario.elements["m1"].capacity == 2
    assert scenario.elements["m2"].capacity == 1
    assert scenario.overrides == ("m1.capacity=2",)
    assert scenario.text == BASE


def test_an_override_reaches_a_dotted_id() -> None:
    text = BASE.replace("m1", "line1.m1")

    scenario = parse(text, ("line1.m1.capacity=3",))

    assert scenario.elements["line1.m1"].capacity == 3


def test_an_override_of_the_run_settings() -> None:
    scenario = parse(BASE, ("run.horizon=2h", "run.seed=42"))

    assert scenario.run.horizon_s == 7200.0
    assert scenario.run.seed == 42
    assert scenario.run.warmup_s == 1800.0


def test_a_nested_override_keeps_the_fields_beside_it() -> None:
    scenario = parse(BASE, ("m1.failures.mtbf=2h",))

    assert scenario.elements["m1"].failures.mtbf == Exponential(7200.0)
    assert scenario.elements["m1"].failures.mttr == Exponential(600.0)


def test_an_override_may_add_a_field_the_file_leaves_out() -> None:
    scenario = parse(BASE, ("m2.setup={time: 5min, every: 10}",))

    assert scenario.elements["m2"].setup.time == Constant(300.0)
    assert scenario.elements["m2"].setup.every == 10


def test_a_bad_override_value_is_validated_like_the_file_and_blamed_on_the_setting() -> None:
    error = refused(BASE, ("m1.capacity=0",))

    assert error.path == "elements.m1.capacity"
    assert error.where == "--set m1.capacity=0"
    assert str(error) == (
        "--set m1.capacity=0: elements.m1.capacity: "
        "0 is not allowed; a station processes 1 or more parts at once"
    )


def test_an_override_breaking_a_rule_with_a_field_of_the_file_names_both() -> None:
    # The horizon comes from the setting, the warmup it clashes with from line 2 of the file.
    error = refused(BASE, ("run.horizon=10min",))

    assert error.path == "run"
    assert error.where == f"{SOURCE}:2 (with --set run.horizon=10min)"
    assert error.message == (
        "horizon 10min must be longer than warmup 30min; lengthen the horizon or shorten the warmup"
    )


def test_overrides_breaking_a_rule_between_themselves_are_blamed_alone() -> None:
    error = refused(BASE, ("run.horizon=10min", "run.warmup=1h"))

    assert error.where == "--set run.horizon=10min and --set run.warmup=1h"
    assert error.message == (
        "horizon 10min must be longer than warmup 1h; lengthen the horizon or shorten the warmup"
    )


def test_an_override_replacing_a_whole_section_is_blamed_for_what_it_lacks() -> None:
    error = refused(BASE, ("m2.setup={every: 10}",))

    assert error.path == "elements.m2.setup.time"
    assert error.where == "--set m2.setup={every: 10}"


def test_an_override_creating_a_section_is_blamed_for_what_it_lacks() -> None:
    error = refused(BASE, ("m2.setup.every=10",))

    assert error.path == "elements.m2.setup.time"
    assert error.where == "--set m2.setup.every=10"
    assert (
        error.message
        == "time is missing; a setup needs a time, e.g. setup: {time: 5min, every: 10}"
    )


def test_a_section_of_the_file_lacking_a_field_is_named_with_the_override_inside_it() -> None:
    text = derive(("failures: {mtbf: 4h, mttr: 10min}", "failures: {mtbf: 4h}"))

    error = refused(text, ("m1.failures.mtbf=2h",))

    assert error.path == "elements.m1.failures.mttr"
    assert error.where == f"{SOURCE}:5 (with --set m1.failures.mtbf=2h)"
    assert error.message == "mttr is missing; failures need both, e.g. {mtbf: 4h, mttr: 10min}"


def test_a_flow_error_caused_by_an_override_is_blamed_on_it() -> None:
    text = derive(flow=("{from: feed, to: [m1, done]}",))

    error = refused(text, ("feed.interarrival=null",))

    assert error.path == "elements.feed.interarrival"
    assert error.where == "--set feed.interarrival=null"


def test_an_override_with_a_misspelt_field_lists_the_valid_ones() -> None:
    error = refused(BASE, ("m1.capcity=2",))

    assert error.where == "--set m1.capcity=2"
    assert error.path == "elements.m1.capcity"
    assert error.message == (
        "unknown field 'capcity' (did you mean 'capacity'?); "
        "valid fields here: type, process, capacity, failures, setup"
    )


def test_an_override_of_an_unknown_element_lists_the_known_ids() -> None:
    error = refused(BASE, ("m9.capacity=2",))

    assert error.where == "--set m9.capacity=2"
    assert error.message == (
        "'m9.capacity' names no element; write element.field=value with one of: "
        "run, feed, m1, b1, belt, m2, done"
    )


def test_an_override_may_name_the_elements_section() -> None:
    scenario = parse(BASE, ("elements.m1.capacity=2",))

    assert scenario.elements["m1"].capacity == 2


def test_an_override_of_the_whole_run_section_asks_for_a_field() -> None:
    error = refused(BASE, ("run=5",))

    assert error.where == "--set run=5"
    assert error.message == "'run' holds the run settings; set one of them, e.g. run.seed=3"


@pytest.mark.parametrize("setting", ["m1capacity", "m1.capacity", "=2"])
def test_a_setting_without_a_name_and_an_equals_sign_shows_the_form(setting: str) -> None:
    error = refused(BASE, (setting,))

    assert error.where == "--set"
    assert error.message == (
        f"{setting!r} is not a setting; write element.field=value, e.g. m1.capacity=2"
    )


def test_an_override_value_that_is_not_yaml_is_refused() -> None:
    error = refused(BASE, ("m1.capacity=[2",))

    assert error.where == "--set m1.capacity=[2"
    assert error.message == "value '[2' is not valid YAML"


def test_a_mistake_in_the_file_is_not_blamed_on_an_unrelated_override() -> None:
    # The horizon is shorter than the warmup in the file; the --seed the user gave is fine.
    text = derive(("horizon: 8h", "horizon: 10min"))

    error = refused(text, ("run.seed=3",))

    assert error.where == f"{SOURCE}:2"


def test_a_mistake_in_an_element_is_not_blamed_on_an_override_beside_it() -> None:
    text = derive(("mttr: 10min", "mttr: 0"))

    error = refused(text, ("m1.failures.mtbf=2h", "m1.capacity=2"))

    assert error.path == "elements.m1.failures.mttr"
    assert error.where == f"{SOURCE}:5"


def test_run_settings_are_set_with_run_even_beside_an_element_starting_with_run() -> None:
    text = derive(("  b1: {", "  runner: {"), ("b1 -> belt", "runner -> belt"))

    scenario = parse(text, ("run.seed=7", "runner.capacity=2"))

    assert scenario.run.seed == 7
    assert scenario.elements["runner"].capacity == 2.0


# --- files -------------------------------------------------------------------------------------


def test_loading_a_file_names_it_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "line.yaml"
    path.write_text(derive(("capacity: 5}", "capacity: -1}")), encoding="utf-8")

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    assert caught.value.where == f"{path}:6"
    assert caught.value.path == "elements.b1.capacity"


def test_loading_a_good_file_keeps_its_path_and_text(tmp_path: Path) -> None:
    path = tmp_path / "line.yaml"
    path.write_text(BASE, encoding="utf-8")

    scenario = load_scenario(path, ["m1.capacity=2"])

    assert scenario.source == str(path)
    assert scenario.text == BASE
    assert scenario.elements["m1"].capacity == 2


def test_loading_a_missing_file_says_so_and_what_to_give(tmp_path: Path) -> None:
    path = tmp_path / "no-such-line.yaml"

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    assert str(caught.value) == f"file not found: {path}; give the path of a scenario .yaml"
