"""The OPC UA server's user file: names with salted scrypt password hashes, one per line."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from twin.errors import TwinError

ALGORITHM = "scrypt"
# 16 MiB and ~0.1 s per check: cheap for one login, costly for guessing passwords offline.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32
# Parameters read from a file are bounded, so that a doctored file cannot make a login take
# minutes or gigabytes.
MAX_N, MAX_R, MAX_P = 2**20, 32, 16
NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
LINE_FORMAT = "name:scrypt$n=16384,r=8,p=1$salt$hash (written by `twin plant --add-user NAME`)"


def add_user(path: str | Path, name: str, password: str) -> None:
    """Add ``name`` with ``password`` to the user file at ``path`` (created if missing; a name
    already there gets the new password). The file is written with mode 0600."""
    path = Path(path)
    if not NAME.match(name):
        raise TwinError(
            f"user name {name!r} is not allowed; use 1 to 64 letters, digits or _ . @ -"
        )
    if not password:
        raise TwinError(f"the password for {name!r} is empty; give one")
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    _parse(path, lines)  # refuse to rewrite a file that is broken already
    entry = f"{name}:{_hash(password)}"
    kept = [line for line in lines if _name_of(line) != name]
    write_private(path, "".join(line + "\n" for line in [*kept, entry]).encode("utf-8"))


def check(path: str | Path, name: str, password: str) -> bool:
    """Whether ``password`` is ``name``'s in the user file at ``path``. Takes as long for an
    unknown name as for a wrong password, so that names cannot be probed by timing."""
    users = load_users(path)
    stored = users.get(name)
    if stored is None:
        # The same work as for a known name, compared against nothing that can match.
        _scrypt(password, bytes(SALT_BYTES), SCRYPT_N, SCRYPT_R, SCRYPT_P)
        return False
    return _verify(stored, password)


def load_users(path: str | Path) -> dict[str, str]:
    """The user file's entries (name -> stored hash), checked line by line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TwinError(
            f"user file {path} does not exist; create it with `twin plant --add-user NAME "
            f"--opcua-users {path}`"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise TwinError(f"user file {path} cannot be read ({error}); {LINE_FORMAT}") from None
    return _parse(path, text.splitlines())


def _parse(path: Path, lines: list[str]) -> dict[str, str]:
    users: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, stored = line.strip().partition(":")
        problem = None
        if not sep or not NAME.match(name):
            problem = f"{line.strip()[:40]!r} does not start with a user name and a colon"
        else:
            problem = _stored_problem(stored)
        if problem is not None:
            raise TwinError(f"{path}:{number}: {problem}; each line is {LINE_FORMAT}")
        users[name] = stored
    return users


def _name_of(line: str) -> str | None:
    name, sep, _ = line.strip().partition(":")
    return name if sep else None


def _hash(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    params = f"n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}"
    return f"{ALGORITHM}${params}${_b64(salt)}${_b64(digest)}"


def _verify(stored: str, password: str) -> bool:
    _, params, salt, digest = stored.split("$")
    n, r, p = _params(params)
    expected = base64.b64decode(digest)
    actual = _scrypt(password, base64.b64decode(salt), n, r, p, len(expected))
    return hmac.compare_digest(actual, expected)


def _stored_problem(stored: str) -> str | None:
    """What is wrong with a stored hash, or None."""
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != ALGORITHM:
        return f"the hash {stored[:20]!r}... is not {ALGORITHM}$params$salt$hash"
    try:
        n, r, p = _params(parts[1])
        salt, digest = (
            base64.b64decode(parts[2], validate=True),
            base64.b64decode(parts[3], validate=True),
        )
    except (ValueError, KeyError, binascii.Error):
        return f"the parameters, salt or hash of {stored[:20]!r}... cannot be read"
    if not (1 < n <= MAX_N and n & (n - 1) == 0 and 0 < r <= MAX_R and 0 < p <= MAX_P):
        return f"scrypt parameters {parts[1]!r} are out of range"
    if len(salt) < 8 or len(digest) < 16:
        return "the salt or the hash is too short"
    return None


def _params(text: str) -> tuple[int, int, int]:
    values = dict(item.split("=", 1) for item in text.split(","))
    return int(values["n"]), int(values["r"]), int(values["p"])


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int = HASH_BYTES) -> bytes:
    memory = 128 * r * (n + p + 2) + 1024 * 1024
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=memory, dklen=length
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by its owner only (0600), replacing it in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o600)  # whatever the umask left
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
