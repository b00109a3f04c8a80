"""A window of a run's log as rows told in words: what `twin runs events` prints and writes."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from twin.record.log import LAYOUTS
from twin.record.replay import Replay
from twin.record.store import StoreError

KINDS = ("state", "move", "tag", "event", "pose")


@dataclass(frozen=True)
class Window:
    """The rows of one replication between two times, narrowed to kinds and names, in time
    order; made plain (and told in words) only as far as they are asked for."""

    table: pa.Table

    def __len__(self) -> int:
        return self.table.num_rows

    def rows(self, limit: int = 0) -> list[dict]:
        """The first ``limit`` rows as plain values (all of them for 0)."""
        table = self.table if limit <= 0 else self.table.slice(0, limit)
        return [_plain(row) for row in table.to_pylist()]


def check_kinds(kinds: Sequence[str]) -> list[str]:
    """The kinds asked for, each one a kind of log row."""
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise StoreError(
            f"{unknown[0]!r} is not a kind of log row; use one or more of: {', '.join(KINDS)}"
        )
    return list(dict.fromkeys(kinds))


def check_names(replay: Replay, names: Sequence[str]) -> None:
    """Refuse a name that no row of the replication's log has, with the closest one."""
    known = replay.names()
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            listed = ", ".join(known[:20]) + (", …" if len(known) > 20 else "")
            raise StoreError(
                f"{name!r} names nothing in replication {replay.replication} of run "
                f"{replay.run.short_id}{hint}; its log names {listed}"
            )


def window(
    replay: Replay,
    start_s: float = -math.inf,
    end_s: float = math.inf,
    *,
    kinds: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
) -> Window:
    """Rows with ``start_s <= time_s <= end_s`` of the given kinds (all without), about the
    given names (all without): rows from one of them, and moves into one of them too — what
    happened at an element includes the parts it received."""
    if kinds is not None:
        check_kinds(kinds)
    if names is not None:
        check_names(replay, names)
    table = replay.events(start_s, end_s, kinds=kinds)
    if names is not None and table.num_rows:
        wanted = pa.array(list(names), pa.string())
        table = table.filter(
            pc.or_kleene(
                pc.is_in(table["source"].cast(pa.string()), wanted),
                pc.is_in(table["target"].cast(pa.string()), wanted),
            )
        )
    return Window(table)


def _plain(row: dict) -> dict:
    """A log row with the columns its kind uses, and what happened in words."""
    kind = row["kind"]
    plain = {"time_s": row["time_s"], "kind": kind, "source": row["source"]}
    for column in LAYOUTS.get(kind, ()):
        if column not in plain:
            plain[column] = row[column]
    plain["what"] = what(plain)
    return plain


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def what(row: dict) -> str:
    """What a row says, in words: ``place 0 → blocked``, ``part 17 m1 → b1``, ``= 1``."""
    kind = row["kind"]
    if kind == "state":
        return f"place {row['place']} → {row['text']}"
    if kind == "move":
        return f"part {row['part']} {row['source']} → {row['target']}"
    if kind == "tag":
        return f"= {_number(row['value'])}"
    if kind == "event":
        value = row.get("value")
        return row["text"] if value is None else f"{row['text']} ({_number(value)})"
    if kind == "pose":
        pose = row["pose"] or []
        position = " ".join(f"{v:.3f}" for v in pose[:3])
        orientation = " ".join(f"{v:.3f}" for v in pose[3:])
        return f"at {position} m, q {orientation}"
    return ""
