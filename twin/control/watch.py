"""The watch list: controller variables that are logged like tags, checked once at load."""

from __future__ import annotations

import difflib
import numbers
import operator
import re
from collections.abc import Callable

from twin.control.st.errors import PlcIoError
from twin.scenario.tags import TagError, TagTable

_PYTHON_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[-?\d+\])*")
_PYTHON_STEP = re.compile(r"\.([A-Za-z_]\w*)|\[(-?\d+)\]")
_PLAIN = (bool, int, float)


def check_watch_list(paths: list[str], table: TagTable, *, ignore_case: bool) -> None:
    """Each path once, and none with a tag's name: the log keeps both under that name."""
    seen: dict[str, int] = {}
    tag_names = {tag.name.lower() if ignore_case else tag.name: tag.name for tag in table}
    for index, path in enumerate(paths):
        key = ("control", "watch", index)
        same = path.replace(" ", "")
        if ignore_case:
            same = same.lower()
        if same in tag_names:
            raise TagError(
                f"{path!r} is also the name of the tag {tag_names[same]!r}, and the log would "
                "mix the two up; watch another path (every tag is logged anyway)",
                key,
            )
        if same in seen:
            raise TagError(
                f"{path!r} is watched twice (control.watch[{seen[same]}] and [{index}]); "
                "list each path once",
                key,
            )
        seen[same] = index


def plc_watchers(plc, paths: list[str]) -> list[Callable[[], object]]:
    """What reads each watched path of a soft PLC after a scan; a path that does not exist or
    holds no BOOL or number is refused with its place in the watch list."""
    readers = []
    for index, path in enumerate(paths):
        try:
            readers.append(plc.watcher(path))
        except PlcIoError as err:
            raise TagError(str(err), ("control", "watch", index)) from None
    return readers


def python_watchers(instance, paths: list[str], origin: str) -> list[Callable[[object], object]]:
    """What reads each watched attribute path (``state``, ``counter.value``, ``items[2]``) of
    a Python controller, given the instance. The paths are tried on ``instance``, freshly
    built: each must exist after ``__init__`` and hold a bool, a number or None."""
    readers = []
    for index, path in enumerate(paths):
        key = ("control", "watch", index)
        text = path.replace(" ", "")
        if not _PYTHON_PATH.fullmatch(text):
            raise TagError(
                f"{path!r} is not an attribute path; write e.g. state, counter.value or items[2]",
                key,
            )
        reader = _python_reader(text)
        try:
            value = reader(instance)
        except AttributeError:
            raise TagError(_missing_attribute(instance, text, origin), key) from None
        except (IndexError, KeyError, TypeError) as exc:
            raise TagError(
                f"{path!r} cannot be read on a new {origin}: {type(exc).__name__}: {exc}", key
            ) from None
        if not loggable(value):
            raise TagError(
                f"{path!r} is {value!r} ({type(value).__name__}) on a new {origin}; only a "
                "bool or a number can be logged (None until it has one)",
                key,
            )
        readers.append(reader)
    return readers


def loggable(value) -> bool:
    """Whether a Python controller's watched value can go into the log (None: no value yet)."""
    return value is None or value.__class__ in _PLAIN or isinstance(value, numbers.Real)


def _python_reader(path: str) -> Callable[[object], object]:
    if "[" not in path:
        return operator.attrgetter(path)  # the common case, read in C
    first = re.match(r"[A-Za-z_]\w*", path).group(0)
    steps = [(first, None)]
    steps += [(m.group(1), m.group(2)) for m in _PYTHON_STEP.finditer(path, len(first))]

    def read(obj):
        for attribute, index in steps:
            obj = getattr(obj, attribute) if attribute is not None else obj[int(index)]
        return obj

    return read


def _missing_attribute(instance, path: str, origin: str) -> str:
    """Which attribute of ``path`` a new instance lacks, with the closest name it has."""
    obj = instance
    done = ""
    for part in re.findall(r"[A-Za-z_]\w*|\[-?\d+\]", path):
        if part.startswith("["):
            obj = obj[int(part[1:-1])]
            done += part
            continue
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            names = [n for n in names if not callable(getattr(obj, n, None))]
            close = difflib.get_close_matches(part, names, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            owner = f"a new {origin}" if not done else f"{done} of a new {origin}"
            return (
                f"{path!r}: {owner} has no attribute {part!r}{guess}; set it in __init__ to "
                f"watch it (attributes: {', '.join(names) or 'none'})"
            )
        obj = getattr(obj, part)
        done += f".{part}" if done else part
    return f"{path!r} cannot be read on a new {origin}"
