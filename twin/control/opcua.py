"""The plant's tags served over OPC UA (asyncua in a thread of its own), behind the link façade."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import math
import socket
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from asyncua import Server, ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.internal_server import InternalServer
from asyncua.server.internal_session import InternalSession, SessionState

from twin.control.links import OPCUA_NAMESPACE, LinkEvent, Value, opcua_node_name
from twin.control.opcua_common import (
    SECURITY_CHOICES,
    Certificate,
    EventLoopThread,
    application_certificate,
    node_id,
    split_node,
    variant_of,
    wire_value,
)
from twin.control.opcua_users import check, load_users
from twin.errors import TwinError
from twin.scenario.tags import Tag

_logger = logging.getLogger(__name__)

SERVER_URI = "urn:twin:plant:server"  # the application's URI, in its certificate
# Building asyncua's standard address space takes 3-5 s on a busy two-core machine.
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 2.0
# A controller that vanished without closing its session (killed, unplugged) is forgotten after
# this long; asyncua's default (10 min) would keep its subscriptions alive that long.
MAX_SESSION_TIMEOUT_MS = 60_000
_NOTHING = object()
BIND_HINT = "add --opcua-security sign-and-encrypt --opcua-users FILE"


class OpcuaServerLink:
    """An OPC UA server holding one variable per tag: the controller reads the sensors and
    writes the actuators; the plant exchanges both with it once a scan."""

    def __init__(
        self,
        tags: Iterable[Tag],
        endpoint: str = "opc.tcp://127.0.0.1:4840",
        *,
        security: str = "none",
        users_file: str | Path | None = None,
        certificate_folder: str | Path | None = None,
    ) -> None:
        self.tags = list(tags)
        self.endpoint = endpoint
        self.security = security
        self.users_file = Path(users_file) if users_file is not None else None
        self.certificate_folder = Path(certificate_folder) if certificate_folder else None
        self.host, self.port = _host_and_port(endpoint)
        _check_security(self)
        if self.users_file is not None:
            load_users(self.users_file)  # a broken file is told now, not at the first login
        for tag in self.tags:  # a node id that cannot be served is told now
            uri = split_node(tag)[0]
            if uri not in (None, OPCUA_NAMESPACE):
                raise TwinError(
                    f"{tag.name}: OPC UA node {opcua_node_name(tag)!r} is in namespace {uri}, "
                    f"but twin serves its tags in {OPCUA_NAMESPACE}; leave the nsu= part out"
                )
        self.sensors = {tag.name: tag for tag in self.tags if tag.is_sensor}
        guards = [
            "Basic256Sha256 SignAndEncrypt" if security == "sign-and-encrypt" else "",
            f"users from {self.users_file}" if self.users_file is not None else "",
        ]
        shown = ", ".join(guard for guard in guards if guard)
        self.name = f"OPC UA server on {endpoint}" + (f" ({shown})" if shown else "")
        self.namespace_index: int | None = None
        self._ledger = _Ledger(self.tags, self.users_file, security == "sign-and-encrypt")
        self.certificate: Certificate | None = None  # the server's, once started securely
        self._published: dict[str, Value] = {}
        self._pending: dict[str, Value] = {}
        self._pending_lock = threading.Lock()
        self._flush_scheduled = False
        self._loop: EventLoopThread | None = None
        self._server: Server | None = None
        self._nodes: dict[str, ua.NodeId] = {}
        self._write_lock: asyncio.Lock | None = None
        self._flushes: set[asyncio.Task] = set()
        self._closed = False

    def start(self) -> None:
        # asyncua takes seconds to build its address space before it binds: a port in use
        # is told at once instead.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            with socket.create_server((self.host, self.port), family=family):
                pass
        except OSError as error:
            raise self._bind_error(error) from None
        if self.security == "sign-and-encrypt":
            self.certificate = application_certificate(
                self.certificate_folder, "server", SERVER_URI, [self.host]
            )
        self._loop = EventLoopThread(f"twin-opcua-server-{self.port}")
        try:
            self._loop.run(self._serve(self.certificate), START_TIMEOUT_S)
        except OSError as error:
            self.close()
            raise self._bind_error(error) from None
        except TimeoutError:
            self.close()
            raise TwinError(
                f"the OPC UA server on {self.endpoint} did not start within "
                f"{START_TIMEOUT_S:.0f} s; is the machine very busy?"
            ) from None
        except BaseException:
            self.close()
            raise

    def _bind_error(self, error: OSError) -> TwinError:
        if error.errno in (errno.EADDRINUSE, errno.EACCES):
            fix = (
                f"port {self.port} is taken (or needs root); stop the other server or choose "
                f"another port, e.g. opc.tcp://{self.host}:{self.port + 1 if self.port else 4840}"
            )
        else:
            fix = f"is {self.host} an address of this machine? Bind to 127.0.0.1 or one of its own"
        reason = error.strerror or error
        return TwinError(f"cannot serve OPC UA on {self.endpoint}: {reason}; {fix}")

    def exchange(self, sensors: dict[str, Value]) -> dict[str, Value]:
        if self._server is None or self._closed:
            raise RuntimeError(f"{self.name} is not serving: start() it first")
        changed = {}
        for name, value in sensors.items():
            tag = self.sensors.get(name)
            if tag is None:
                raise KeyError(f"{name!r} is not a sensor of {self.name}")
            value = wire_value(tag, value)
            if self._published.get(name, _NOTHING) != value or value != value:  # NaN: always
                changed[name] = value
        if changed:
            self._published.update(changed)
            with self._pending_lock:
                self._pending.update(changed)
                schedule, self._flush_scheduled = not self._flush_scheduled, True
            # Publishing does not wait for the server's thread: the scan goes on at once, and
            # the values reach the address space before any request that follows.
            if schedule and self._loop is not None:
                self._loop.loop.call_soon_threadsafe(self._start_flush)
        return self._ledger.actuator_values()

    def last_heard_s(self) -> float | None:
        return self._ledger.heard_s

    def drain_events(self) -> list[LinkEvent]:
        return self._ledger.drain()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._loop is None:
            return
        if self._server is not None:
            try:
                self._loop.run(self._stop(), STOP_TIMEOUT_S)
            except Exception as error:  # a server that will not stop is dropped with its loop
                _logger.warning("OPC UA server %s did not stop cleanly: %r", self.endpoint, error)
        self._loop.stop()

    # -- inside the server's event loop ---------------------------------------------------

    async def _serve(self, certificate) -> None:
        iserver = _InternalServer(self._ledger)
        server = Server(iserver=iserver)
        await server.init()
        await server.set_application_uri(SERVER_URI)
        server.set_server_name("twin plant")
        server.set_endpoint(self.endpoint)
        server.allow_remote_admin(False)  # asyncua makes a user called "admin" an admin
        iserver.max_session_timeout_ms = MAX_SESSION_TIMEOUT_MS
        if certificate is not None:
            await server.load_certificate(str(certificate.certificate_path))
            await server.load_private_key(str(certificate.key_path))
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        if self.users_file is not None:
            server.set_identity_tokens([ua.UserNameIdentityToken])
        else:
            server.set_identity_tokens([ua.AnonymousIdentityToken])
        self.namespace_index = await server.register_namespace(OPCUA_NAMESPACE)
        await self._add_nodes(server, self.namespace_index)
        self._write_lock = asyncio.Lock()
        await server.start()
        self._server = server

    async def _add_nodes(self, server: Server, index: int) -> None:
        plant = await server.nodes.objects.add_folder(
            ua.NodeId("Plant", index), ua.QualifiedName("Plant", index)
        )
        folders = {}
        for tag in self.tags:
            folder = folders.get(tag.element_id)
            if folder is None:
                folder = await plant.add_folder(
                    ua.NodeId(f"Plant/{tag.element_id}", index),
                    ua.QualifiedName(tag.element_id, index),
                )
                folders[tag.element_id] = folder
            nodeid = node_id(tag, index)
            try:
                variable = await folder.add_variable(
                    nodeid,
                    ua.QualifiedName(tag.signal, index),
                    wire_value(tag, tag.safe_value),
                    varianttype=variant_of(tag),
                )
            except ua.UaStatusCodeError as error:
                raise TwinError(
                    f"{tag.name}: OPC UA node {opcua_node_name(tag)!r} cannot be made "
                    f"({error}); give the tag another node id"
                ) from None
            await variable.write_attribute(
                ua.AttributeIds.Description,
                ua.DataValue(ua.Variant(ua.LocalizedText(f"{tag.direction} {tag.name}"))),
            )
            if not tag.is_sensor:
                await variable.set_writable()
            self._nodes[tag.name] = nodeid
            self._ledger.tags_by_node[nodeid] = tag

    def _start_flush(self) -> None:
        task = asyncio.get_running_loop().create_task(self._flush())
        self._flushes.add(task)  # held, or the loop may drop it half-way
        task.add_done_callback(self._flushes.discard)

    async def _flush(self) -> None:
        # One flush at a time, each taking what is pending when its turn comes: the newest
        # value of every sensor reaches the address space, in the order the scans made them.
        async with self._write_lock:
            with self._pending_lock:
                batch, self._pending = self._pending, {}
                self._flush_scheduled = False
            if self._server is None:
                return
            now = datetime.now(UTC)
            for name, value in batch.items():
                variant = ua.Variant(value, variant_of(self.sensors[name]))
                datavalue = ua.DataValue(variant, SourceTimestamp=now, ServerTimestamp=now)
                await self._server.write_attribute_value(self._nodes[name], datavalue)

    async def _stop(self) -> None:
        server, self._server = self._server, None
        # asyncua's clock task sleeps a whole second before it sees a stop; end it at once.
        clock = server.iserver.time_task
        if clock is not None:
            clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await clock
            server.iserver.time_task = None
        await server.stop()


class _Ledger:
    """What the server's sessions tell the link, across its two threads: when a controller was
    last heard, what it wrote to the actuators and what happened on the way."""

    def __init__(self, tags: list[Tag], users_file: Path | None, secure: bool) -> None:
        self.users_file = users_file
        self.secure = secure
        self.tags_by_node: dict[ua.NodeId, Tag] = {}
        self.heard_s: float | None = None
        self._lock = threading.Lock()
        self._events: list[LinkEvent] = []
        self._actuators: dict[str, Value] = {
            tag.name: tag.safe_value for tag in tags if not tag.is_sensor
        }

    def heard(self) -> None:
        self.heard_s = time.monotonic()

    def event(self, kind: str, peer: str, detail: str = "") -> None:
        with self._lock:
            self._events.append(LinkEvent(kind, peer, detail))

    def drain(self) -> list[LinkEvent]:
        with self._lock:
            events, self._events = self._events, []
        return events

    def set_actuators(self, values: dict[str, Value]) -> None:
        """The actuators one write request set, all at once: a scan sees all or none."""
        with self._lock:
            self._actuators.update(values)

    def actuator_values(self) -> dict[str, Value]:
        with self._lock:
            return dict(self._actuators)

    def get_user(self, iserver, username=None, password=None, certificate=None) -> User | None:
        """asyncua's user manager: who a login is, or None to refuse it."""
        if self.users_file is None:  # only anonymous tokens are offered then
            return User(role=UserRole.User) if username is None else None
        if username is None or password is None:
            return None
        try:
            known = check(self.users_file, username, password)
        except TwinError as error:  # the file broke while serving: nobody gets in
            _logger.error("OPC UA login of %r refused: %s", username, error)
            return None
        return User(role=UserRole.User, name=username) if known else None


class _InternalServer(InternalServer):
    """asyncua's server core, making the sessions of network clients :class:`_Session`."""

    def __init__(self, ledger: _Ledger) -> None:
        super().__init__(user_manager=ledger)
        self.ledger = ledger

    def create_session(self, name, user=User(role=UserRole.Anonymous), external=False):  # noqa: B008
        if not external:
            return super().create_session(name, user=user, external=external)
        return _Session(self.ledger, self, self.aspace, self.subscription_service, name, user)


class _Session(InternalSession):
    """A client's session, telling the ledger when it is heard, logs in, leaves and writes."""

    def __init__(self, ledger: _Ledger, iserver, aspace, submgr, name, user) -> None:
        self.ledger = ledger
        self.peer = _peer(name)
        self._refusals_told: set[tuple[str, str]] = set()
        self._touched_s = time.monotonic()
        super().__init__(iserver, aspace, submgr, name, user=user, external=True)

    def touch(self) -> None:
        super().touch()
        self._touched_s = time.monotonic()
        if self.state == SessionState.Activated:  # a refused login is not a controller heard
            self.ledger.heard()

    def activate_session(self, params, peer_certificate):
        first = self.state == SessionState.Created
        try:
            if self.ledger.secure and not peer_certificate:
                # asyncua opens an unencrypted channel to anyone (clients need one to ask for
                # the endpoints); no session may be used over it.
                raise ServiceError(ua.StatusCodes.BadSecurityModeRejected)
            result = super().activate_session(params, peer_certificate)
        except ServiceError as error:
            who = _who(params.UserIdentityToken)
            self.ledger.event(
                "request_refused", self.peer, f"login of {who} refused: {_status(error.code)}"
            )
            raise
        if first:
            who = f"user {self.user.name}" if self.user.name else "anonymous"
            self.ledger.event("controller_connected", self.peer, who)
        return result

    async def close_session(self, delete_subs: bool = True) -> None:
        was_active = self.state == SessionState.Activated
        idle_s = time.monotonic() - self._touched_s
        await super().close_session(delete_subs)
        if was_active:
            timed_out = self.session_timeout and idle_s >= self.session_timeout
            detail = f"no request for {idle_s:.0f} s" if timed_out else "session closed"
            self.ledger.event("controller_disconnected", self.peer, detail)

    async def write(self, params: ua.WriteParameters) -> list[ua.StatusCode]:
        results: list[ua.StatusCode | None] = [None] * len(params.NodesToWrite)
        passed = []
        for position, item in enumerate(params.NodesToWrite):
            tag = self.ledger.tags_by_node.get(item.NodeId)
            refusal = _refusal(tag, item) if tag is not None else None
            if refusal is None:
                passed.append(position)
                continue
            results[position] = ua.StatusCode(refusal)
            if (tag.name, refusal) not in self._refusals_told:  # once, not every scan
                self._refusals_told.add((tag.name, refusal))
                self.ledger.event(
                    "request_refused", self.peer, f"write to {tag.name} refused: {_status(refusal)}"
                )
        if passed:
            subset = ua.WriteParameters(NodesToWrite=[params.NodesToWrite[p] for p in passed])
            written: dict[str, Value] = {}
            for position, status in zip(passed, await super().write(subset), strict=True):
                results[position] = status
                item = params.NodesToWrite[position]
                tag = self.ledger.tags_by_node.get(item.NodeId)
                if tag is not None and status.is_good() and not tag.is_sensor:
                    written[tag.name] = item.Value.Value.Value
            if written:
                self.ledger.set_actuators(written)
        return results


def _refusal(tag: Tag, item: ua.WriteValue) -> int | None:
    """Why a client's write to a tag's node is refused (a status code), or None."""
    if item.AttributeId != ua.AttributeIds.Value:
        return None  # asyncua refuses every other attribute to a client
    if tag.is_sensor:
        return ua.StatusCodes.BadNotWritable
    if item.IndexRange:
        return ua.StatusCodes.BadIndexRangeInvalid
    datavalue = item.Value
    if datavalue.StatusCode is not None and not datavalue.StatusCode.is_good():
        return ua.StatusCodes.BadWriteNotSupported  # asyncua would empty the node
    # Exactly the tag's scalar type: asyncua's own check compares the type only, and lets an
    # array of it through.
    variant = datavalue.Value
    if (
        variant is None
        or variant.VariantType != variant_of(tag)
        or variant.is_array
        or isinstance(variant.Value, list | tuple)
    ):
        return ua.StatusCodes.BadTypeMismatch
    if tag.type == "float32" and not math.isfinite(variant.Value):
        return ua.StatusCodes.BadOutOfRange
    return None


def _host_and_port(endpoint: str) -> tuple[str, int]:
    parsed = urlparse(endpoint)
    try:
        port = parsed.port
    except ValueError:
        port = None
    if parsed.scheme != "opc.tcp" or not parsed.hostname or port is None:
        raise TwinError(
            f"OPC UA endpoint {endpoint!r} is not opc.tcp://HOST:PORT; "
            "write e.g. opc.tcp://127.0.0.1:4840"
        )
    return parsed.hostname, port


def _check_security(link: OpcuaServerLink) -> None:
    if link.security not in SECURITY_CHOICES:
        raise TwinError(
            f"OPC UA security {link.security!r} is not offered; "
            f"choose {' or '.join(SECURITY_CHOICES)}"
        )
    secure = link.security == "sign-and-encrypt"
    if secure and link.users_file is None:
        raise TwinError(
            "--opcua-security sign-and-encrypt refuses anonymous clients, so nobody could log "
            "in: add --opcua-users FILE (users written by `twin plant --add-user NAME`)"
        )
    if secure and link.certificate_folder is None:
        raise TwinError("sign-and-encrypt needs a folder to keep the server's certificate in")
    if not (secure and link.users_file is not None) and not _is_loopback(link.host):
        # Without encryption anyone on the network could read and write the plant's tags,
        # and a password would cross it in clear.
        raise TwinError(
            f"the OPC UA server would serve {link.host} without encryption and login; it binds "
            f"to loopback only (127.0.0.1) unless you {BIND_HINT}"
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _peer(name) -> str:
    if isinstance(name, tuple) and len(name) >= 2:
        return f"{name[0]}:{name[1]}"
    return str(name)


def _who(token) -> str:
    if isinstance(token, ua.UserNameIdentityToken):
        return f"user {token.UserName!r}"
    if isinstance(token, ua.X509IdentityToken):
        return "a certificate user"
    return "an anonymous client"


def _status(code: int) -> str:
    return ua.StatusCode(code).name
