"""`twin run` records every run; `twin runs` lists, shows, compares, exports and deletes them —
typed at a real command line, one process per command."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Told, twin_commands

from twin.record import RunInfo, RunStore
from twin.record.compare import KpiRow, compare_runs

LINE = """\
name: Two machines
run: {horizon: 10h, warmup: 30min, replications: 4, seed: 7}
elements:
  feed: {type: source}
  m1: {type: station, process: {exponential: 50s}}
  b1: {type: buffer, capacity: 3}
  m2: {type: station, process: {exponential: 60s}}
  done: {type: sink}
flow:
  - feed -> m1 -> b1 -> m2 -> done
"""
UNKNOWN = "0123456789ab"  # no run id starts so (a chance of one in 2^48)


def cells(line: str) -> list[str]:
    """The cells of one line of a table."""
    return [cell.strip() for cell in line.split("│")[1:-1]]


def assert_refused(told: Told, message: str) -> None:
    assert told.returncode == 2, told.stderr
    assert "Traceback" not in told.stderr + told.stdout
    assert " ".join(told.stderr.split()) == f"error: {message}"


@dataclass
class Session:
    """What a planner typed, in order, and what each command told them."""

    folder: Path
    store: Path
    base: str
    faster: str
    again: str
    ran: list[Told]
    runs: dict[str, RunInfo]  # as the catalog had them before anything was deleted
    kpis: dict[str, dict[str, list[float]]]
    comparison: dict[str, KpiRow]  # base against faster, computed in this process
    not_recorded: Told
    listed: Told
    shown: Told
    compared_faster: Told
    compared_again: Told
    exported: Told
    unknown: Told
    deleted: Told
    listed_after: Told
    shown_after: Told
    deleted_again: Told


def recorded_id(told: Told) -> str:
    assert told.returncode == 0, told.stderr
    (match,) = re.findall(r"Recorded as run ([0-9a-f]{8}) in ", told.words)
    return match


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    folder = tmp_path_factory.mktemp("cli-runs")
    (folder / "line.yaml").write_text(LINE, encoding="utf-8")
    store = folder / "runs"
    unrecorded = folder / "never"
    common = ["--store", str(store)]
    # Three runs recorded at once into one store, and one that is not recorded at all.
    *ran, not_recorded = twin_commands(
        ["run", "line.yaml", *common],
        ["run", "line.yaml", "--set", "m2.process=20s", *common],
        ["run", "line.yaml", *common],
        ["run", "line.yaml", "--no-record", "--replications", "2"],
        cwd=folder,
        env={"TWIN_STORE": str(unrecorded)},
    )
    base, faster, again = (recorded_id(told) for told in ran)
    catalog = RunStore(store)
    runs = {run_id: catalog.get(run_id) for run_id in (base, faster, again)}
    kpis = {run_id: catalog.kpis(run.id) for run_id, run in runs.items()}
    comparison = {row.name: row for row in compare_runs(catalog, [runs[base], runs[faster]])}
    catalog.close()
    listed, shown, compared_faster, compared_again, exported, unknown = twin_commands(
        ["runs", "list"],  # the store named by TWIN_STORE
        ["runs", "show", base, *common],
        ["runs", "compare", base, faster, *common],
        ["runs", "compare", base, again, *common],
        ["runs", "export", base, "--format", "json", "--out", str(folder / "export"), *common],
        ["runs", "show", UNKNOWN, *common],
        env={"TWIN_STORE": str(store)},
    )
    # Four digits are enough, unless another run happens to start with the same four.
    prefix = base[:4] if not any(i.startswith(base[:4]) for i in (faster, again)) else base
    (deleted,) = twin_commands(["runs", "delete", prefix, "--yes", *common])
    listed_after, shown_after, deleted_again = twin_commands(
        ["runs", "list", *common],
        ["runs", "show", base, *common],
        ["runs", "delete", base, "--yes", *common],
    )
    return Session(
        folder=folder,
        store=store,
        base=base,
        faster=faster,
        again=again,
        ran=ran,
        runs=runs,
        kpis=kpis,
        comparison=comparison,
        not_recorded=not_recorded,
        listed=listed,
        shown=shown,
        compared_faster=compared_faster,
        compared_again=compared_again,
        exported=exported,
        unknown=unknown,
        deleted=deleted,
        listed_after=listed_after,
        shown_after=shown_after,
        deleted_again=deleted_again,
    )


def test_run_prints_the_kpis_and_the_id_it_was_recorded_under(session: Session) -> None:
    ids = (session.base, session.faster, session.again)
    for told, run_id in zip(session.ran, ids, strict=True):
        assert told.returncode == 0, told.stderr
        assert cells(told.lines_with("throughput_per_hour")[0])[0] == "throughput_per_hour"
        assert told.words.endswith(
            f"Recorded as run {run_id} in {session.store}/ (`twin runs show {run_id}`)"
        )
    assert len({session.base, session.faster, session.again}) == 3


def test_no_record_runs_without_touching_any_store(session: Session) -> None:
    told = session.not_recorded

    assert told.returncode == 0, told.stderr
    assert told.lines_with("throughput_per_hour")
    assert "Recorded as run" not in told.stdout
    assert not (session.folder / "never").exists()
    assert not (session.folder / "twin-runs").exists()


def test_list_shows_every_run_with_its_status_and_log(session: Session) -> None:
    told = session.listed

    assert told.returncode == 0, told.stderr
    assert f"Runs in {session.store}/" in told.words
    for run_id in (session.base, session.faster, session.again):
        (line,) = told.lines_with(run_id)
        run = session.runs[run_id]
        id_, started, name, status, reps, seed, throughput, log = cells(line)
        assert (id_, name, status, reps, seed) == (run_id, "Two machines", "complete", "4/4", "7")
        assert started == run.started_at.replace("T", " ")[:19]
        assert log == f"{run.log_rows:,} rows"
        mean = sum(session.kpis[run_id]["throughput_per_hour"]) / 4
        assert throughput == f"{mean:.1f}"


def test_show_prints_the_manifest_and_the_kpi_table(session: Session) -> None:
    told = session.shown
    run = session.runs[session.base]

    assert told.returncode == 0, told.stderr
    manifest = {
        key: value for key, value in (line.split("  ", 1) for line in told.stdout.splitlines()[:10])
    }
    assert manifest["run"].strip() == run.id
    assert manifest["scenario"].strip() == "Two machines (line.yaml)"
    assert manifest["scenario sha256"].strip() == run.scenario_sha256
    assert manifest["seed / replications"].strip() == "7 / 4"
    assert manifest["status"].strip() == "complete"
    assert manifest["log"].strip() == f"{run.log_rows:,} rows, checksum verified"
    assert "Two machines — 4 replication(s), seed 7" in told.stdout
    kpi_names = [cells(line)[0] for line in told.stdout.splitlines() if line.startswith("│ ")]
    assert kpi_names[:5] == [
        "throughput_per_hour", "lead_time_s", "lead_time_p50_s", "lead_time_p95_s", "wip",
    ]  # fmt: skip
    assert {"m1", "b1", "m2"} <= set(kpi_names)  # the element table follows


def test_compare_marks_a_significant_difference_with_a_star(session: Session) -> None:
    told = session.compared_faster

    assert told.returncode == 0, told.stderr
    (line,) = told.lines_with("throughput_per_hour")
    _, _, _, difference, p_value = cells(line)
    expected = session.comparison["throughput_per_hour"].differences[0]
    assert expected.significant
    assert difference == f"{expected.difference:.1f} *"
    assert float(p_value) < 0.05
    (line,) = told.lines_with("m2.utilisation")
    assert cells(line)[3].endswith(" *")
    assert told.words.endswith("* significant at the 5 % level (Welch's t-test over replications)")


def test_compare_of_the_same_scenario_and_seed_shows_no_difference(session: Session) -> None:
    told = session.compared_again

    assert told.returncode == 0, told.stderr
    kpi_lines = [line for line in told.stdout.splitlines() if re.match(r"│ [a-z]", line)]
    assert len(kpi_lines) >= 5
    for line in kpi_lines:
        name, base, again, difference, p_value = cells(line)
        assert base == again, name
        assert difference == "0.000", name
        assert p_value == "1", name


def test_export_writes_the_files_it_names(session: Session) -> None:
    told = session.exported
    run = session.runs[session.base]
    export = session.folder / "export"

    assert told.returncode == 0, told.stderr
    written = [Path(line) for line in told.stdout.splitlines()]
    assert [p.name for p in written] == [
        f"twin-run-{session.base}.json",
        f"twin-run-{session.base}-log.jsonl",
    ]
    assert all(p.parent == export and p.exists() for p in written)
    document = json.loads(written[0].read_text(encoding="utf-8"))
    assert document["manifest"]["id"] == run.id
    assert document["manifest"]["status"] == "complete"
    assert document["manifest"]["log"] == {"rows": run.log_rows, "sha256": run.log_sha256}
    assert document["kpis"] == session.kpis[session.base]
    rows = written[1].read_text(encoding="utf-8").splitlines()
    assert len(rows) == run.log_rows


def test_an_unknown_id_is_refused_with_what_to_do(session: Session) -> None:
    assert_refused(
        session.unknown,
        f"no run '{UNKNOWN}' in {session.store}; `twin runs list` shows the runs",
    )
    assert session.unknown.stdout == ""


def test_delete_removes_the_run_and_keeps_the_others(session: Session) -> None:
    told = session.deleted
    store = RunStore(session.store)

    assert told.returncode == 0, told.stderr
    full_id = session.runs[session.base].id
    assert told.stdout.strip() == f"deleted run {full_id} (Two machines)"
    assert {run.short_id for run in store.runs()} == {session.faster, session.again}
    assert not (session.store / "logs" / f"{full_id}.parquet").exists()
    assert session.listed_after.returncode == 0
    assert not session.listed_after.lines_with(session.base)
    assert session.listed_after.lines_with(session.faster)
    assert session.listed_after.lines_with(session.again)
    assert_refused(
        session.shown_after,
        f"no run '{session.base}' in {session.store}; `twin runs list` shows the runs",
    )
    assert_refused(
        session.deleted_again,
        f"no run '{session.base}' in {session.store}; `twin runs list` shows the runs",
    )
