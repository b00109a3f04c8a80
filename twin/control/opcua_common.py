"""What twin's OPC UA server and client share: their event loop thread, node ids, value types
and the application certificate."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import logging
import socket
import struct
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.crypto import cert_gen
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from twin.control.links import Value, opcua_node_name
from twin.control.opcua_users import write_private
from twin.errors import TwinError
from twin.scenario.tags import Tag

_logger = logging.getLogger(__name__)

SECURITY_CHOICES = ("none", "sign-and-encrypt")
VARIANT = {
    "bool": ua.VariantType.Boolean,
    "int16": ua.VariantType.Int16,
    "uint16": ua.VariantType.UInt16,
    "int32": ua.VariantType.Int32,
    "float32": ua.VariantType.Float,
}
RANGE = {"int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1), "int32": (-(2**31), 2**31 - 1)}
CERTIFICATE_DAYS = 5 * 365
NODE_ID_HINT = "write s=<name>, i=<number>, g=<guid> or b=<base64>, e.g. s=belt.run"


def variant_of(tag: Tag) -> ua.VariantType:
    return VARIANT[tag.type]


def wire_value(tag: Tag, value: Value) -> Value:
    """``value`` as the tag's OPC UA type carries it: a float32 rounded to single precision,
    a number that does not fit refused (naming the tag), a bool as bool."""
    if tag.type == "bool":
        return bool(value)
    if tag.type == "float32":
        try:
            return struct.unpack("<f", struct.pack("<f", value))[0]
        except (OverflowError, struct.error):
            raise TwinError(f"{tag.name}: {value!r} does not fit a float32") from None
    low, high = RANGE[tag.type]
    if (isinstance(value, float) and not value.is_integer()) or not low <= value <= high:
        raise TwinError(f"{tag.name}: {value!r} does not fit {tag.type} ({low}..{high})")
    return int(value)


def split_node(tag: Tag) -> tuple[str | None, str]:
    """A tag's node as (namespace URI or None for the default namespace, identifier such as
    ``s=belt.run``). A namespace index (``ns=3;``) is refused: indexes change between servers
    and restarts; a URI (``nsu=urn:plc;s=x``) does not."""
    text = opcua_node_name(tag).strip()
    uri = None
    if text.startswith("nsu="):
        uri, _, text = text[4:].partition(";")
    elif text.startswith("ns="):
        raise TwinError(
            f"{tag.name}: OPC UA node {text!r} names a namespace by its index, which a server "
            "may change; leave it out (twin's namespace urn:twin:plant is meant) or give its "
            "URI, e.g. nsu=urn:twin:plant;s=belt.run"
        )
    try:
        ua.NodeId.from_string(f"ns=1;{text}")
    except Exception:
        raise TwinError(
            f"{tag.name}: OPC UA node id {opcua_node_name(tag)!r} cannot be read; {NODE_ID_HINT}"
        ) from None
    return uri, text


def node_id(tag: Tag, index: int) -> ua.NodeId:
    """The tag's node id in the namespace at ``index``."""
    return ua.NodeId.from_string(f"ns={index};{split_node(tag)[1]}")


class EventLoopThread:
    """An asyncio event loop running in a daemon thread, and the synchronous way into it."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
            # asyncua builds its address space in the loop's worker threads: end them too.
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
        finally:
            self.loop.close()

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout_s: float) -> Any:
        """Run ``coroutine`` in the loop and wait at most ``timeout_s`` for its result
        (``TimeoutError`` after that, the coroutine cancelled)."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout_s)
        except TimeoutError:
            future.cancel()
            raise

    def stop(self, timeout_s: float = 1.0) -> None:
        """Cancel what still runs in the loop, stop it and let its thread end."""
        if not self._thread.is_alive():
            return
        try:
            self.run(_cancel_all(), timeout_s)
        except Exception as error:  # the loop ends anyway
            _logger.debug("event loop tasks did not end: %r", error)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout_s)


async def _cancel_all() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=0.5)


@dataclass(frozen=True)
class Certificate:
    """An application instance certificate and its private key, as files."""

    certificate_path: Path  # DER
    key_path: Path  # PEM, mode 0600
    thumbprint: str  # SHA-1 of the DER certificate, hex: what OPC UA tools show to trust it


def application_certificate(
    folder: Path, role: str, application_uri: str, hosts: list[str]
) -> Certificate:
    """The self-signed certificate of twin's OPC UA ``role`` (server or client) in ``folder``:
    made once and used again on every start, so that a controller trusts it once. A new one is
    made only when it is missing, expires within a day or names another application."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_path = folder / f"{role}_key.pem"
    certificate_path = folder / f"{role}_cert.der"
    key = _key(key_path)
    certificate = None
    if certificate_path.exists():
        try:
            certificate = x509.load_der_x509_certificate(certificate_path.read_bytes())
        except ValueError:
            _logger.warning("%s cannot be read; making a new certificate", certificate_path)
    if certificate is None or not _still_good(certificate, key, application_uri):
        if certificate is not None:
            _logger.warning(
                "%s is expiring or does not fit its key; a new one is made, which clients must "
                "trust again",
                certificate_path,
            )
        certificate = cert_gen.generate_self_signed_app_certificate(
            key,
            "twin plant" if role == "server" else "twin plant client",
            {},
            _alternative_names(application_uri, hosts),
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
            days=CERTIFICATE_DAYS,
        )
        certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.DER))
    thumbprint = certificate.fingerprint(hashes.SHA1()).hex()  # OPC UA's thumbprint is SHA-1
    return Certificate(certificate_path, key_path, thumbprint)


def _key(path: Path):
    if not path.exists():
        key = cert_gen.generate_private_key()
        write_private(path, cert_gen.dump_private_key_as_pem(key))
        return key
    if path.stat().st_mode & 0o077:
        _logger.warning("%s could be read by others; made private to its owner", path)
        path.chmod(0o600)
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        raise TwinError(
            f"the private key {path} cannot be read; delete it (and the certificate beside it) "
            "to make a new pair, which clients must then trust again"
        ) from None


def _still_good(certificate: x509.Certificate, key, application_uri: str) -> bool:
    now = datetime.datetime.now(datetime.UTC)
    if certificate.not_valid_after_utc - now < datetime.timedelta(days=1):
        return False
    if certificate.public_key().public_numbers() != key.public_key().public_numbers():
        return False
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return False
    return application_uri in names.value.get_values_for_type(x509.UniformResourceIdentifier)


def _alternative_names(application_uri: str, hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(application_uri)]
    dns = {socket.gethostname(), "localhost"}
    addresses = {ipaddress.ip_address("127.0.0.1")}
    for host in hosts:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            dns.add(host)
        else:
            if not address.is_unspecified:
                addresses.add(address)
    names += [x509.DNSName(name) for name in sorted(dns)]
    names += [x509.IPAddress(address) for address in sorted(addresses, key=str)]
    return names
