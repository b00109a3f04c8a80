"""Hints at the end of a run: elements a controller left waiting for most of the time."""

from __future__ import annotations

# An element that waited on its controller for more than this share of the measured time.
WAITING_SHARE = 0.5


def deadlock_hints(scenario, elements: dict[str, dict]) -> list[str]:
    """One sentence for each commanded element that spent more than half of the measured time
    waiting on the controller, from the element results (mean shares over replications).

    A commanded station is ``idle`` exactly while a part waits for ``start``, a commanded
    belt while it stands with parts on it. A commanded source is idle by design (it makes
    parts only when released). A commanded robot never enters ``idle``: one that took no
    part at all while the element feeding it held a part for it is named too.
    """
    table = scenario.tags
    if table is None:
        return []
    commanded = {tag.element_id for tag in table.actuators}
    variables = scenario.control is not None and scenario.control.plc is not None
    hints = []
    for element_id, spec in scenario.elements.items():
        result = elements.get(element_id)
        if element_id not in commanded or result is None:
            continue
        states = result.get("states", {})
        if spec.type == "station":
            share = states.get("idle", 0.0)
            if share > WAITING_SHARE:
                hints.append(
                    f"{element_id} waited {_percent(share)} of the time for "
                    f"{_actuator(table, element_id, 'start', variables)} with a part present"
                )
        elif spec.type == "conveyor":
            share = states.get("idle", 0.0)
            if share > WAITING_SHARE:
                hints.append(
                    f"{element_id} stood {_percent(share)} of the time with parts on it, "
                    f"waiting for {_actuator(table, element_id, 'run', variables)}"
                )
        elif spec.type == "robot":
            hint = _robot_hint(scenario, elements, element_id, table, variables)
            if hint is not None:
                hints.append(hint)
    return hints


def _robot_hint(scenario, elements: dict, robot_id: str, table, variables: bool) -> str | None:
    """A robot that did no cycle while a feeder held a part for it more than half the time.

    A robot takes a part only when armed by ``start`` and when it can put the part down;
    having done no cycle at all, its own targets had no part from it, so the wait is most
    likely the missing ``start``. A robot that did some cycles gets no hint: its state
    shares cannot tell a slow handshake from a full machine downstream.
    """
    states = elements[robot_id].get("states", {})
    if states.get("working", 0.0) > 0.0 or states.get("starved", 0.0) <= WAITING_SHARE:
        return None
    for feeder_id, route in scenario.routes.items():
        if robot_id not in route.targets or feeder_id not in elements:
            continue
        share = _holding_share(elements[feeder_id])
        if share > WAITING_SHARE:
            return (
                f"{robot_id} did no cycle while {feeder_id} held a part for it "
                f"{_percent(share)} of the time: it picks only after a rising edge of "
                f"{_actuator(table, robot_id, 'start', variables)}"
            )
    return None


def _holding_share(result: dict) -> float:
    """Share of the time an element had a part it could not hand on."""
    states = result.get("states", {})
    if result.get("type") == "buffer":
        return states.get("partial", 0.0) + states.get("full", 0.0)
    return states.get("blocked", 0.0)


def _actuator(table, element_id: str, signal: str, variables: bool) -> str:
    """```press.start` (variable `start_press`)``: the tag and, for a PLC, what it reads."""
    name = f"{element_id}.{signal}"
    tag = table.by_name.get(name)
    if tag is None:
        return f"`{name}`, which no tag drives"
    if not variables:
        return f"`{name}`"
    if tag.var.startswith("%"):
        return f"`{name}` (the variable at `{tag.var}`)"
    return f"`{name}` (variable `{tag.var}`)"


def _percent(share: float) -> str:
    return f"{share * 100:.0f} %"
