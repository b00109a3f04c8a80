"""The flow of parts between elements: chains and branches, checked as a graph."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import networkx as nx

from twin.errors import ScenarioError
from twin.scenario.schema import (
    ID_PATTERN,
    OFF_FLOW_TYPES,
    Branch,
    Key,
    PusherSpec,
    SinkSpec,
    SourceSpec,
    dotted,
)


@dataclass(frozen=True)
class Route:
    """Where an element sends its parts: the targets in order and the rule choosing among them."""

    targets: tuple[str, ...]
    rule: str = "round_robin"
    weights: tuple[float, ...] | None = None


class FlowError(ScenarioError):
    """A flow that cannot be built; ``key`` is the place in the scenario the error is about."""

    def __init__(self, message: str, key: Key) -> None:
        super().__init__(message, path=dotted(key))
        self.key = key


def _chain(index: int, text: str) -> list[str]:
    ids = [part.strip() for part in text.split("->")]
    if len(ids) < 2 or any(not ID_PATTERN.match(i) for i in ids):
        raise FlowError(
            f"{text!r} is not a chain; write element ids joined by '->', e.g. 'feed -> m1 -> done'",
            ("flow", index),
        )
    return ids


def build_routes(elements: dict[str, object], flow: list[str | Branch]) -> dict[str, Route]:
    """The route of every element that sends parts on; raises ``FlowError`` on a bad flow."""
    known = ", ".join(elements)
    graph = nx.DiGraph()
    graph.add_nodes_from(elements)
    successors: dict[str, list[str]] = {}
    branches: dict[str, tuple[int, Branch]] = {}
    # The flow entry that first joined each pair: errors about a link point at it.
    origin: dict[tuple[str, str], Key] = {}

    def check_known(element_id: str, key: Key) -> None:
        if element_id not in elements:
            raise FlowError(f"unknown element {element_id!r}; known elements: {known}", key)

    for index, entry in enumerate(flow):
        here: Key = ("flow", index)
        if isinstance(entry, Branch):
            check_known(entry.from_, (*here, "from"))
            for position, target in enumerate(entry.to):
                check_known(target, (*here, "to", position))
            if entry.from_ in branches:
                first = branches[entry.from_][0]
                raise FlowError(
                    f"{entry.from_!r} has a second branch (the first is flow[{first}]); "
                    "give one branch per element with all its targets",
                    here,
                )
            twice = [t for position, t in enumerate(entry.to) if t in entry.to[:position]]
            if twice:
                raise FlowError(
                    f"to [{', '.join(entry.to)}] names {twice[0]!r} twice; name each target once",
                    (*here, "to"),
                )
            branches[entry.from_] = (index, entry)
            pairs = [(entry.from_, target) for target in entry.to]
        else:
            ids = _chain(index, entry)
            for element_id in ids:
                check_known(element_id, here)
            pairs = list(itertools.pairwise(ids))
        for a, b in pairs:
            if a == b:
                raise FlowError(f"{a!r} cannot feed itself", here)
            graph.add_edge(a, b)
            origin.setdefault((a, b), here)
            if b not in successors.setdefault(a, []):
                successors[a].append(b)

    routes: dict[str, Route] = {}
    for element_id, targets in successors.items():
        if element_id in branches:
            index, branch = branches[element_id]
            extra = [t for t in targets if t not in branch.to]
            if extra:
                raise FlowError(
                    f"{element_id!r} also feeds {extra[0]!r} outside its branch; "
                    f"add {extra[0]!r} to the branch's targets",
                    ("flow", index),
                )
            weights = tuple(branch.weights) if branch.weights is not None else None
            routes[element_id] = Route(tuple(branch.to), branch.rule, weights)
        elif len(targets) > 1:
            raise FlowError(
                f"{element_id!r} feeds {', '.join(targets)} but says not how to choose; add "
                f"{{from: {element_id}, to: [{', '.join(targets)}], rule: round_robin}} "
                "(or shortest_queue, probability)",
                origin[(element_id, targets[1])],
            )
        else:
            routes[element_id] = Route(tuple(targets))

    for element_id, spec in elements.items():
        if isinstance(spec, PusherSpec):
            # The belt feeds its pushers through the physics, not by a route of its own.
            if not isinstance(getattr(elements.get(spec.belt), "type", None), str):
                raise FlowError(
                    f"unknown element {spec.belt!r}; a pusher stands beside a conveyor, "
                    f"known elements: {known}",
                    ("elements", element_id, "on"),
                )
            if getattr(elements[spec.belt], "fidelity", None) != "physics":
                raise FlowError(
                    f"{spec.belt!r} is not a physics conveyor; a pusher stands beside a "
                    "conveyor with fidelity: physics",
                    ("elements", element_id, "on"),
                )
            graph.add_edge(spec.belt, element_id)
    off_flow = [i for i, e in elements.items() if getattr(e, "type", None) in OFF_FLOW_TYPES]
    for element_id in off_flow:
        if graph.degree(element_id):
            raise FlowError(
                f"{element_id!r} is a {elements[element_id].type} and holds no parts; "
                "take it out of the flow",
                ("elements", element_id),
            )
    _check_graph(graph.subgraph(i for i in elements if i not in off_flow), elements, origin)
    return routes


def _check_graph(
    graph: nx.DiGraph, elements: dict[str, object], origin: dict[tuple[str, str], Key]
) -> None:
    sources = [i for i, e in elements.items() if isinstance(e, SourceSpec)]
    if not sources:
        raise FlowError("a line needs at least one source (type: source)", ("elements",))
    sinks = [i for i, e in elements.items() if isinstance(e, SinkSpec)]
    if not sinks:
        raise FlowError("a line needs at least one sink (type: sink)", ("elements",))
    for element_id in graph.nodes:
        spec = elements[element_id]
        if isinstance(spec, SourceSpec) and graph.in_degree(element_id):
            feeder = next(iter(graph.predecessors(element_id)))
            raise FlowError(
                f"source {element_id!r} is fed by {feeder!r}; sources only send parts, "
                f"so remove {feeder} -> {element_id}",
                origin[(feeder, element_id)],
            )
        if isinstance(spec, SinkSpec) and graph.out_degree(element_id):
            target = next(iter(graph.successors(element_id)))
            raise FlowError(
                f"sink {element_id!r} cannot send parts on; parts leave the line at a sink, "
                f"so remove {element_id} -> {target}",
                origin[(element_id, target)],
            )
        if not isinstance(spec, SinkSpec) and not graph.out_degree(element_id):
            raise FlowError(
                f"{element_id!r} has no way out; add it to the flow, "
                f"e.g. '{element_id} -> {sinks[0]}'",
                ("elements", element_id),
            )
    reachable: set[str] = set()
    for source in sources:
        reachable |= nx.descendants(graph, source) | {source}
    unreachable = [i for i in graph.nodes if i not in reachable]
    if unreachable:
        raise FlowError(
            f"no source reaches {', '.join(repr(i) for i in unreachable)}; "
            "connect them in the flow or remove them",
            ("elements", unreachable[0]),
        )
    # A saturated source feeding a sink through buffers only would create parts without end
    # at one instant: something must take time between them.
    timeless = graph.subgraph(
        i for i, e in elements.items() if getattr(e, "type", "") in {"source", "buffer", "sink"}
    )
    for source in sources:
        if elements[source].interarrival is None:
            for sink in nx.descendants(timeless, source):
                if isinstance(elements[sink], SinkSpec):
                    raise FlowError(
                        f"saturated source {source!r} reaches sink {sink!r} through no station "
                        "or conveyor; give it an interarrival or put a station between",
                        ("elements", source, "interarrival"),
                    )
