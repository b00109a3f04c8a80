"""Links to an external controller: what `twin plant` exchanges the tags through each scan.

A link is either a server that a controller talks to (Modbus TCP, OPC UA) or a client of a
controller that serves (a PLC's own Modbus or OPC UA server). Each hides its protocol behind the
same synchronous calls, so the scan cycle neither knows nor cares which it has; the protocol's
own threads and event loops stay inside the adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from twin.scenario.tags import Tag

Value = bool | int | float

# The namespace every tag of twin's OPC UA server lives in; clients resolve its index by URI.
OPCUA_NAMESPACE = "urn:twin:plant"


@dataclass(frozen=True)
class LinkEvent:
    """Something that happened on a link between two scans: a controller connected, went away,
    sent something that was refused."""

    kind: str  # controller_connected, controller_disconnected, request_refused
    peer: str  # who, as the protocol names it: "127.0.0.1:53211", a session name
    detail: str = ""


class ControllerLink(Protocol):
    """One way between the plant and an external controller."""

    name: str  # what a person is told: "Modbus TCP server on 127.0.0.1:5020"

    def start(self) -> None:
        """Bind or connect; raises a ``TwinError`` naming the address and what to do."""

    def exchange(self, sensors: dict[str, Value]) -> dict[str, Value] | None:
        """Publish the sensors (by tag name) and give the actuators the controller last set;
        None when a client link's controller did not answer this time."""

    def last_heard_s(self) -> float | None:
        """``time.monotonic()`` of the last request from (or answer of) the controller."""

    def drain_events(self) -> list[LinkEvent]:
        """What happened since the last call, oldest first."""

    def close(self) -> None:
        """Unbind or disconnect; safe to call twice."""


def opcua_node_name(tag: Tag) -> str:
    """The node id a tag has in twin's namespace, without the namespace index (which a client
    resolves from :data:`OPCUA_NAMESPACE`): the tag's ``opcua:`` field, or ``s=<tag name>``."""
    return tag.opcua if tag.opcua is not None else f"s={tag.name}"
