"""The SQLite catalog of runs: manifests, statuses, KPIs and faults per replication."""

from __future__ import annotations

import sqlite3
from pathlib import Path

STATUSES = ("complete", "running", "failed", "interrupted")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id              TEXT PRIMARY KEY,
    scenario_name   TEXT NOT NULL,
    scenario_source TEXT NOT NULL,
    scenario_text   TEXT NOT NULL,
    scenario_sha256 TEXT NOT NULL,
    overrides       TEXT NOT NULL,          -- JSON list of --set settings
    seed            INTEGER NOT NULL,
    replications    INTEGER NOT NULL,
    horizon_s       REAL,
    warmup_s        REAL NOT NULL,
    versions        TEXT NOT NULL,          -- JSON {package: version}
    started_at      TEXT NOT NULL,          -- ISO 8601, UTC
    ended_at        TEXT,
    status          TEXT NOT NULL
                    CHECK (status IN ('running', 'complete', 'failed', 'interrupted')),
    error           TEXT,
    recorded        INTEGER NOT NULL,       -- 1 if the run has an event log
    log_file        TEXT,
    log_sha256      TEXT,
    log_rows        INTEGER,
    host            TEXT NOT NULL,
    pid             INTEGER NOT NULL,
    label           TEXT,                   -- what the user called the run (--label)
    experiment      TEXT,                   -- id of the sweep or optimisation it belongs to
    parameters      TEXT                    -- JSON {setting: value} the experiment varied
);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at);
CREATE TABLE IF NOT EXISTS replications (
    run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    replication  INTEGER NOT NULL,
    end_s        REAL NOT NULL,
    parts_out    INTEGER NOT NULL,
    elements     TEXT NOT NULL,             -- JSON {element: {type, utilisation, states, ...}}
    faults       TEXT NOT NULL DEFAULT '[]', -- JSON [RunFault.to_json(), ...]
    PRIMARY KEY (run_id, replication)
);
CREATE TABLE IF NOT EXISTS kpis (
    run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    replication  INTEGER NOT NULL,
    name         TEXT NOT NULL,
    value        REAL,                      -- NULL where a replication could not measure it
    PRIMARY KEY (run_id, replication, name)
);
"""


# Columns that catalogs written by earlier versions of twin lack: added when such a catalog is
# opened, so that it keeps every run it holds (a new column is empty, or its default, there).
ADDED_COLUMNS = (
    ("runs", "label", "TEXT"),
    ("runs", "experiment", "TEXT"),
    ("runs", "parameters", "TEXT"),
    ("replications", "faults", "TEXT NOT NULL DEFAULT '[]'"),
)


def connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode, so readers never wait for a run being written."""
    connection = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.executescript(SCHEMA)
    _add_missing_columns(connection)
    # After the columns an older catalog lacks are added: the index needs them.
    connection.execute("CREATE INDEX IF NOT EXISTS runs_experiment ON runs (experiment)")
    return connection


def _missing_columns(connection: sqlite3.Connection) -> list[tuple[str, str, str]]:
    present: dict[str, set[str]] = {}
    for table, _, _ in ADDED_COLUMNS:
        if table not in present:
            rows = connection.execute(f"PRAGMA table_info({table})").fetchall()
            present[table] = {row["name"] for row in rows}
    return [added for added in ADDED_COLUMNS if added[1] not in present[added[0]]]


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    if not _missing_columns(connection):
        return
    # Under the write lock, and asked again: another process may be opening the same old
    # catalog at this moment, and a column must not be added twice.
    connection.execute("BEGIN IMMEDIATE")
    try:
        for table, column, definition in _missing_columns(connection):
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
