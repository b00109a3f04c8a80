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
# A belt whose PLC divides by zero on its third scan (t = 0.2 s), in both replications.
STOP_PROGRAM = """\
PROGRAM Stop
VAR_OUTPUT belt_run : BOOL; END_VAR
VAR n : INT := 3; END_VAR
n := n - 1;
belt_run := 10 / n > 0;
END_PROGRAM
"""
STOP_LINE = """\
name: PLC stop
run: {horizon: 10s, replications: 2}
elements:
  feed: {type: source, interarrival: 2s}
  belt: {type: conveyor, length: 3, speed: 0.5, capacity: 5}
  done: {type: sink}
flow: [feed -> belt -> done]
control: {plc: stop.st, cycle: 100ms, tags: {belt.run: belt_run}}
"""
UNKNOWN = "0123456789ab"  # no run id starts so (a chance of one in 2^48)


def cells(line: str) -> list[str]:
    """The cells of one line of a table (of its header too)."""
    return [cell.strip() for cell in re.split("[│┃]", line)[1:-1]]


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
    labelled: str
    stopped: str
    failed: str  # entered in the catalog directly: a run that failed at its first replication
    ran: list[Told]
    runs: dict[str, RunInfo]  # as the catalog had them before anything was deleted
    kpis: dict[str, dict[str, list[float]]]
    comparison: dict[str, KpiRow]  # base against faster, computed in this process
    not_recorded: Told
    listed: Told
    listed_machines: Told
    listed_failed: Told
    listed_stop_complete: Told
    listed_nothing: Told
    listed_bad_status: Told
    shown: Told
    shown_stopped: Told
    shown_labelled: Told
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
    (folder / "stop.yaml").write_text(STOP_LINE, encoding="utf-8")
    (folder / "stop.st").write_text(STOP_PROGRAM, encoding="utf-8")
    store = folder / "runs"
    unrecorded = folder / "never"
    common = ["--store", str(store)]
    # Five runs recorded at once into one store, and one that is not recorded at all.
    *ran, not_recorded = twin_commands(
        ["run", "line.yaml", *common],
        ["run", "line.yaml", "--set", "m2.process=20s", *common],
        ["run", "line.yaml", *common],
        ["run", "line.yaml", "--set", "b1.capacity=10", "--label", "bigger buffer", *common],
        ["run", "stop.yaml", "--label", "stops", *common],
        ["run", "line.yaml", "--no-record", "--replications", "2"],
        cwd=folder,
        env={"TWIN_STORE": str(unrecorded)},
    )
    base, faster, again, labelled, stopped = (recorded_id(told) for told in ran)
    catalog = RunStore(store)
    writer = catalog.begin(
        scenario_name="Small line", scenario_source="small.yaml", scenario_text="name: Small line",
        scenario_sha256="0" * 64, overrides=["run.seed=2"], seed=2, replications=3,
        horizon_s=600.0, warmup_s=0.0, record_log=False,
    )  # fmt: skip
    writer.fail("RuntimeError: the line broke")
    failed = writer.id[:8]
    ids = (base, faster, again, labelled, stopped, failed)
    runs = {run_id: catalog.get(run_id) for run_id in ids}
    kpis = {run_id: catalog.kpis(run.id) for run_id, run in runs.items()}
    comparison = {row.name: row for row in compare_runs(catalog, [runs[base], runs[faster]])}
    catalog.close()
    (
        listed, listed_machines, listed_failed, listed_stop_complete, listed_nothing,
        listed_bad_status, shown, shown_stopped, shown_labelled, compared_faster, compared_again,
        exported, unknown,
    ) = twin_commands(
        ["runs", "list"],  # the store named by TWIN_STORE
        ["runs", "list", "--scenario", "MACHINES"],
        ["runs", "list", "--status", "failed"],
        ["runs", "list", "--scenario", "stop", "--status", "complete"],
        ["runs", "list", "--scenario", "stop", "--status", "failed"],
        ["runs", "list", "--status", "done"],
        ["runs", "show", base, *common],
        ["runs", "show", stopped, *common],
        ["runs", "show", labelled, *common],
        ["runs", "compare", base, faster, *common],
        ["runs", "compare", base, again, *common],
        ["runs", "export", base, "--format", "json", "--out", str(folder / "export"), *common],
        ["runs", "show", UNKNOWN, *common],
        env={"TWIN_STORE": str(store)},
    )  # fmt: skip
    # Four digits are enough, unless another run happens to start with the same four.
    prefix = base[:4] if not any(i.startswith(base[:4]) for i in ids[1:]) else base
    (deleted,) = twin_commands(["runs", "delete", prefix, *common])
    listed_after, shown_after, deleted_again = twin_commands(
        ["runs", "list", *common],
        ["runs", "show", base, *common],
        ["runs", "delete", base, *common],
    )
    return Session(
        folder=folder,
        store=store,
        base=base,
        faster=faster,
        again=again,
        labelled=labelled,
        stopped=stopped,
        failed=failed,
        ran=ran,
        runs=runs,
        kpis=kpis,
        comparison=comparison,
        not_recorded=not_recorded,
        listed=listed,
        listed_machines=listed_machines,
        listed_failed=listed_failed,
        listed_stop_complete=listed_stop_complete,
        listed_nothing=listed_nothing,
        listed_bad_status=listed_bad_status,
        shown=shown,
        shown_stopped=shown_stopped,
        shown_labelled=shown_labelled,
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
    ids = (session.base, session.faster, session.again, session.labelled, session.stopped)
    for told, run_id in zip(session.ran, ids, strict=True):
        assert told.returncode == 0, told.stderr
        assert cells(told.lines_with("throughput_per_hour")[0])[0] == "throughput_per_hour"
        assert told.words.endswith(
            f"Recorded as run {run_id} in {session.store}/ (`twin runs show {run_id}`)"
        )
    assert len(set(ids)) == 5


def test_no_record_runs_without_touching_any_store(session: Session) -> None:
    told = session.not_recorded

    assert told.returncode == 0, told.stderr
    assert told.lines_with("throughput_per_hour")
    assert "Recorded as run" not in told.stdout
    assert not (session.folder / "never").exists()
    assert not (session.folder / "twin-runs").exists()


def listed_ids(told: Told) -> list[str]:
    """The ids of the runs a `twin runs list` shows, in order."""
    return [
        cells(line)[0] for line in told.stdout.splitlines() if re.match(r"│ [0-9a-f]{8} ", line)
    ]


def test_list_shows_every_run_with_its_variant_status_and_log(session: Session) -> None:
    told = session.listed

    assert told.returncode == 0, told.stderr
    assert f"Runs in {session.store}/" in told.words
    *together, last = listed_ids(told)  # oldest first; the five ran side by side
    assert sorted(together) == sorted(
        [session.base, session.faster, session.again, session.labelled, session.stopped]
    )
    assert last == session.failed
    for run_id, variant in (
        (session.base, "—"),
        (session.faster, "m2.process=20s"),  # the overrides, when there is no label
        (session.again, "—"),
        (session.labelled, "bigger buffer"),  # the label, not the overrides
    ):
        (line,) = told.lines_with(run_id)
        run = session.runs[run_id]
        id_, started, name, shown_variant, status, reps, seed, throughput, log = cells(line)
        assert (id_, name, shown_variant, status, reps, seed) == (
            run_id, "Two machines", variant, "complete", "4/4", "7",
        )  # fmt: skip
        assert started == run.started_at.replace("T", " ")[:16]
        assert log == f"{run.log_rows:,}"
        mean = sum(session.kpis[run_id]["throughput_per_hour"]) / 4
        assert throughput == f"{mean:.1f}"
    (line,) = told.lines_with(session.stopped)
    assert cells(line)[2:6] == ["PLC stop", "stops", "complete · 2 faults", "2/2"]
    (line,) = told.lines_with(session.failed)
    assert cells(line)[2:6] == ["Small line", "run.seed=2", "failed", "0/3"]
    assert cells(line)[-1] == "none"  # recorded without a log


def test_list_filters_by_scenario_name_and_status(session: Session) -> None:
    machines = [session.base, session.faster, session.again, session.labelled]

    assert sorted(listed_ids(session.listed_machines)) == sorted(machines)  # any case
    assert listed_ids(session.listed_failed) == [session.failed]
    assert listed_ids(session.listed_stop_complete) == [session.stopped]
    nothing = session.listed_nothing
    assert nothing.returncode == 0, nothing.stderr
    assert nothing.stdout.strip() == (
        "No run matches --scenario 'stop' --status 'failed' (6 runs in the store)."
    )


def test_list_refuses_a_status_that_does_not_exist(session: Session) -> None:
    assert_refused(
        session.listed_bad_status,
        "--status 'done' is not a status; use one of: complete, running, failed, interrupted",
    )
    assert session.listed_bad_status.stdout == ""


def manifest_of(told: Told) -> dict[str, str]:
    """The key–value lines at the top of a `twin runs show`."""
    return {
        key: value.strip()
        for key, value in (line.split("  ", 1) for line in told.stdout.splitlines()[:11])
    }


def test_show_prints_the_manifest_and_the_kpi_table(session: Session) -> None:
    told = session.shown
    run = session.runs[session.base]

    assert told.returncode == 0, told.stderr
    manifest = manifest_of(told)
    assert manifest["run"].strip() == run.id
    assert manifest["label"] == "—"
    assert manifest["overrides"] == "—"
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


def test_show_names_the_label_and_the_overrides(session: Session) -> None:
    told = session.shown_labelled

    assert told.returncode == 0, told.stderr
    manifest = manifest_of(told)
    assert manifest["label"] == "bigger buffer"
    assert manifest["overrides"] == "b1.capacity=10"


def test_show_lists_the_faults_of_a_plc_that_went_to_stop_before_the_kpis(
    session: Session,
) -> None:
    told = session.shown_stopped

    assert told.returncode == 0, told.stderr
    manifest = manifest_of(told)
    assert manifest["label"] == "stops"
    assert manifest["status"] == "complete · 2 faults"
    lines = told.stdout.splitlines()
    heading = [line.strip() for line in lines].index("Faults")
    assert cells(lines[heading + 2]) == ["rep", "time s", "location", "message"]
    assert [cells(line) for line in lines[heading + 4 : heading + 6]] == [
        [str(replication), "0.200", "stop.st:5:16", "division by zero"] for replication in (0, 1)
    ]  # the program's path as the scenario gave it
    assert told.says(
        "The controller went to STOP (every actuator off) and the run went on to its end: "
        "the KPIs below count that time too."
    )
    assert heading < told.stdout.index("throughput_per_hour")


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
    assert {run.short_id for run in store.runs()} == {
        session.faster, session.again, session.labelled, session.stopped, session.failed,
    }  # fmt: skip
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
