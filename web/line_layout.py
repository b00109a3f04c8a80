"""Where the 2D line view draws each element: physics elements where they stand, the rest laid
out along the flow (networkx), once per run."""

from __future__ import annotations

import math

import networkx as nx

from web.run_view import RunView

# Distance between neighbours in a layout of the flow alone, and the step that places an
# element next to a physics neighbour (metres, as the physics elements are placed).
STEP = 1.0
NEAR_M = 0.7
PUSHER_SIDE_M = 0.35
BELT = 0.55 * STEP  # how long a belt without a place of its own is drawn


def layout(view: RunView) -> dict[str, tuple[float, float]]:
    """A point per element (for a belt: its middle)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(view.elements)
    graph.add_edges_from(view.edges)
    fixed = _physics_points(view)
    if not fixed:
        return _layered(graph)
    return _around(graph, view, fixed)


def ends(view: RunView, points: dict[str, tuple[float, float]]) -> dict[str, tuple]:
    """Each element's two ends as the flow enters and leaves it (a belt's start and far end;
    a point element's point twice)."""
    found = {}
    for element_id, point in points.items():
        element = view.elements.get(element_id)
        if element is not None and element.xy_m is not None and element.end_xy_m is not None:
            found[element_id] = (element.xy_m, element.end_xy_m)
        elif element is not None and element.type == "conveyor":  # a belt without a place
            found[element_id] = ((point[0] - BELT / 2, point[1]), (point[0] + BELT / 2, point[1]))
        else:
            found[element_id] = (point, point)
    return found


def _physics_points(view: RunView) -> dict[str, tuple[float, float]]:
    points = {}
    for element in view.elements.values():
        if element.xy_m is None:
            continue
        if element.end_xy_m is not None:  # a belt: its middle
            (x0, y0), (x1, y1) = element.xy_m, element.end_xy_m
            points[element.id] = ((x0 + x1) / 2, (y0 + y1) / 2)
        else:
            points[element.id] = element.xy_m
    return points


def _layered(graph: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """Columns by distance from the sources (so a loop back does not stretch the line), rows
    within a column spread around the middle."""
    sources = [n for n in graph if graph.in_degree(n) == 0] or list(graph)[:1]
    depth: dict[str, int] = {}
    for source in sources:
        for node, distance in nx.single_source_shortest_path_length(graph, source).items():
            depth[node] = max(depth.get(node, 0), distance)
    for node in graph:  # elements the flow does not reach (a panel) go at the end
        depth.setdefault(node, max(depth.values(), default=0) + 1)
    # Longest paths from the sources put a merge after both its branches.
    for node in nx.topological_sort(graph) if nx.is_directed_acyclic_graph(graph) else ():
        for successor in graph.successors(node):
            depth[successor] = max(depth[successor], depth[node] + 1)
    columns: dict[int, list[str]] = {}
    for node in graph:
        columns.setdefault(depth[node], []).append(node)
    points = {}
    for column, nodes in columns.items():
        for row, node in enumerate(nodes):
            points[node] = (column * STEP, ((len(nodes) - 1) / 2 - row) * STEP)
    return points


def _around(
    graph: nx.DiGraph, view: RunView, fixed: dict[str, tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """Elements without a place of their own set beside the placed ones they connect to:
    between two, or a step before or after one (along its belt, if it is a belt)."""
    points = dict(fixed)
    for element in view.elements.values():  # a pusher beside its belt
        if element.type == "pusher":
            belts = [p for p in graph.predecessors(element.id) if p in fixed]
            if belts:
                start, end = ends(view, points)[belts[0]]
                length = math.dist(start, end) or 1.0
                along_m, side = element.along or (length / 2, "right")
                offset = PUSHER_SIDE_M if side == "right" else -PUSHER_SIDE_M
                points[element.id] = _beside(start, end, along_m / length, offset)
                for chute in graph.successors(element.id):  # where it pushes parts to
                    points.setdefault(chute, _beside(start, end, along_m / length, 2.5 * offset))
    for _ in range(len(graph)):
        placed_any = False
        for node in graph:
            if node in points:
                continue
            both_ends = ends(view, points)
            before = [both_ends[p][1] for p in graph.predecessors(node) if p in points]
            after = [both_ends[s][0] for s in graph.successors(node) if s in points]
            if before and after:
                points[node] = _mean(before + after)
            elif before:
                points[node] = _ahead(_mean(before), _heading(view, graph, node, points), NEAR_M)
            elif after:
                points[node] = _ahead(_mean(after), _heading(view, graph, node, points), -NEAR_M)
            else:
                continue
            placed_any = True
        if not placed_any:
            break
    lowest = min((y for _, y in points.values()), default=0.0)
    loose = [n for n in graph if n not in points]  # not connected to anything placed
    for index, node in enumerate(loose):
        points[node] = (index * NEAR_M, lowest - NEAR_M)
    return points


def _heading(view, graph, node, points) -> tuple[float, float]:
    """The direction of the flow near ``node``: along a belt it connects to, else +x."""
    for other in (*graph.predecessors(node), *graph.successors(node)):
        element = view.elements.get(other)
        if element is not None and element.end_xy_m is not None and element.xy_m is not None:
            dx = element.end_xy_m[0] - element.xy_m[0]
            dy = element.end_xy_m[1] - element.xy_m[1]
            length = math.hypot(dx, dy) or 1.0
            return dx / length, dy / length
    return 1.0, 0.0


def _mean(points: list[tuple[float, float]]) -> tuple[float, float]:
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def _ahead(point, heading, distance) -> tuple[float, float]:
    return point[0] + heading[0] * distance, point[1] + heading[1] * distance


def _beside(start, end, fraction, offset_m) -> tuple[float, float]:
    """A point ``fraction`` along a belt and ``offset_m`` to its right (seen along it)."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy) or 1.0
    return (
        start[0] + dx * fraction + dy / length * offset_m,
        start[1] + dy * fraction - dx / length * offset_m,
    )
