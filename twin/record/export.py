"""Exporting a recorded run as CSV, Parquet or JSON files for other tools."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from twin.record.plain import json_safe
from twin.record.store import RunInfo, RunStore, StoreError

FORMATS = ("csv", "parquet", "json")
# Times in text exports: to the microsecond, so that 28.24 does not come out as
# 28.240000000000002 (binary floating point); nothing the engine does is finer.
TIME_DECIMALS = 6


def manifest(run: RunInfo) -> dict:
    """The run's manifest as plain data."""
    return {
        "id": run.id,
        "label": run.label,
        "scenario": {
            "name": run.scenario_name,
            "source": run.scenario_source,
            "sha256": run.scenario_sha256,
            "overrides": run.overrides,
            "text": run.scenario_text,
        },
        "seed": run.seed,
        "replications": run.replications,
        "horizon_s": run.horizon_s,
        "warmup_s": run.warmup_s,
        "versions": run.versions,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "status": run.status,
        "error": run.error,
        "log": {"rows": run.log_rows, "sha256": run.log_sha256} if run.recorded else None,
    }


def _kpi_rows(store: RunStore, run: RunInfo) -> list[dict]:
    return [
        {"replication": replication, "kpi": name, "value": value}
        for name, values in store.kpis(run.id).items()
        for replication, value in enumerate(values)
    ]


def _log_table(store: RunStore, run: RunInfo) -> pa.Table | None:
    if not run.recorded or run.status != "complete":
        return None
    parquet, _ = store.open_log(run)
    return parquet.read()


def _rounded_time(name: str, value: float) -> float:
    """A KPI in seconds rounded to the microsecond for text; other KPIs as they are."""
    return round(value, TIME_DECIMALS) if name.endswith("_s") and math.isfinite(value) else value


def _plain_columns(table: pa.Table, *, for_text: bool = False) -> pa.Table:
    """Dictionary columns as plain strings, and poses as text, for formats without them;
    ``for_text`` rounds the times to the microsecond as well."""
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if for_text and name == "time_s":
            column = pc.round(column, TIME_DECIMALS)
        elif pa.types.is_dictionary(column.type):
            column = column.cast(pa.string())
        elif pa.types.is_fixed_size_list(column.type):
            column = pa.array(
                [None if p is None else " ".join(f"{v:g}" for v in p) for p in column.to_pylist()],
                pa.string(),
            )
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def export_run(store: RunStore, run: RunInfo, fmt: str, folder: Path) -> list[Path]:
    """Write the run's manifest, KPIs per replication and (if recorded) its log; return paths."""
    if fmt not in FORMATS:
        raise StoreError(f"format {fmt!r} is unknown; use one of: {', '.join(FORMATS)}")
    log = _log_table(store, run)  # first: a broken log must leave nothing behind
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"twin-run-{run.short_id}"
    written = []
    if fmt == "json":
        path = stem.with_suffix(".json")
        document = {
            "manifest": manifest(run),
            "kpis": store.kpis(run.id),
            "replications": store.replications(run.id),
            "faults": store.faults(run.id),
        }
        path.write_text(json.dumps(json_safe(document), indent=2) + "\n", encoding="utf-8")
        written.append(path)
        if log is not None:
            path = folder / f"{stem.name}-log.jsonl"
            with path.open("w", encoding="utf-8") as handle:
                for batch in _plain_columns(log).to_batches(max_chunksize=65_536):
                    for row in batch.to_pylist():
                        handle.write(json.dumps(row) + "\n")
            written.append(path)
        return written
    path = folder / f"{stem.name}-manifest.json"
    document = {**manifest(run), "faults": store.faults(run.id)}
    path.write_text(json.dumps(json_safe(document), indent=2) + "\n", encoding="utf-8")
    written.append(path)
    kpis = _kpi_rows(store, run)
    if fmt == "csv":
        path = folder / f"{stem.name}-kpis.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["replication", "kpi", "value"])
            writer.writeheader()
            writer.writerows(
                {**row, "value": _rounded_time(row["kpi"], row["value"])} for row in kpis
            )
        written.append(path)
        if log is not None:
            path = folder / f"{stem.name}-log.csv"
            pacsv.write_csv(_plain_columns(log, for_text=True), path)
            written.append(path)
    else:
        path = folder / f"{stem.name}-kpis.parquet"
        schema = pa.schema(
            [("replication", pa.int32()), ("kpi", pa.string()), ("value", pa.float64())]
        )
        pq.write_table(pa.Table.from_pylist(kpis, schema=schema), path)
        written.append(path)
        if log is not None:
            path = folder / f"{stem.name}-log.parquet"
            shutil.copyfile(store.log_path(run), path)
            written.append(path)
    return written
