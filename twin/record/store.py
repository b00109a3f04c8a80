"""The run store: a folder with a SQLite catalog and one Parquet event log per run."""

from __future__ import annotations

import fcntl
import json
import math
import os
import platform
import socket
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from twin import __version__
from twin.errors import LogError, TwinError
from twin.faults import RunFault
from twin.record.catalog import STATUSES, connect
from twin.record.plain import json_safe

if TYPE_CHECKING:  # the log's modules load pyarrow: only when a log is written or read
    from twin.record.log_writer import LogWriter
    from twin.record.recorder import Recorder

DEFAULT_FOLDER = "twin-runs"
KEY_PACKAGES = (
    "simpy",
    "numpy",
    "pydantic",
    "pyarrow",
    "networkx",
    "pybullet",
    "pymodbus",
    "asyncua",
)
MIN_PREFIX = 4


class StoreError(TwinError):
    """A run that cannot be found or used as asked; the message says what would work."""


def default_folder() -> Path:
    return Path(os.environ.get("TWIN_STORE") or DEFAULT_FOLDER)


def versions() -> dict[str, str]:
    found = {"twin": __version__, "python": platform.python_version()}
    for package in KEY_PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class RunInfo:
    """One run as the catalog knows it."""

    id: str
    scenario_name: str
    scenario_source: str
    scenario_text: str
    scenario_sha256: str
    overrides: list[str]
    seed: int
    replications: int
    horizon_s: float | None
    warmup_s: float
    versions: dict[str, str]
    started_at: str
    ended_at: str | None
    status: str
    error: str | None
    recorded: bool
    log_file: str | None
    log_sha256: str | None
    log_rows: int | None
    host: str
    pid: int
    label: str | None = None
    # The sweep or optimisation the run is a variant of, and the settings it varied.
    experiment: str | None = None
    parameters: dict[str, object] | None = None

    @property
    def variant(self) -> str:
        """What sets the run apart from its scenario file: its label, or else its --set
        overrides (``elements.`` left off); empty for the file as written."""
        if self.label:
            return self.label
        return " ".join(setting.removeprefix("elements.") for setting in self.overrides)

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @classmethod
    def from_row(cls, row) -> RunInfo:
        data = dict(row)
        data["overrides"] = json.loads(data["overrides"])
        data["versions"] = json.loads(data["versions"])
        data["recorded"] = bool(data["recorded"])
        if data.get("parameters") is not None:
            data["parameters"] = json.loads(data["parameters"])
        return cls(**data)


class RunStore:
    """Runs recorded in ``folder`` (default ``$TWIN_STORE`` or ``./twin-runs``)."""

    @classmethod
    def existing(cls, folder: str | Path) -> RunStore:
        """The store at ``folder``, which must hold a catalog already: reading a store that
        is not there creates nothing, and says so."""
        folder = Path(folder)
        if not (folder / "catalog.sqlite").is_file():
            raise StoreError(
                f"no run store at {folder}: it holds no catalog.sqlite; give the folder "
                "`twin run` records into (--store, $TWIN_STORE, or ./twin-runs by default)"
            )
        return cls(folder)

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()
        try:
            (self.folder / "logs").mkdir(parents=True, exist_ok=True)
            (self.folder / "locks").mkdir(exist_ok=True)
            self._db = connect(self.folder / "catalog.sqlite")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the run store at {self.folder}: {exc}; "
                "give a writable folder with --store or TWIN_STORE"
            ) from None

    def close(self) -> None:
        self._db.close()

    # Writing -------------------------------------------------------------------------------

    def begin(
        self,
        *,
        scenario_name: str,
        scenario_source: str,
        scenario_text: str,
        scenario_sha256: str,
        overrides: list[str],
        seed: int,
        replications: int,
        horizon_s: float | None,
        warmup_s: float,
        record_log: bool = True,
        label: str | None = None,
        experiment: str | None = None,
        parameters: dict[str, object] | None = None,
    ) -> RunWriter:
        """Enter a new run as ``running``; the writer records it until complete or failed.

        ``label`` is the user's short name for the run (a variant, a question asked of the
        line); it is kept on one line, and an empty one is no label. ``experiment`` names the
        sweep or optimisation the run is one variant of, ``parameters`` the settings it
        varied (``{"b1.capacity": 3}``).
        """
        run_id = uuid.uuid4().hex
        label = " ".join((label or "").split()) or None
        lock = _Lock(self.folder / "locks" / f"{run_id}.lock")
        log_file = f"logs/{run_id}.parquet" if record_log else None
        from twin.record.log_writer import LogWriter

        try:
            self._db.execute(
                "INSERT INTO runs (id, scenario_name, scenario_source, scenario_text,"
                " scenario_sha256, overrides, seed, replications, horizon_s, warmup_s, versions,"
                " started_at, status, recorded, log_file, host, pid, label, experiment,"
                " parameters)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    scenario_name,
                    scenario_source,
                    scenario_text,
                    scenario_sha256,
                    json.dumps(overrides),
                    seed,
                    replications,
                    horizon_s,
                    warmup_s,
                    json.dumps(versions()),
                    _now(),
                    int(record_log),
                    log_file,
                    socket.gethostname(),
                    os.getpid(),
                    label,
                    experiment,
                    None if parameters is None else json.dumps(parameters),
                ),
            )
            log = LogWriter(self.folder / log_file) if record_log else None
        except OSError as exc:
            self._finish(run_id, "failed", f"the log writer could not start: {exc}", None)
            lock.release()
            raise StoreError(f"cannot record run {run_id[:8]}: {exc}") from None
        except KeyboardInterrupt:
            # Ctrl-C while the run is entered or its log writer starts (it takes a moment): the
            # run is stored as what it is, not left for the next reader to find abandoned.
            self._finish(run_id, "interrupted", "interrupted by the user", None)
            lock.release()
            raise
        return RunWriter(self, run_id, lock, log)

    # Reading -------------------------------------------------------------------------------

    def runs(self, *, scenario: str | None = None, status: str | None = None) -> list[RunInfo]:
        """Every run, oldest first; runs whose writer died are marked ``interrupted`` first.

        ``scenario`` keeps the runs whose scenario name contains it (any case), ``status``
        those with that status.
        """
        if status is not None and status not in STATUSES:
            raise StoreError(f"{status!r} is not a status; use one of: {', '.join(STATUSES)}")
        self._reconcile()
        rows = self._db.execute("SELECT * FROM runs ORDER BY started_at, id").fetchall()
        runs = [RunInfo.from_row(row) for row in rows]
        if scenario is not None:
            wanted = scenario.casefold()
            runs = [run for run in runs if wanted in run.scenario_name.casefold()]
        if status is not None:
            runs = [run for run in runs if run.status == status]
        return runs

    def experiment(self, ref: str) -> list[RunInfo]:
        """The runs of the experiment whose id is ``ref`` or starts with it, in the order
        they were started (the order of its variants)."""
        self._reconcile()
        ref = ref.strip().lower()
        if len(ref) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in ref):
            raise StoreError(
                f"{ref!r} is not an experiment id; give at least {MIN_PREFIX} hex digits of "
                "one from `twin runs list`"
            )
        rows = self._db.execute(
            "SELECT * FROM runs WHERE experiment >= ? AND experiment < ? ORDER BY started_at, id",
            (ref, ref + "g"),
        ).fetchall()
        found = {row["experiment"] for row in rows}
        if not rows:
            raise StoreError(f"no experiment {ref!r} in {self.folder}; `twin runs list` shows them")
        if len(found) > 1:
            ids = ", ".join(sorted(e[:12] for e in found)[:5])
            raise StoreError(f"{ref!r} matches {len(found)} experiments ({ids}); give more digits")
        return [RunInfo.from_row(row) for row in rows]

    def get(self, ref: str) -> RunInfo:
        """The run whose id is ``ref`` or starts with it (at least 4 characters)."""
        self._reconcile()
        ref = ref.strip().lower()
        if len(ref) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in ref):
            raise StoreError(
                f"{ref!r} is not a run id; give at least {MIN_PREFIX} hex digits of an id "
                "from `twin runs list`"
            )
        rows = self._db.execute(
            "SELECT * FROM runs WHERE id >= ? AND id < ? ORDER BY id", (ref, ref + "g")
        ).fetchall()
        if not rows:
            raise StoreError(f"no run {ref!r} in {self.folder}; `twin runs list` shows the runs")
        if len(rows) > 1:
            ids = ", ".join(row["id"][:12] for row in rows[:5])
            raise StoreError(f"{ref!r} matches {len(rows)} runs ({ids}); give more digits")
        return RunInfo.from_row(rows[0])

    def kpis(self, run_id: str) -> dict[str, list[float]]:
        """KPI name → one value per replication (NaN where a replication had none)."""
        table: dict[str, dict[int, float]] = {}
        for row in self._db.execute(
            "SELECT replication, name, value FROM kpis WHERE run_id = ? ORDER BY rowid", (run_id,)
        ):
            value = math.nan if row["value"] is None else row["value"]
            table.setdefault(row["name"], {})[row["replication"]] = value
        return {name: [v for _, v in sorted(by_rep.items())] for name, by_rep in table.items()}

    def replications_done(self, run_id: str) -> int:
        """How many replications of the run have ended and are stored."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM replications WHERE run_id = ?", (run_id,)
        ).fetchone()
        return row[0]

    def faults(self, run_id: str) -> list[dict]:
        """What went wrong in the run's replications without ending them (a controller in
        STOP), in order: ``RunFault.to_json()`` with the replication, as ``twin run --json``
        lists them."""
        rows = self._db.execute(
            "SELECT replication, faults FROM replications WHERE run_id = ? ORDER BY replication",
            (run_id,),
        ).fetchall()
        return [
            {"replication": row["replication"], **fault}
            for row in rows
            for fault in json.loads(row["faults"])
        ]

    def fault_counts(self) -> dict[str, int]:
        """Run id → number of faults, for every run that has any."""
        counts: dict[str, int] = {}
        for row in self._db.execute(
            "SELECT run_id, faults FROM replications WHERE faults <> '[]'"
        ).fetchall():
            counts[row["run_id"]] = counts.get(row["run_id"], 0) + len(json.loads(row["faults"]))
        return counts

    def replications(self, run_id: str) -> list[dict]:
        rows = self._db.execute(
            "SELECT replication, end_s, parts_out, elements FROM replications"
            " WHERE run_id = ? ORDER BY replication",
            (run_id,),
        ).fetchall()
        return [
            {
                "replication": row["replication"],
                "end_s": row["end_s"],
                "parts_out": row["parts_out"],
                "elements": json.loads(row["elements"]),
            }
            for row in rows
        ]

    def log_path(self, run: RunInfo) -> Path | None:
        return self.folder / run.log_file if run.log_file else None

    def log_problem(self, run: RunInfo) -> str | None:
        """Why this run's log cannot be used (cheap check: presence and status), or None."""
        if not run.recorded:
            return "not recorded"
        if run.status != "complete":
            return f"run {run.status}"
        path = self.log_path(run)
        if path is None or not path.exists():
            return "log missing"
        return None

    def open_log(self, run: RunInfo):
        """The run's Parquet log and row-group index, verified against its checksum."""
        problem = self.log_problem(run)
        if problem is not None:
            path = self.log_path(run)
            where = f" ({path})" if problem == "log missing" and path is not None else ""
            raise LogError(f"run {run.short_id} has no usable log: {problem}{where}")
        from twin.record.log import open_log

        return open_log(self.log_path(run), run.log_sha256)

    # Deleting ------------------------------------------------------------------------------

    def delete(self, ref: str) -> RunInfo:
        run = self.get(ref)
        if run.status == "running":
            raise StoreError(f"run {run.short_id} is still running (pid {run.pid}); stop it first")
        self._db.execute("DELETE FROM runs WHERE id = ?", (run.id,))
        for path in (self.log_path(run), self.folder / "locks" / f"{run.id}.lock"):
            if path is not None:
                path.unlink(missing_ok=True)
                path.with_name(path.name + ".partial").unlink(missing_ok=True)
        return run

    # Liveness ------------------------------------------------------------------------------

    def _reconcile(self) -> None:
        """Mark runs whose writing process is gone as interrupted.

        A writer holds an exclusive lock on its run's lock file for as long as it lives; the
        kernel drops the lock when the process dies, however it dies (even SIGKILL).
        """
        host = socket.gethostname()
        running = self._db.execute(
            "SELECT id FROM runs WHERE status = 'running' AND host = ?", (host,)
        ).fetchall()
        for row in running:
            path = self.folder / "locks" / f"{row['id']}.lock"
            if _Lock.is_held(path):
                continue
            self._db.execute(
                "UPDATE runs SET status = 'interrupted', ended_at = COALESCE(ended_at, ?),"
                " error = COALESCE(error, 'the process writing this run stopped before it ended')"
                " WHERE id = ? AND status = 'running'",
                (_now(), row["id"]),
            )
            path.unlink(missing_ok=True)

    def _finish(self, run_id: str, status: str, error: str | None, log) -> None:
        self._db.execute(
            "UPDATE runs SET status = ?, error = ?, ended_at = ?, log_sha256 = ?, log_rows = ?"
            " WHERE id = ?",
            (status, error, _now(), *(log or (None, None)), run_id),
        )

    def _add_replication(
        self,
        run_id: str,
        replication: int,
        kpis: dict,
        elements: dict,
        end_s: float,
        parts: int,
        faults: list[dict],
    ) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT INTO replications (run_id, replication, end_s, parts_out, elements, faults)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    replication,
                    end_s,
                    parts,
                    json.dumps(elements, allow_nan=False),
                    json.dumps(faults, allow_nan=False),
                ),
            )
            db.executemany(
                "INSERT INTO kpis VALUES (?, ?, ?, ?)",
                [
                    (run_id, replication, name, value if math.isfinite(value) else None)
                    for name, value in kpis.items()
                ],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


class _Lock:
    """An exclusive advisory lock on a file, held while a run is being written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = open(path, "w")  # noqa: SIM115 - held open for the run's lifetime
        fcntl.flock(self._handle, fcntl.LOCK_EX)
        self._handle.write(f"{os.getpid()}\n")
        self._handle.flush()

    def release(self) -> None:
        if not self._handle.closed:
            self._handle.close()
            self.path.unlink(missing_ok=True)

    @staticmethod
    def is_held(path: Path) -> bool:
        try:
            handle = open(path)  # noqa: SIM115
        except FileNotFoundError:
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False


class RunWriter:
    """Records one run: a recorder per replication, KPIs as they come, the final status."""

    def __init__(self, store: RunStore, run_id: str, lock: _Lock, log: LogWriter | None) -> None:
        self.store = store
        self.id = run_id
        self._lock = lock
        self._log = log
        self._recorder: Recorder | None = None

    def recorder(self, replication: int) -> Recorder | None:
        """The observer to hand the line for this replication (None when not logging)."""
        if self._log is None:
            return None
        from twin.record.recorder import Recorder

        self._recorder = Recorder(self._log, replication)
        return self._recorder

    def add_log(self, replication: int, batches: Sequence[tuple[str, dict]]) -> None:
        """Write a replication's log rows, recorded elsewhere (a worker process) as row
        groups of (kind, columns), in the order they were recorded."""
        if self._log is None:
            return
        for kind, columns in batches:
            self._log.write(replication, kind, columns)

    def add_replication(
        self,
        replication: int,
        *,
        kpis: dict,
        elements: dict,
        end_s: float,
        parts_out: int,
        faults: Sequence[RunFault] = (),
    ) -> None:
        """Store one ended replication: its KPIs, element figures, and the faults that did
        not end it (a controller that went to STOP)."""
        if self._recorder is not None:
            self._recorder.flush()
            self._recorder = None
        elements = json_safe(elements)
        found = [json_safe(fault.to_json()) for fault in faults]
        self.store._add_replication(self.id, replication, kpis, elements, end_s, parts_out, found)

    def set_replications(self, replications: int) -> None:
        """The run now has ``replications`` in all: a run that decides on more as it goes
        (replications to a precision) says so before each batch, so that the catalog counts
        what is planned while it runs and what ran once it is complete."""
        if replications < 1:
            raise StoreError(f"a run has 1 or more replications, not {replications}")
        self.store._db.execute(
            "UPDATE runs SET replications = ? WHERE id = ?", (replications, self.id)
        )

    def complete(self) -> None:
        """The run is whole: the log is final and checksummed before the status says so."""
        log = None
        if self._log is not None:
            digest = self._log.close()
            log = (digest, self._log.rows_written)
        self.store._finish(self.id, "complete", None, log)
        self._lock.release()

    def fail(self, error: str, *, status: str = "failed") -> None:
        if self._log is not None:
            self._log.abort()
        self.store._finish(self.id, status, error, None)
        self._lock.release()
