"""`twin run` records every run; `twin runs` lists, shows, compares, exports and deletes them —
typed at a real command line, one process per command."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Told, stopping_plc, twin_commands

from twin.cli.tables import number
from twin.record import RunInfo, RunStore
from twin.record.compare import RunComparison, compare_runs

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses or physics

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
    reseeded: str
    stopped: str
    failed: str  # entered in the catalog directly: a run that failed at its first replication
    ran: list[Told]
    runs: dict[str, RunInfo]  # as the catalog had them before anything was deleted
    kpis: dict[str, dict[str, list[float]]]
    comparison: RunComparison  # base against faster, computed in this process
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
    compared_reseeded: Told
    compared_five: Told
    compared_json: Told
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
    stopping_plc(folder, replications=2)
    store = folder / "runs"
    unrecorded = folder / "never"
    common = ["--store", str(store)]
    # Six runs recorded at once into one store, and one that is not recorded at all.
    *ran, not_recorded = twin_commands(
        ["run", "line.yaml", *common],
        ["run", "line.yaml", "--set", "m2.process=20s", *common],
        ["run", "line.yaml", *common],
        ["run", "line.yaml", "--set", "b1.capacity=10", "--label", "bigger buffer", *common],
        ["run", "line.yaml", "--seed", "8", *common],
        ["run", "stop.yaml", "--label", "stops", *common],
        ["run", "line.yaml", "--no-record", "--replications", "2"],
        cwd=folder,
        env={"TWIN_STORE": str(unrecorded)},
    )
    base, faster, again, labelled, reseeded, stopped = (recorded_id(told) for told in ran)
    catalog = RunStore(store)
    writer = catalog.begin(
        scenario_name="Small line", scenario_source="small.yaml", scenario_text="name: Small line",
        scenario_sha256="0" * 64, overrides=["run.seed=2"], seed=2, replications=3,
        horizon_s=600.0, warmup_s=0.0, record_log=False,
    )  # fmt: skip
    writer.fail("RuntimeError: the line broke")
    failed = writer.id[:8]
    ids = (base, faster, again, labelled, reseeded, stopped, failed)
    runs = {run_id: catalog.get(run_id) for run_id in ids}
    kpis = {run_id: catalog.kpis(run.id) for run_id, run in runs.items()}
    comparison = compare_runs(catalog, [runs[base], runs[faster]])
    catalog.close()
    (
        listed, listed_machines, listed_failed, listed_stop_complete, listed_nothing,
        listed_bad_status, shown, shown_stopped, shown_labelled, compared_faster, compared_again,
        compared_reseeded, compared_five, compared_json, exported, unknown,
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
        ["runs", "compare", base, reseeded, *common],
        ["runs", "compare", base, faster, again, labelled, reseeded, *common],
        ["runs", "compare", base, faster, labelled, "--json", "-", *common],
        ["runs", "export", base, "--format", "json", "--out", str(folder / "export"), *common],
        ["runs", "show", UNKNOWN, *common],
        env={"TWIN_STORE": str(store)},
    )  # fmt: skip
    # Four digits are enough, unless another run happens to start with the same four.
    prefix = base[:4] if not any(i.startswith(base[:4]) for i in ids[1:]) else base
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
        labelled=labelled,
        reseeded=reseeded,
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
        compared_reseeded=compared_reseeded,
        compared_five=compared_five,
        compared_json=compared_json,
        exported=exported,
        unknown=unknown,
        deleted=deleted,
        listed_after=listed_after,
        shown_after=shown_after,
        deleted_again=deleted_again,
    )


def test_run_prints_the_kpis_and_the_id_it_was_recorded_under(session: Session) -> None:
    ids = (
        session.base, session.faster, session.again, session.labelled, session.reseeded,
        session.stopped,
    )  # fmt: skip
    for told, run_id in zip(session.ran, ids, strict=True):
        assert told.returncode == 0, told.stderr
        assert cells(told.lines_with("throughput_per_hour")[0])[0] == "throughput_per_hour"
        assert told.words.endswith(
            f"Recorded as run {run_id} in {session.store}/ (`twin runs show {run_id}`)"
        )
    assert len(set(ids)) == 6


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
        [
            session.base, session.faster, session.again, session.labelled, session.reseeded,
            session.stopped,
        ]
    )  # fmt: skip
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
    machines = [session.base, session.faster, session.again, session.labelled, session.reseeded]

    assert sorted(listed_ids(session.listed_machines)) == sorted(machines)  # any case
    assert listed_ids(session.listed_failed) == [session.failed]
    assert listed_ids(session.listed_stop_complete) == [session.stopped]
    nothing = session.listed_nothing
    assert nothing.returncode == 0, nothing.stderr
    assert nothing.stdout.strip() == (
        "No run matches --scenario 'stop' --status 'failed' (7 runs in the store)."
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


def table_lines(told: Told, title: str) -> list[str]:
    """The lines of the table under ``title``, from its top rule to its bottom rule."""
    lines = told.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("└"))
    return lines[start + 1 : end + 1]


def headers(lines: list[str]) -> list[str]:
    """Each column's header of a table, its lines joined by spaces."""
    end = next(i for i, line in enumerate(lines) if "╇" in line)
    rows = [cells(line) for line in lines[1:end]]
    return [" ".join(row[j] for row in rows if row[j]) for j in range(len(rows[0]))]


def test_compare_heads_each_run_with_its_id_scenario_and_variant(session: Session) -> None:
    told = session.compared_faster

    assert told.returncode == 0, told.stderr
    table = table_lines(told, "Comparison (mean ± 95 % half width;")
    assert headers(table) == [
        "KPI",
        f"{session.base} Two machines",
        f"{session.faster} Two machines m2.process=20s",
        f"Δ {session.faster} [95 % CI] p",
    ]


def test_compare_shows_the_parameters_that_differ(session: Session) -> None:
    table = table_lines(session.compared_faster, "Parameters that differ")

    assert headers(table) == ["parameter", session.base, session.faster]
    assert [cells(line) for line in table[3:-1]] == [
        ["elements.m2.process.exponential", "60s", "—"],
        ["elements.m2.process", "—", "20s"],
    ]
    assert session.compared_again.says(
        "Parameters: the same in every run (same scenario text and overrides)."
    )


def test_compare_pairs_the_replications_of_runs_on_the_same_seed(session: Session) -> None:
    told = session.compared_faster
    expected = {row.name: row for row in session.comparison.kpis}

    assert session.comparison.method == "paired"
    lines = told.stdout.splitlines()
    for name in ("throughput_per_hour", "m2.utilisation"):
        (at,) = [i for i, line in enumerate(lines) if line.startswith(f"│ {name} ")]
        (difference,) = expected[name].differences
        assert difference.significant
        lo, hi = difference.ci95
        sign = "+" if difference.difference > 0 else ""
        assert [cells(line)[3] for line in lines[at : at + 3]] == [
            f"{sign}{number(difference.difference)} *",
            f"[{number(lo)}, {number(hi)}]",
            f"p {difference.p_value:.2g}",
        ]
    assert expected["throughput_per_hour"].differences[0].difference > 15
    assert told.says(
        "* significant at the 5 % level (paired t-test over replications: the runs share seed 7 "
        "and 4 replications, so replication i of each drew the same random numbers)"
    )


def test_compare_of_runs_on_other_seeds_uses_welch_and_says_why(session: Session) -> None:
    told = session.compared_reseeded

    assert told.returncode == 0, told.stderr
    table = table_lines(told, "Parameters that differ")
    assert [cells(line) for line in table[3:-1]] == [["run.seed", "7", "8"]]
    assert told.words.endswith(
        "* significant at the 5 % level (Welch's t-test over replications: "
        f"{session.reseeded} has seed 8, the base 7, so the replications do not pair up)"
    )


def test_compare_of_the_same_scenario_and_seed_shows_no_difference(session: Session) -> None:
    told = session.compared_again

    assert told.returncode == 0, told.stderr
    lines = told.stdout.splitlines()
    kpi_rows = [i for i, line in enumerate(lines) if re.match(r"│ [a-z]", line)]
    assert len(kpi_rows) >= 5
    for at in kpi_rows:
        name, base, again, difference = cells(lines[at])
        assert base == again, name
        assert difference == "0.000", name
        assert cells(lines[at + 2])[3] == "p 1", name


def test_five_runs_are_compared_one_run_per_row_within_120_columns(session: Session) -> None:
    told = session.compared_five

    assert told.returncode == 0, told.stderr
    # Every table fits the width (sentences under them are not broken when piped).
    drawn = [line for line in told.stdout.splitlines() if line[:1] in "┏┃┡│├└"]
    assert max(len(line) for line in drawn) <= 120, told.stdout
    first = table_lines(told, "Comparison (mean ± 95 % half width; Δ = run − ")
    assert headers(first)[:3] == ["run", "throughput_per_hour", "lead_time_s"]
    body = [cells(line) for line in first if line.startswith("│")]
    # Each run is a row: its id, its scenario and its variant (none for the file as written).
    assert [row[0] for row in body] == [
        session.base, "Two machines",
        session.faster, "Two machines", "m2.process=20s",
        session.again, "Two machines",
        session.labelled, "Two machines", "bigger buffer",
        session.reseeded, "Two machines", "run.seed=8",
    ]  # fmt: skip
    throughput = session.comparison.kpis[0]
    assert throughput.name == "throughput_per_hour"
    (base, faster), (difference,) = throughput.estimates, throughput.differences
    assert [row[1] for row in body[:5]] == [
        f"{number(base.mean)} ± {number(base.half_width)}",
        "base",
        f"{number(faster.mean)} ± {number(faster.half_width)}",
        f"Δ +{number(difference.difference)} *",
        "",
    ]
    assert told.words.endswith(
        "* significant at the 5 % level (Welch's t-test over replications: "
        f"{session.reseeded} has seed 8, the base 7, so the replications do not pair up)"
    )


def test_compare_writes_json_with_the_method_runs_parameters_and_kpis(session: Session) -> None:
    told = session.compared_json

    assert told.returncode == 0, told.stderr
    document = json.loads(told.stdout)  # nothing but the JSON on stdout
    assert "Comparison" in told.stderr  # the tables go to stderr
    assert document["method"] == "paired"
    assert [
        (run["id"][:8], run["label"], run["overrides"], run["seed"], run["replications"])
        for run in document["runs"]
    ] == [
        (session.base, None, [], 7, 4),
        (session.faster, None, ["m2.process=20s"], 7, 4),
        (session.labelled, "bigger buffer", ["b1.capacity=10"], 7, 4),
    ]
    assert document["parameters"] == {
        "elements.b1.capacity": [3, 3, 10],
        "elements.m2.process.exponential": ["60s", None, "60s"],
        "elements.m2.process": [None, "20s", None],
    }
    throughput = document["kpis"]["throughput_per_hour"]
    row = session.comparison.kpis[0]
    assert throughput["estimates"][:2] == [
        {"mean": e.mean, "ci95": list(e.ci95)} for e in row.estimates
    ]
    (faster, _) = throughput["differences"]
    (difference,) = row.differences
    assert faster == {
        "difference": difference.difference,
        "ci95": list(difference.ci95),
        "p_value": difference.p_value,
        "significant": True,
    }
    assert set(document["kpis"]) == set(session.kpis[session.base])  # every KPI, not only some


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
        session.faster, session.again, session.labelled, session.reseeded, session.stopped,
        session.failed,
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
