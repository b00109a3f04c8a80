"""twin as the OPC UA client of a PLC that serves the tags itself, behind the link façade."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from twin.control.links import OPCUA_NAMESPACE, LinkEvent, Value, opcua_node_name
from twin.control.opcua_common import (
    SECURITY_CHOICES,
    EventLoopThread,
    application_certificate,
    split_node,
    variant_of,
    wire_value,
)
from twin.errors import TwinError
from twin.scenario.tags import Tag

_logger = logging.getLogger(__name__)

CLIENT_URI = "urn:twin:plant:client"  # the application's URI, in its certificate
CONNECT_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 0.5
# A connection failure is not a reason to give up a run: the next attempt comes this much
# later, so that a PLC being restarted is found again without hammering it.
RETRY_S = 1.0


class OpcuaClientLink:
    """Each exchange writes the sensors to the PLC's nodes and reads its actuator nodes back,
    in one round trip; None while the PLC does not answer, and connecting again in the
    background until it does."""

    def __init__(
        self,
        tags: Iterable[Tag],
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        security: str | None = None,
        timeout_s: float = 1.0,
        certificate_folder: str | Path | None = None,
        namespace: str = OPCUA_NAMESPACE,
        retry_s: float = RETRY_S,
    ) -> None:
        self.tags = list(tags)
        self.url = url
        self.user = user
        self.password = password
        self.security = security or "none"
        self.timeout_s = timeout_s
        self.certificate_folder = Path(certificate_folder) if certificate_folder else None
        self.namespace = namespace
        self.retry_s = retry_s
        if self.security not in SECURITY_CHOICES:
            raise TwinError(
                f"OPC UA security {self.security!r} is not offered; "
                f"choose {' or '.join(SECURITY_CHOICES)}"
            )
        if self.security == "sign-and-encrypt" and self.certificate_folder is None:
            raise TwinError("sign-and-encrypt needs a folder to keep twin's client certificate in")
        if (user is None) != (password is None):
            raise TwinError("an OPC UA login needs both --opcua-user and its password")
        self._where = {tag.name: split_node(tag) for tag in self.tags}  # told now if unreadable
        self.sensors = [tag for tag in self.tags if tag.is_sensor]
        self._sensor_tags = {tag.name: tag for tag in self.sensors}
        self.actuators = [tag for tag in self.tags if not tag.is_sensor]
        self.name = f"OPC UA client of {url}"
        self._loop: EventLoopThread | None = None
        self._client: Client | None = None
        self._nodes: dict[str, ua.NodeId] = {}
        self._actuator_values = {tag.name: tag.safe_value for tag in self.actuators}
        self._connecting: asyncio.Future | None = None
        self._next_try_s = 0.0
        self._heard_s: float | None = None
        self._events: list[LinkEvent] = []  # from both threads: the scan's and the loop's
        self._events_lock = threading.Lock()
        self._told: set[tuple[str, str]] = set()
        self._last_failure = ""
        self._closed = False

    def start(self) -> None:
        """Connect and check that the PLC has every tag's node with the tag's type; a PLC that
        cannot be reached, refuses the login or lacks nodes is told with what to do."""
        self._loop = EventLoopThread("twin-opcua-client")
        try:
            self._loop.run(self._connect(), CONNECT_TIMEOUT_S + self.timeout_s)
        except TwinError:
            self.close()
            raise
        except Exception as error:
            self.close()
            raise TwinError(
                f"cannot reach the PLC's OPC UA server at {self.url}: {_reason(error)}; is it "
                "running and serving there (check the address, port and security)?"
            ) from None

    def exchange(self, sensors: dict[str, Value]) -> dict[str, Value] | None:
        if self._loop is None or self._closed:
            raise RuntimeError(f"{self.name} is not connected: start() it first")
        values = {}
        for name, value in sensors.items():
            tag = self._sensor_tags.get(name)
            if tag is None:
                raise KeyError(f"{name!r} is not a sensor of {self.name}")
            values[name] = wire_value(tag, value)
        if self._client is None:
            self._reconnect_later()
            return None
        try:
            self._loop.run(self._exchange(self._client, values), self.timeout_s)
        except Exception as error:  # timeout, connection lost, session gone: the PLC is lost
            self._lost(error)
            return None
        self._heard_s = time.monotonic()
        return dict(self._actuator_values)

    def last_heard_s(self) -> float | None:
        return self._heard_s

    def drain_events(self) -> list[LinkEvent]:
        with self._events_lock:
            events, self._events = self._events, []
        return events

    def _event(self, kind: str, detail: str) -> None:
        with self._events_lock:
            self._events.append(LinkEvent(kind, self.url, detail))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._loop is None:
            return
        client, self._client = self._client, None
        if client is not None:
            try:
                self._loop.run(_disconnect(client), CLOSE_TIMEOUT_S)
            except Exception as error:  # a PLC that is gone cannot be said goodbye to
                _logger.debug("disconnect from %s: %r", self.url, error)
        self._loop.stop()

    # -- connecting and reconnecting ------------------------------------------------------

    def _reconnect_later(self) -> None:
        connecting = self._connecting
        if connecting is not None:
            if not connecting.done():
                return
            self._connecting = None
            if connecting.exception() is None:
                return  # connected: the next exchange uses it
            self._next_try_s = time.monotonic() + self.retry_s
            reason = _reason(connecting.exception())
            if reason != self._last_failure:  # said once, not every retry
                self._last_failure = reason
                _logger.warning("OPC UA PLC at %s not connected again: %s", self.url, reason)
        if time.monotonic() >= self._next_try_s:
            self._connecting = asyncio.run_coroutine_threadsafe(self._connect(), self._loop.loop)

    def _lost(self, error: BaseException) -> None:
        client, self._client = self._client, None
        self._event("controller_disconnected", _reason(error))
        self._next_try_s = time.monotonic() + self.retry_s
        if client is not None:
            asyncio.run_coroutine_threadsafe(_disconnect(client), self._loop.loop)

    async def _connect(self) -> None:
        client = Client(self.url, timeout=self.timeout_s)
        client.application_uri = CLIENT_URI
        client.name = client.description = "twin plant"
        if self.security == "sign-and-encrypt":
            certificate = application_certificate(self.certificate_folder, "client", CLIENT_URI, [])
            await client.set_security(
                SecurityPolicyBasic256Sha256,
                str(certificate.certificate_path),
                str(certificate.key_path),
                mode=ua.MessageSecurityMode.SignAndEncrypt,
            )
        if self.user is not None:
            client.set_user(self.user)
            client.set_password(self.password)
        try:
            await asyncio.wait_for(client.connect(), CONNECT_TIMEOUT_S)
        except ua.UaStatusCodeError as error:
            await _disconnect(client)
            if isinstance(
                error, ua.uaerrors.BadUserAccessDenied | ua.uaerrors.BadIdentityTokenRejected
            ):
                raise TwinError(
                    f"the PLC at {self.url} refused the login ({type(error).__name__}); check "
                    "--opcua-user and its password, and that the PLC has that user"
                ) from None
            raise
        try:
            self._nodes = await self._find_nodes(client)
        except BaseException:
            await _disconnect(client)
            raise
        self._client = client
        self._last_failure = ""
        self._heard_s = time.monotonic()
        who = f"user {self.user}" if self.user else "anonymous"
        self._event("controller_connected", who)

    async def _find_nodes(self, client: Client) -> dict[str, ua.NodeId]:
        """Each tag's node on the PLC, its namespace found by URI on every connect (a PLC may
        number its namespaces differently after a restart)."""
        namespaces = await client.get_namespace_array()
        nodes = {}
        for tag in self.tags:
            uri, identifier = self._where[tag.name]
            uri = uri or self.namespace
            if uri not in namespaces:
                raise TwinError(
                    f"the PLC at {self.url} has no namespace {uri} (it has "
                    f"{', '.join(namespaces)}); give the tags' nodes as nsu=<its URI>;s=..."
                )
            nodes[tag.name] = ua.NodeId.from_string(f"ns={namespaces.index(uri)};{identifier}")
        kinds = await client.uaclient.read_attributes(
            list(nodes.values()), ua.AttributeIds.DataType
        )
        problems = []
        for tag, kind in zip(self.tags, kinds, strict=True):
            if not kind.StatusCode.is_good():
                problems.append(f"{tag.name} ({opcua_node_name(tag)}): {kind.StatusCode.name}")
            elif kind.Value.Value != ua.NodeId(variant_of(tag).value):
                problems.append(
                    f"{tag.name} is a {tag.type}, but the PLC's node {opcua_node_name(tag)} "
                    f"has data type {kind.Value.Value.to_string()}"
                )
        if problems:
            raise TwinError(
                f"the PLC at {self.url} does not serve the tags as the scenario says: "
                + "; ".join(problems)
                + ". Give each tag the PLC's node id (opcua: in the tag table) and a type "
                "that fits the PLC's variable"
            )
        return nodes

    async def _exchange(self, client: Client, values: dict[str, Value]) -> None:
        # No timestamps on the written values: several PLCs refuse a write that carries one.
        written = [
            ua.DataValue(ua.Variant(values[t.name], variant_of(t)))
            for t in self.sensors
            if t.name in values
        ]
        names = [t.name for t in self.sensors if t.name in values]
        read = client.uaclient.read_attributes(
            [self._nodes[t.name] for t in self.actuators], ua.AttributeIds.Value
        )
        if written:
            write = client.uaclient.write_attributes([self._nodes[n] for n in names], written)
            statuses, results = await asyncio.gather(write, read)
        else:
            statuses, results = [], await read
        for name, status in zip(names, statuses, strict=True):
            if not status.is_good():
                self._tell_once(name, f"the PLC refused the write to {name}: {status.name}")
        for tag, result in zip(self.actuators, results, strict=True):
            if result.StatusCode.is_good() and result.Value is not None:
                try:
                    self._actuator_values[tag.name] = wire_value(tag, result.Value.Value)
                except (TwinError, TypeError):
                    self._tell_once(tag.name, f"{tag.name}: the PLC's {result.Value.Value!r}")
            else:
                self._tell_once(tag.name, f"reading {tag.name}: {result.StatusCode.name}")

    def _tell_once(self, name: str, detail: str) -> None:
        if (name, detail) not in self._told:
            self._told.add((name, detail))
            self._event("request_refused", detail)


async def _disconnect(client: Client) -> None:
    try:
        await asyncio.wait_for(client.disconnect(), CLOSE_TIMEOUT_S)
    except Exception as error:
        _logger.debug("disconnect: %r", error)


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return "no answer in time"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
