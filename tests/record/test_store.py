"""The run store keeps every run: listed with its manifest, KPIs exactly as measured, compared,
exported and deleted — and a run that fails is listed as failed, not lost."""

from __future__ import annotations

import csv
import json
import math
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from conftest import scenario, stopping_plc

from twin import __version__
from twin.errors import ScenarioError
from twin.experiment import RunInterrupted, RunResult, run_experiment
from twin.faults import RunFault
from twin.record import LogError, RunStore, StoreError
from twin.record.compare import compare_runs
from twin.record.export import export_run
from twin.scenario import load_scenario
from twin.stats import paired, welch

LINE = """
name: Two machines
description: m1 feeds m2 through a buffer of three places.
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
FASTER_M2 = ["m2.process=20s"]  # the bottleneck becomes three times as fast

SMALL = """
name: Small line
run: {horizon: 2h, replications: 2, seed: 3}
elements:
  feed: {type: source, interarrival: {exponential: 60s}}
  m1: {type: station, process: {exponential: 40s}}
  done: {type: sink}
flow:
  - feed -> m1 -> done
"""


def kpi_values(result: RunResult) -> dict[str, list[float]]:
    """KPI name → one value per replication, as the run measured them."""
    names = list(result.replications[0].kpis)
    return {name: [r.kpis[name] for r in result.replications] for name in names}


class Recorded:
    """A store with the line, the line with a faster m2, the line again (same seed), and the
    line on other random numbers (seed 8)."""

    def __init__(self, folder: Path) -> None:
        self.store = RunStore(folder)
        self.base_scenario = scenario(LINE)
        self.faster_scenario = scenario(LINE, FASTER_M2)
        self.base = run_experiment(self.base_scenario, store=self.store)
        self.faster = run_experiment(self.faster_scenario, store=self.store)
        self.again = run_experiment(scenario(LINE), store=self.store)
        self.reseeded = run_experiment(scenario(LINE, ["run.seed=8"]), store=self.store)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    return Recorded(tmp_path_factory.mktemp("store"))


# Listing ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_run_is_listed_oldest_first_with_its_manifest(recorded: Recorded) -> None:
    runs = recorded.store.runs()

    assert [run.id for run in runs] == [
        recorded.base.run_id,
        recorded.faster.run_id,
        recorded.again.run_id,
        recorded.reseeded.run_id,
    ]
    base, faster, _, _ = runs
    for run, source in ((base, recorded.base_scenario), (faster, recorded.faster_scenario)):
        assert run.status == "complete"
        assert run.error is None
        assert run.ended_at is not None and run.ended_at >= run.started_at
        assert run.scenario_name == "Two machines"
        assert run.scenario_source == "test.yaml"
        assert run.scenario_text == source.text
        assert run.scenario_sha256 == source.sha256
        assert run.seed == 7
        assert run.replications == 4
        assert run.horizon_s == 36_000.0
        assert run.warmup_s == 1_800.0
        assert run.versions["twin"] == __version__
        assert {"simpy", "pyarrow"} <= set(run.versions)
        assert run.recorded is True
        assert run.log_rows > 0
        assert len(run.log_sha256) == 64
    assert base.overrides == []
    assert faster.overrides == FASTER_M2
    # The variant is the same file with an override: same text, same hash.
    assert faster.scenario_sha256 == base.scenario_sha256


def test_the_catalog_holds_exactly_the_kpis_each_replication_measured(recorded: Recorded) -> None:
    for result in (recorded.base, recorded.faster):
        stored = recorded.store.kpis(result.run_id)

        assert stored == kpi_values(result)
        assert list(stored) == list(result.replications[0].kpis)  # in the run's order
        assert all(len(values) == 4 for values in stored.values())
        replications = recorded.store.replications(result.run_id)
        assert [r["replication"] for r in replications] == [0, 1, 2, 3]
        assert [r["parts_out"] for r in replications] == [r.parts_out for r in result.replications]
        assert [r["end_s"] for r in replications] == [r.end_s for r in result.replications]
        assert replications[2]["elements"] == result.replications[2].elements


def test_the_same_scenario_and_seed_record_the_same_kpis_and_log(recorded: Recorded) -> None:
    base = recorded.store.get(recorded.base.run_id)
    again = recorded.store.get(recorded.again.run_id)

    assert recorded.store.kpis(again.id) == recorded.store.kpis(base.id)
    assert again.log_rows == base.log_rows
    assert log_rows_of(recorded.store, again) == log_rows_of(recorded.store, base)
    assert again.log_sha256 == base.log_sha256  # byte for byte


def log_rows_of(store: RunStore, run) -> list[dict]:
    """Every row of a run's log as plain values (dictionary columns decoded)."""
    parquet, _ = store.open_log(run)
    table = parquet.read()
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.string()))
    return table.to_pylist()


# Comparing -------------------------------------------------------------------------------------


def test_a_much_faster_bottleneck_makes_a_significant_difference(recorded: Recorded) -> None:
    store = recorded.store
    base, faster = store.get(recorded.base.run_id), store.get(recorded.faster.run_id)

    rows = {row.name: row for row in compare_runs(store, [base, faster]).kpis}

    assert list(rows) == list(store.kpis(base.id))
    for name in ("throughput_per_hour", "lead_time_s", "wip", "m2.utilisation"):
        row = rows[name]
        before, after = row.estimates
        assert before.mean == recorded.base.kpis[name].mean
        assert after.mean == recorded.faster.kpis[name].mean
        (difference,) = row.differences
        assert difference.difference == after.mean - before.mean
        assert difference.significant
    assert rows["throughput_per_hour"].differences[0].difference > 15  # parts per hour
    assert rows["lead_time_s"].differences[0].difference < 0


def test_two_runs_of_the_same_scenario_and_seed_do_not_differ(recorded: Recorded) -> None:
    store = recorded.store
    base, again = store.get(recorded.base.run_id), store.get(recorded.again.run_id)

    rows = compare_runs(store, [base, again]).kpis

    for row in rows:
        (difference,) = row.differences
        assert difference.difference == 0.0, row.name
        assert not difference.significant, row.name
        assert difference.p_value == 1.0


def test_runs_on_the_same_seed_are_compared_replication_by_replication(
    recorded: Recorded,
) -> None:
    store = recorded.store
    base, faster = store.get(recorded.base.run_id), store.get(recorded.faster.run_id)

    comparison = compare_runs(store, [base, faster])

    # Same seed, same four replications: replication i of both drew the same random numbers.
    assert comparison.method == "paired"
    assert comparison.replications == [4, 4]
    rows = {row.name: row for row in comparison.kpis}
    for name, values in store.kpis(base.id).items():
        (difference,) = rows[name].differences
        assert difference == paired(values, store.kpis(faster.id)[name]), name
    lead_time = rows["lead_time_s"].differences[0]
    assert lead_time.df == 3.0
    unpaired = welch(store.kpis(base.id)["lead_time_s"], store.kpis(faster.id)["lead_time_s"])
    assert lead_time.difference == unpaired.difference
    assert lead_time.ci95 != unpaired.ci95


def test_runs_on_other_seeds_are_compared_by_welch(recorded: Recorded) -> None:
    store = recorded.store
    runs = [store.get(r.run_id) for r in (recorded.base, recorded.faster, recorded.reseeded)]

    comparison = compare_runs(store, runs)

    assert comparison.method == "welch"  # one run of three on other random numbers is enough
    rows = {row.name: row for row in comparison.kpis}
    kpis = [store.kpis(run.id) for run in runs]
    for name in kpis[0]:
        assert rows[name].differences == [welch(kpis[0][name], k[name]) for k in kpis[1:]]


def test_compare_names_the_parameters_in_which_the_runs_differ(recorded: Recorded) -> None:
    store = recorded.store
    base, faster, again, reseeded = (
        store.get(r.run_id)
        for r in (recorded.base, recorded.faster, recorded.again, recorded.reseeded)
    )

    assert compare_runs(store, [base, faster]).parameters == {
        "elements.m2.process.exponential": ["60s", None],  # the file's, replaced by the --set
        "elements.m2.process": [None, "20s"],
    }
    assert compare_runs(store, [base, again]).parameters == {}
    assert compare_runs(store, [base, again, reseeded]).parameters == {"run.seed": [7, 7, 8]}


def test_runs_of_different_scenarios_differ_in_more_parameters(recorded: Recorded) -> None:
    store = recorded.store
    small = run_experiment(scenario(SMALL), store=store)
    base = store.get(recorded.base.run_id)

    comparison = compare_runs(store, [base, store.get(small.run_id)])

    assert comparison.method == "welch"
    expected = {
        "name": ["Two machines", "Small line"],
        "description": ["m1 feeds m2 through a buffer of three places.", None],
        "run.horizon": ["10h", "2h"],
        "run.warmup": ["30min", None],
        "run.replications": [4, 2],
        "run.seed": [7, 3],
        "elements.feed.interarrival.exponential": [None, "60s"],
        "elements.m1.process.exponential": ["50s", "40s"],
        "elements.b1.type": ["buffer", None],
        "elements.b1.capacity": [3, None],
        "elements.m2.type": ["station", None],
        "elements.m2.process.exponential": ["60s", None],
        "flow": [["feed -> m1 -> b1 -> m2 -> done"], ["feed -> m1 -> done"]],
    }
    assert comparison.parameters == expected
    assert list(comparison.parameters) == list(expected)  # in the order of the files
    rows = {row.name: row for row in comparison.kpis}
    assert rows["m2.utilisation"].estimates[1] is None  # the small line has no m2
    assert rows["m2.utilisation"].differences == [None]


def test_a_comparison_as_json_has_no_nan_and_one_entry_per_run(
    recorded: Recorded, tmp_path: Path
) -> None:
    store = RunStore(tmp_path)
    starved = SMALL.replace("{exponential: 60s}", "10h").replace("seed: 3}", "seed: 3, warmup: 1h}")
    empty = run_experiment(scenario(starved), store=store)
    lively = run_experiment(scenario(SMALL), store=store, label="lively")
    runs = [store.get(empty.run_id), store.get(lively.run_id)]

    document = compare_runs(store, runs).to_json()

    text = json.dumps(document, allow_nan=False)  # raises on NaN
    assert json.loads(text) == document
    assert document["method"] == "paired"
    assert document["runs"] == [
        {"id": empty.run_id, "scenario": "Small line", "label": None, "overrides": [],
         "seed": 3, "replications": 2},
        {"id": lively.run_id, "scenario": "Small line", "label": "lively", "overrides": [],
         "seed": 3, "replications": 2},
    ]  # fmt: skip
    assert document["parameters"] == {
        "run.warmup": ["1h", None],
        "elements.feed.interarrival": ["10h", None],
        "elements.feed.interarrival.exponential": [None, "60s"],
    }
    lead_time = document["kpis"]["lead_time_s"]
    assert lead_time["estimates"][0] is None  # nothing left the starved line
    assert lead_time["differences"] == [None]
    throughput = document["kpis"]["throughput_per_hour"]
    values = store.kpis(lively.run_id)["throughput_per_hour"]
    expected = paired([0.0, 0.0], values)
    assert throughput["estimates"][0] == {"mean": 0.0, "ci95": [0.0, 0.0]}
    assert throughput["differences"] == [
        {
            "difference": expected.difference,
            "ci95": list(expected.ci95),
            "p_value": expected.p_value,
            "significant": expected.significant,
        }
    ]


def test_compare_needs_two_runs(recorded: Recorded) -> None:
    base = recorded.store.get(recorded.base.run_id)

    with pytest.raises(StoreError, match="compare needs two runs or more"):
        compare_runs(recorded.store, [base])


# Exporting -------------------------------------------------------------------------------------


def test_csv_export_writes_manifest_kpis_and_log(recorded: Recorded, tmp_path: Path) -> None:
    run = recorded.store.get(recorded.base.run_id)

    paths = export_run(recorded.store, run, "csv", tmp_path)

    stem = f"twin-run-{run.short_id}"
    assert [p.name for p in paths] == [
        f"{stem}-manifest.json",
        f"{stem}-kpis.csv",
        f"{stem}-log.csv",
    ]
    assert all(p.exists() for p in paths)
    manifest = json.loads(paths[0].read_text(encoding="utf-8"))
    assert manifest["id"] == run.id
    assert manifest["scenario"]["sha256"] == run.scenario_sha256
    assert manifest["log"] == {"rows": run.log_rows, "sha256": run.log_sha256}
    with paths[1].open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    kpis = kpi_values(recorded.base)
    assert len(rows) == 4 * len(kpis)
    for row in rows:
        value = kpis[row["kpi"]][int(row["replication"])]
        # Times to the microsecond; other KPIs exactly.
        assert float(row["value"]) == (round(value, 6) if row["kpi"].endswith("_s") else value)
    log = pacsv.read_csv(paths[2])
    assert log.num_rows == run.log_rows
    assert set(log.column("kind").to_pylist()) == {"state", "move"}
    parquet, _ = recorded.store.open_log(run)
    assert log.column("time_s").to_pylist() == [
        round(t, 6) for t in parquet.read().column("time_s").to_pylist()
    ]


def test_csv_export_writes_times_as_a_person_would(tmp_path: Path) -> None:
    # 0.1 s apart from t = 28.14: in binary floating point the second part leaves at
    # 28.240000000000002.
    text = """
    name: Tenths
    run: {horizon: 29s, seed: 1}
    elements:
      feed: {type: source, interarrival: 28.14s, limit: 1}
      m1: {type: station, process: 0.1s}
      done: {type: sink}
    flow:
      - feed -> m1 -> done
    """
    store = RunStore(tmp_path / "runs")
    result = run_experiment(scenario(text), store=store)
    assert 28.14 + 0.1 == 28.240000000000002

    paths = export_run(store, store.get(result.run_id), "csv", tmp_path)

    lines = paths[2].read_text(encoding="utf-8").splitlines()
    times = [line.split(",")[1] for line in lines[1:]]
    assert "28.24" in times
    assert not any("00000" in t or "99999" in t for t in times)
    assert result.replications[0].lead_times_s == [0.10000000000000142]
    kpis = paths[1].read_text(encoding="utf-8")
    assert "0,lead_time_s,0.1\n" in kpis


def test_parquet_export_is_readable_by_any_parquet_reader(
    recorded: Recorded, tmp_path: Path
) -> None:
    run = recorded.store.get(recorded.faster.run_id)

    paths = export_run(recorded.store, run, "parquet", tmp_path)

    stem = f"twin-run-{run.short_id}"
    assert [p.name for p in paths] == [
        f"{stem}-manifest.json",
        f"{stem}-kpis.parquet",
        f"{stem}-log.parquet",
    ]
    kpis = pq.read_table(paths[1]).to_pylist()
    expected = kpi_values(recorded.faster)
    assert len(kpis) == 4 * len(expected)
    assert {(r["kpi"], r["replication"]): r["value"] for r in kpis} == {
        (name, i): value for name, values in expected.items() for i, value in enumerate(values)
    }
    assert pq.read_metadata(paths[2]).num_rows == run.log_rows


def test_json_export_is_one_document_and_the_log_as_json_lines(
    recorded: Recorded, tmp_path: Path
) -> None:
    run = recorded.store.get(recorded.base.run_id)

    paths = export_run(recorded.store, run, "json", tmp_path)

    stem = f"twin-run-{run.short_id}"
    assert [p.name for p in paths] == [f"{stem}.json", f"{stem}-log.jsonl"]
    document = json.loads(paths[0].read_text(encoding="utf-8"))
    assert document["manifest"]["status"] == "complete"
    assert document["manifest"]["scenario"]["text"] == recorded.base_scenario.text
    assert document["kpis"] == kpi_values(recorded.base)
    assert [r["parts_out"] for r in document["replications"]] == [
        r.parts_out for r in recorded.base.replications
    ]
    lines = paths[1].read_text(encoding="utf-8").splitlines()
    assert len(lines) == run.log_rows
    first = json.loads(lines[0])
    assert first["replication"] == 0 and first["time_s"] == 0.0
    assert first["kind"] in ("state", "move")


def test_an_unknown_export_format_is_refused_with_the_ones_that_exist(
    recorded: Recorded, tmp_path: Path
) -> None:
    run = recorded.store.get(recorded.base.run_id)

    with pytest.raises(
        StoreError, match="format 'xlsx' is unknown; use one of: csv, parquet, json"
    ):
        export_run(recorded.store, run, "xlsx", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# Deleting --------------------------------------------------------------------------------------


def test_delete_removes_the_run_and_its_log_and_keeps_the_others(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    kept = run_experiment(scenario(SMALL), store=store)
    gone = run_experiment(scenario(SMALL, ["run.seed=4"]), store=store)
    gone_log = store.log_path(store.get(gone.run_id))
    kept_kpis = store.kpis(kept.run_id)
    assert gone_log.exists()

    deleted = store.delete(gone.run_id[:6])

    assert deleted.id == gone.run_id
    assert [run.id for run in store.runs()] == [kept.run_id]
    assert not gone_log.exists()
    assert store.kpis(gone.run_id) == {}
    assert store.replications(gone.run_id) == []
    with sqlite3.connect(tmp_path / "catalog.sqlite") as catalog:
        for table in ("runs", "replications", "kpis"):
            column = "id" if table == "runs" else "run_id"
            count = catalog.execute(
                f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (gone.run_id,)
            ).fetchone()[0]
            assert count == 0, table
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == [f"{kept.run_id}.parquet"]
    # The run that stays is whole.
    assert store.kpis(kept.run_id) == kept_kpis
    kept_run = store.get(kept.run_id)
    parquet, _ = store.open_log(kept_run)
    assert parquet.metadata.num_rows == kept_run.log_rows
    with pytest.raises(StoreError, match="no run"):
        store.get(gone.run_id)


# Finding runs by their first digits ------------------------------------------------------------


def test_four_hex_digits_of_an_id_are_enough(recorded: Recorded) -> None:
    run_id = recorded.faster.run_id

    assert recorded.store.get(run_id[:4]).id == run_id
    assert recorded.store.get(run_id[:8].upper()).id == run_id
    assert recorded.store.get(f"  {run_id}\n").id == run_id


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("abc", "'abc' is not a run id; give at least 4 hex digits of an id from `twin runs list`"),
        ("run-1", "'run-1' is not a run id; give at least 4 hex digits"),
        ("0123456789ab", "no run '0123456789ab' in "),
    ],
)
def test_a_reference_that_names_no_run_says_what_to_give(
    recorded: Recorded, ref: str, message: str
) -> None:
    with pytest.raises(StoreError) as raised:
        recorded.store.get(ref)

    assert str(raised.value).startswith(message)
    if ref == "0123456789ab":
        assert str(raised.value).endswith("; `twin runs list` shows the runs")


def test_a_prefix_shared_by_two_runs_asks_for_more_digits(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    for _ in range(2):
        writer = store.begin(**manifest_of(scenario(SMALL)), record_log=False)
        writer.fail("not needed")
    # Chance gives two runs the same first digits after a few hundred runs; here the catalog
    # is told so directly.
    with sqlite3.connect(tmp_path / "catalog.sqlite") as catalog:
        ids = [row[0] for row in catalog.execute("SELECT id FROM runs ORDER BY started_at, id")]
        for new_id, old_id in zip(("beef0001" + "0" * 24, "beef0002" + "0" * 24), ids, strict=True):
            catalog.execute("UPDATE runs SET id = ? WHERE id = ?", (new_id, old_id))

    with pytest.raises(StoreError) as raised:
        store.get("beef")

    assert str(raised.value) == (
        "'beef' matches 2 runs (beef00010000, beef00020000); give more digits"
    )
    assert store.get("beef0002").id == "beef0002" + "0" * 24


# Runs that do not end well ---------------------------------------------------------------------


def manifest_of(source) -> dict:
    """The manifest arguments of ``RunStore.begin`` for a scenario."""
    return {
        "scenario_name": source.name,
        "scenario_source": source.source,
        "scenario_text": source.text,
        "scenario_sha256": source.sha256,
        "overrides": list(source.overrides),
        "seed": source.run.seed,
        "replications": source.run.replications,
        "horizon_s": source.run.horizon_s,
        "warmup_s": source.run.warmup_s,
    }


def test_a_run_that_fails_is_listed_as_failed_with_its_error(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    line = scenario(SMALL)
    writer = store.begin(**manifest_of(line))
    assert [(run.id, run.status) for run in store.runs()] == [(writer.id, "running")]

    writer.fail("boom")

    (run,) = store.runs()
    assert run.id == writer.id
    assert run.status == "failed"
    assert run.error == "boom"
    assert run.ended_at is not None
    assert run.log_sha256 is None and run.log_rows is None
    assert store.kpis(run.id) == {}
    assert store.log_problem(run) == "run failed"
    with pytest.raises(LogError, match=f"run {run.short_id} has no usable log: run failed"):
        store.open_log(run)
    assert not store.log_path(run).exists()  # never shown as a whole log


def test_a_run_stopped_by_an_error_keeps_the_replications_it_finished(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    finished = []

    def stop_after_first(result) -> None:
        finished.append(result)
        raise RuntimeError("the planner's callback broke")

    with pytest.raises(RuntimeError):
        run_experiment(scenario(SMALL), store=store, on_replication=stop_after_first)

    (run,) = store.runs()
    assert run.status == "failed"
    assert run.error == "RuntimeError: the planner's callback broke"
    assert run.replications == 2
    kpis = store.kpis(run.id)
    assert kpis == {name: [value] for name, value in finished[0].kpis.items()}
    assert store.log_problem(run) == "run failed"


def test_ctrl_c_leaves_the_run_interrupted(tmp_path: Path) -> None:
    store = RunStore(tmp_path)

    def interrupt(_) -> None:
        raise KeyboardInterrupt

    with pytest.raises(RunInterrupted) as caught:
        run_experiment(scenario(SMALL), store=store, on_replication=interrupt)

    (run,) = store.runs()
    assert isinstance(caught.value, KeyboardInterrupt)  # still Ctrl-C to whoever catches it
    assert caught.value.run_id == run.id
    assert run.status == "interrupted"
    assert run.error == "interrupted by the user"
    assert len(store.replications(run.id)) == 1


TIMED_ROBOT = """
name: Robot without a cycle
run: {horizon: 1h}
elements:
  feed: {type: source, interarrival: 60s}
  r1: {type: robot, fidelity: timed, pick: [0.5, 0, 0.8], place: [0, 0.5, 0.8]}
  done: {type: sink}
flow:
  - feed -> r1 -> done
"""


@pytest.mark.parametrize(
    ("text", "fidelity", "message"),
    [
        pytest.param(SMALL, "fast", "--fidelity: fidelity 'fast' is unknown", id="fidelity"),
        pytest.param(TIMED_ROBOT, None, "elements.r1.cycle: has no cycle", id="no-cycle"),
    ],
)
def test_a_run_that_cannot_be_built_leaves_nothing_in_the_store(
    tmp_path: Path, text: str, fidelity: str | None, message: str
) -> None:
    store = RunStore(tmp_path)
    before = run_experiment(scenario(SMALL), store=store)

    with pytest.raises(ScenarioError) as caught:
        run_experiment(scenario(text), store=store, fidelity=fidelity)

    assert str(caught.value).startswith(message)
    assert [run.id for run in store.runs()] == [before.run_id]
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == [f"{before.run_id}.parquet"]


def test_a_run_without_a_log_is_recorded_but_cannot_be_replayed(tmp_path: Path) -> None:
    store = RunStore(tmp_path)

    result = run_experiment(scenario(SMALL), store=store, record_log=False)

    run = store.get(result.run_id)
    assert run.status == "complete"
    assert run.recorded is False
    assert run.log_file is None and run.log_rows is None
    assert store.kpis(run.id) == kpi_values(result)
    assert store.log_problem(run) == "not recorded"
    assert list((tmp_path / "logs").iterdir()) == []


# Where the store is ----------------------------------------------------------------------------


def test_twin_store_names_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "elsewhere" / "runs"
    monkeypatch.setenv("TWIN_STORE", str(folder))
    monkeypatch.chdir(tmp_path)

    store = RunStore()
    result = run_experiment(scenario(SMALL), store=store)

    assert store.folder == folder
    assert (folder / "catalog.sqlite").exists()
    assert [run.id for run in RunStore(folder).runs()] == [result.run_id]
    assert not (tmp_path / "twin-runs").exists()


def test_without_a_store_a_run_leaves_no_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWIN_STORE", raising=False)
    monkeypatch.chdir(tmp_path)

    result = run_experiment(scenario(SMALL), store=None)

    assert result.run_id is None
    assert len(result.replications) == 2
    assert list(tmp_path.iterdir()) == []


def test_a_store_that_cannot_be_created_says_where_to_put_it(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")

    with pytest.raises(StoreError) as raised:
        RunStore(blocker / "runs")

    message = str(raised.value)
    assert message.startswith(f"cannot open the run store at {blocker / 'runs'}: ")
    assert message.endswith("; give a writable folder with --store or TWIN_STORE")


def test_no_kpi_is_lost_to_nan(tmp_path: Path) -> None:
    # A line that delivers nothing after its warm-up has no lead time to measure.
    store = RunStore(tmp_path)
    starved = SMALL.replace("{exponential: 60s}", "10h").replace("seed: 3}", "seed: 3, warmup: 1h}")

    result = run_experiment(scenario(starved), store=store)

    kpis = store.kpis(result.run_id)
    assert kpis["throughput_per_hour"] == [0.0, 0.0]
    assert all(math.isnan(v) for v in kpis["lead_time_s"])
    assert list(kpis) == list(result.replications[0].kpis)


# Labels and faults -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_label_is_stored_with_the_run_on_one_line(tmp_path: Path) -> None:
    store = RunStore(tmp_path)

    labelled = run_experiment(scenario(SMALL), store=store, label="  faster\n m1 ")
    plain = run_experiment(scenario(SMALL), store=store)
    blank = run_experiment(scenario(SMALL), store=store, label="   ")

    assert store.get(labelled.run_id).label == "faster m1"
    assert store.get(plain.run_id).label is None
    assert store.get(blank.run_id).label is None
    assert [run.label for run in store.runs()] == ["faster m1", None, None]


def test_a_plc_that_went_to_stop_is_stored_with_each_replication(tmp_path: Path) -> None:
    stopping_plc(tmp_path, name="stop", replications=2)
    store = RunStore(tmp_path / "runs")
    quiet = run_experiment(scenario(SMALL), store=store)

    stopped = run_experiment(load_scenario(tmp_path / "stop.yaml"), store=store)

    where = f"{tmp_path / 'stop.st'}:5:16"
    fault = {
        "time_s": 0.2,
        "source": "control",
        "location": where,
        "message": "division by zero",
        "fault": f"controller stopped: {where}: division by zero at t=0.200 s",
    }
    assert store.get(stopped.run_id).status == "complete"  # the run went on to its end
    assert store.faults(stopped.run_id) == [
        {"replication": 0, **fault},
        {"replication": 1, **fault},
    ]
    assert store.faults(stopped.run_id) == stopped.faults  # as `twin run --json` lists them
    assert store.faults(quiet.run_id) == []
    assert store.fault_counts() == {stopped.run_id: 2}
    assert RunFault.from_json(store.faults(stopped.run_id)[0]) == stopped.replications[0].faults[0]


def test_a_json_export_holds_the_label_and_the_faults(tmp_path: Path) -> None:
    stopping_plc(tmp_path, name="stop", replications=2)
    store = RunStore(tmp_path / "runs")
    result = run_experiment(load_scenario(tmp_path / "stop.yaml"), store=store, label="stops")

    (path, _) = export_run(store, store.get(result.run_id), "json", tmp_path / "out")
    (manifest_path, *_) = export_run(store, store.get(result.run_id), "csv", tmp_path / "csv")

    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["manifest"]["label"] == "stops"
    assert document["faults"] == result.faults
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["label"] == "stops"
    assert manifest["faults"] == result.faults


# Catalogs written by earlier versions ----------------------------------------------------------

# The catalog as twin 0.1 wrote it before runs had labels and replications their faults.
FIRST_SCHEMA = """
CREATE TABLE runs (
    id              TEXT PRIMARY KEY,
    scenario_name   TEXT NOT NULL,
    scenario_source TEXT NOT NULL,
    scenario_text   TEXT NOT NULL,
    scenario_sha256 TEXT NOT NULL,
    overrides       TEXT NOT NULL,
    seed            INTEGER NOT NULL,
    replications    INTEGER NOT NULL,
    horizon_s       REAL,
    warmup_s        REAL NOT NULL,
    versions        TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    ended_at        TEXT,
    status          TEXT NOT NULL
                    CHECK (status IN ('running', 'complete', 'failed', 'interrupted')),
    error           TEXT,
    recorded        INTEGER NOT NULL,
    log_file        TEXT,
    log_sha256      TEXT,
    log_rows        INTEGER,
    host            TEXT NOT NULL,
    pid             INTEGER NOT NULL
);
CREATE INDEX runs_started ON runs (started_at);
CREATE TABLE replications (
    run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    replication  INTEGER NOT NULL,
    end_s        REAL NOT NULL,
    parts_out    INTEGER NOT NULL,
    elements     TEXT NOT NULL,
    PRIMARY KEY (run_id, replication)
);
CREATE TABLE kpis (
    run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    replication  INTEGER NOT NULL,
    name         TEXT NOT NULL,
    value        REAL,
    PRIMARY KEY (run_id, replication, name)
);
"""
OLD_RUN = "01d0" + "0" * 28


def old_catalog(folder: Path) -> None:
    """A catalog with one complete run (no log), written with the first schema."""
    folder.mkdir()
    with sqlite3.connect(folder / "catalog.sqlite") as catalog:
        catalog.executescript(FIRST_SCHEMA)
        catalog.execute(
            "INSERT INTO runs VALUES (?, 'Old line', 'old.yaml', 'name: Old line', ?, ?, 3, 2,"
            " 3600.0, 0.0, ?, '2026-01-02T03:04:05.000+00:00', '2026-01-02T03:04:06.000+00:00',"
            " 'complete', NULL, 0, NULL, NULL, NULL, 'old-host', 42)",
            (OLD_RUN, "ab" * 32, '["m1.capacity=2"]', '{"twin": "0.1.0"}'),
        )
        for replication, throughput in ((0, 50.0), (1, 52.0)):
            catalog.execute(
                "INSERT INTO replications VALUES (?, ?, 3600.0, 50, '{}')",
                (OLD_RUN, replication),
            )
            catalog.execute(
                "INSERT INTO kpis VALUES (?, ?, 'throughput_per_hour', ?)",
                (OLD_RUN, replication, throughput),
            )


def test_a_catalog_from_an_earlier_version_gains_the_new_columns_and_keeps_its_runs(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "runs"
    old_catalog(folder)

    store = RunStore(folder)

    (old,) = store.runs()
    assert (old.id, old.scenario_name, old.status, old.overrides) == (
        OLD_RUN, "Old line", "complete", ["m1.capacity=2"],
    )  # fmt: skip
    assert old.label is None
    assert store.kpis(OLD_RUN) == {"throughput_per_hour": [50.0, 52.0]}
    assert store.replications_done(OLD_RUN) == 2
    assert store.faults(OLD_RUN) == []
    # New runs go into the same catalog with everything the new schema holds.
    stopping_plc(tmp_path, name="stop", replications=2)
    new = run_experiment(load_scenario(tmp_path / "stop.yaml"), store=store, label="new")
    assert [run.id for run in store.runs()] == [OLD_RUN, new.run_id]
    assert store.get(new.run_id).label == "new"
    assert len(store.faults(new.run_id)) == 2
    store.close()
    # Opened again, nothing is added twice and nothing is lost.
    again = RunStore(folder)
    assert [run.label for run in again.runs()] == [None, "new"]
    with sqlite3.connect(folder / "catalog.sqlite") as catalog:
        columns = {
            table: [row[1] for row in catalog.execute(f"PRAGMA table_info({table})")]
            for table in ("runs", "replications")
        }
    assert columns["runs"][-3:] == ["label", "experiment", "parameters"]
    assert all(columns["runs"].count(name) == 1 for name in ("label", "experiment", "parameters"))
    assert columns["replications"][-1] == "faults"
