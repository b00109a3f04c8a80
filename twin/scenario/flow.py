"""The flow of parts between elements: chains and branches, checked as a graph."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import networkx as nx

from twin.errors import ScenarioError
from twin.scenario.schema import ID_PATTERN, Branch, SinkSpec, SourceSpec


@dataclass(frozen=True)
class Route:
    """Where an element sends its parts: the targets in order and the rule choosing among them."""

    targets: tuple[str, ...]
    rule: str = "round_robin"
    weights: tuple[float, ...] | None = None


def _chain(index: int, text: str) -> list[str]:
    ids = [part.strip() for part in text.split("->")]
    if len(ids) < 2 or any(not ID_PATTERN.match(i) for i in ids):
        raise ScenarioError(
            f"{text!r} is not a chain; write element ids joined by '->', e.g. 'feed -> m1 -> done'",
            path=f"flow[{index}]",
        )
    return ids


def build_routes(elements: dict[str, object], flow: list[str | Branch]) -> dict[str, Route]:
    """The route of every element that sends parts on; raises ``ScenarioError`` on a bad flow."""
    known = ", ".join(elements)
    graph = nx.DiGraph()
    graph.add_nodes_from(elements)
    successors: dict[str, list[str]] = {}
    branches: dict[str, tuple[int, Branch]] = {}

    def check_known(index: int, element_id: str) -> None:
        if element_id not in elements:
            raise ScenarioError(
                f"unknown element {element_id!r}; known elements: {known}", path=f"flow[{index}]"
            )

    for index, entry in enumerate(flow):
        if isinstance(entry, Branch):
            for element_id in (entry.from_, *entry.to):
                check_known(index, element_id)
            if entry.from_ in branches:
                first = branches[entry.from_][0]
                raise ScenarioError(
                    f"{entry.from_!r} has a second branch (the first is flow[{first}]); "
                    "give one branch per element with all its targets",
                    path=f"flow[{index}]",
                )
            if len(set(entry.to)) != len(entry.to):
                raise ScenarioError(
                    f"targets {entry.to} name an element twice", path=f"flow[{index}]"
                )
            branches[entry.from_] = (index, entry)
            pairs = [(entry.from_, target) for target in entry.to]
        else:
            ids = _chain(index, entry)
            for element_id in ids:
                check_known(index, element_id)
            pairs = list(itertools.pairwise(ids))
        for a, b in pairs:
            if a == b:
                raise ScenarioError(f"{a!r} cannot feed itself", path=f"flow[{index}]")
            graph.add_edge(a, b)
            if b not in successors.setdefault(a, []):
                successors[a].append(b)

    routes: dict[str, Route] = {}
    for element_id, targets in successors.items():
        if element_id in branches:
            index, branch = branches[element_id]
            extra = [t for t in targets if t not in branch.to]
            if extra:
                raise ScenarioError(
                    f"{element_id!r} also feeds {extra[0]!r} outside its branch; "
                    f"add {extra[0]!r} to the branch's targets",
                    path=f"flow[{index}]",
                )
            weights = tuple(branch.weights) if branch.weights is not None else None
            routes[element_id] = Route(tuple(branch.to), branch.rule, weights)
        elif len(targets) > 1:
            raise ScenarioError(
                f"{element_id!r} feeds {', '.join(targets)} but says not how to choose; add "
                f"{{from: {element_id}, to: [{', '.join(targets)}], rule: round_robin}} "
                "(or shortest_queue, probability)",
                path="flow",
            )
        else:
            routes[element_id] = Route(tuple(targets))

    _check_graph(graph, elements)
    return routes


def _check_graph(graph: nx.DiGraph, elements: dict[str, object]) -> None:
    sources = [i for i, e in elements.items() if isinstance(e, SourceSpec)]
    if not sources:
        raise ScenarioError("a line needs at least one source (type: source)", path="elements")
    if not any(isinstance(e, SinkSpec) for e in elements.values()):
        raise ScenarioError("a line needs at least one sink (type: sink)", path="elements")
    for element_id, spec in elements.items():
        if isinstance(spec, SourceSpec) and graph.in_degree(element_id):
            feeder = next(iter(graph.predecessors(element_id)))
            raise ScenarioError(
                f"source {element_id!r} is fed by {feeder!r}; sources only send parts", path="flow"
            )
        if isinstance(spec, SinkSpec) and graph.out_degree(element_id):
            raise ScenarioError(f"sink {element_id!r} cannot send parts on", path="flow")
        if not isinstance(spec, SinkSpec) and not graph.out_degree(element_id):
            raise ScenarioError(
                f"{element_id!r} has no way out; add it to the flow, e.g. '{element_id} -> done'",
                path="flow",
            )
    reachable: set[str] = set()
    for source in sources:
        reachable |= nx.descendants(graph, source) | {source}
    unreachable = [i for i in elements if i not in reachable]
    if unreachable:
        raise ScenarioError(
            f"no source reaches {', '.join(repr(i) for i in unreachable)}; "
            "connect them in the flow or remove them",
            path="flow",
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
                    raise ScenarioError(
                        f"saturated source {source!r} reaches sink {sink!r} through no station "
                        "or conveyor; give it an interarrival or put a station between",
                        path=f"elements.{source}.interarrival",
                    )
