"""The I/O image: the plant's side of every tag, as the scan cycle reads and writes it.

Each sensor tag is bound once, when the plant is built, to what reads its element's signal,
and each actuator tag to what sets it. What sits between plant and controller — a stuck
sensor, an actuator that does not respond, a protocol server — wraps an image like this one
(the ``PlantIO`` protocol of ``twin.control.scan``) without touching the elements.
"""

from __future__ import annotations

from collections.abc import Callable

from twin.scenario.tags import Tag, TagTable

# How a signal's value is given to the controller, by tag type.
_CONVERT: dict[str, Callable] = {"bool": bool, "float32": float}


class IOImage:
    """Reads sensors from and writes actuators to the line's elements, by tag."""

    def __init__(self, table: TagTable, elements: dict) -> None:
        self._readers: dict[str, Callable[[], bool | int | float]] = {}
        self._writers: dict[str, Callable[[bool | int | float], None]] = {}
        for tag in table:
            element = elements[tag.element_id]
            if tag.is_sensor:
                self._readers[tag.name] = _converted(element.sensor(tag.signal), tag)
            else:
                self._writers[tag.name] = element.actuator(tag.signal)

    def read(self, tag: Tag) -> bool | int | float:
        return self._readers[tag.name]()

    def write(self, tag: Tag, value: bool | int | float) -> None:
        self._writers[tag.name](value)


def _converted(reader: Callable, tag: Tag) -> Callable[[], bool | int | float]:
    convert = _CONVERT.get(tag.type, int)
    return lambda: convert(reader())
