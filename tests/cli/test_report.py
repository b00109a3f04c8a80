"""`twin runs report` writes recorded runs into one HTML file that opens from disk: plotly.js
inlined, the runs, the store's KPIs, the comparison of two runs, and each run's first
replication over time — typed at a real command line."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import plotly.offline
import pytest
from conftest import ROOT, Told, twin_commands

import twin
from twin.cli.tables import number
from twin.record import RunStore
from twin.record.compare import RunComparison, compare_runs
from twin.record.summary import kpi_estimate

pytestmark = pytest.mark.slow  # recorded runs and subprocesses

UNKNOWN = "0123456789ab"  # no run id starts so (a chance of one in 2^48)


class Tables(HTMLParser):
    """Every table of a page by the id of the element around it: rows of cells, each cell
    its class and the text of its lines (the report draws each line as a span)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[dict]]] = {}
        self._ids: list[str | None] = []
        self._table: list[list[dict]] | None = None
        self._cell: dict | None = None
        self._part: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "div":
            self._ids.append(found.get("id"))
        elif tag == "table":
            self._table = self.tables.setdefault(next(i for i in reversed(self._ids) if i), [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = {"css": found.get("class") or "", "parts": []}
            self._table[-1].append(self._cell)
        elif tag == "span" and self._cell is not None:
            self._part = []

    def handle_endtag(self, tag):
        if tag == "div":
            self._ids.pop()
        elif tag == "table":
            self._table = None
        elif tag == "span" and self._part is not None:
            self._cell["parts"].append("".join(self._part))
            self._part = None

    def handle_data(self, data):
        if self._part is not None:
            self._part.append(data)


@dataclass
class Reported:
    store: RunStore
    line: str
    bigger: str
    comparison: RunComparison
    one: Told
    two: Told
    unknown: Told
    no_folder: Told
    folder_as_file: Told
    one_html: str
    two_html: str
    out: Path


@pytest.fixture(scope="module")
def reported(tmp_path_factory) -> Reported:
    """The two-machine line recorded as it is and with a bigger buffer (same seed), then
    reports on one run, on both, and three that cannot be written."""
    folder = tmp_path_factory.mktemp("report")
    store_folder = folder / "runs"
    path = ROOT / "scenarios" / "two_machine_line.yaml"
    line = twin.run(twin.load(path, set=["run.horizon=14h"]), replications=3, store=store_folder)
    bigger = twin.run(
        twin.load(path, set=["run.horizon=14h", "b1.capacity=8"]),
        replications=3,
        store=store_folder,
        label="bigger buffer",
    )
    common = ["--store", str(store_folder)]
    one, two, unknown, no_folder, folder_as_file = twin_commands(
        ["runs", "report", line.run_id[:8], "--out", str(folder / "one.html"), *common],
        ["runs", "report", line.run_id[:8], bigger.run_id[:6], "--out", "two.html", *common],
        ["runs", "report", line.run_id, UNKNOWN, "--out", str(folder / "x.html"), *common],
        ["runs", "report", line.run_id, "--out", str(folder / "missing" / "r.html"), *common],
        ["runs", "report", line.run_id, "--out", str(folder), *common],
        cwd=folder,
    )
    store = RunStore(store_folder)
    runs = [store.get(line.run_id), store.get(bigger.run_id)]
    return Reported(
        store=store,
        line=line.run_id,
        bigger=bigger.run_id,
        comparison=compare_runs(store, runs),
        one=one,
        two=two,
        unknown=unknown,
        no_folder=no_folder,
        folder_as_file=folder_as_file,
        one_html=(folder / "one.html").read_text(encoding="utf-8"),
        two_html=(folder / "two.html").read_text(encoding="utf-8"),
        out=folder,
    )


def assert_refused(told: Told, message: str) -> None:
    assert told.returncode == 2, told.stderr
    assert "Traceback" not in told.stderr + told.stdout
    assert " ".join(told.stderr.split()) == f"error: {message}"


def test_a_report_needs_no_network_plotly_is_inlined(reported: Reported) -> None:
    for told, text in ((reported.one, reported.one_html), (reported.two, reported.two_html)):
        assert told.returncode == 0, told.stderr
        assert plotly.offline.get_plotlyjs() in text
        assert 'src="http' not in text and "<link" not in text
        assert text.count("<script") >= 4  # the bundle, then the figures that it draws
    assert reported.one.stdout.startswith(f"wrote {reported.out / 'one.html'} (")
    assert reported.two.stdout.startswith("wrote two.html (")  # relative to where it was typed


def test_a_report_of_one_run_shows_the_run_and_its_kpis_from_the_store(reported: Reported) -> None:
    tables = Tables(reported.one_html).tables
    run = reported.store.get(reported.line)
    assert f"<title>twin report: {run.short_id} {run.scenario_name}</title>" in reported.one_html
    header, row = tables["report-runs"]
    assert [cell["parts"] for cell in header[1:]] == [
        [name]
        for name in ("run", "scenario", "variant", "seed", "replications", "status", "horizon",
                     "warm-up", "started (UTC)", "file")
    ]  # fmt: skip
    assert [cell["parts"][0] for cell in row[7:]] == [
        "14h",
        "10h",
        run.started_at.replace("T", " ")[:16],
        str(ROOT / "scenarios" / "two_machine_line.yaml"),
    ]
    assert [cell["parts"][0] for cell in row[:7]] == [
        "base", run.short_id, run.scenario_name, run.variant, "42", "3/3", "complete",
    ]  # fmt: skip
    kpis = {row[0]["parts"][0]: row[1]["parts"] for row in tables["report-kpi-table"][1:]}
    throughput = kpi_estimate(reported.store.kpis(run.id)["throughput_per_hour"])
    lo, hi = throughput.ci95
    assert kpis["throughput_per_hour"] == [
        f"{number(throughput.mean)} ± {number(throughput.half_width)}",
        f"[{number(lo)}, {number(hi)}]",
    ]
    assert list(kpis)[:6] == [
        "throughput_per_hour", "lead_time_s", "lead_time_p50_s", "lead_time_p95_s", "wip",
        "scrap_per_hour",
    ]  # fmt: skip
    # Its first replication over time: states, WIP and throughput, the buffer's level.
    for figure in ("gantt", "wip", "levels"):
        assert f'id="report-{figure}-{run.short_id}"' in reported.one_html


def test_a_report_of_two_runs_compares_them_as_the_compare_page_does(reported: Reported) -> None:
    tables = Tables(reported.two_html).tables
    comparison = reported.comparison
    base, other = comparison.runs
    assert comparison.method == "paired"
    assert (
        "Differences by paired t-test over replications: the runs share seed 42 and 3 "
        "replications, so replication i of each drew the same random numbers."
    ) in reported.two_html
    rows = {row[0]["parts"][0]: row for row in tables["report-kpi-table"][1:]}
    throughput = comparison.kpis[0]
    assert throughput.name == "throughput_per_hour"
    (difference,) = throughput.differences
    lo, hi = difference.ci95
    cell = rows["throughput_per_hour"][3]
    assert cell["parts"] == [
        f"+{number(difference.difference)} *",
        f"[{number(lo)}, {number(hi)}]",
        f"p {difference.p_value:.2g}",
    ]
    assert "significant" in cell["css"]
    assert [c["parts"][0] for c in tables["report-runs"][2][:4]] == [
        "run 2", other.short_id, other.scenario_name, "bigger buffer",
    ]  # fmt: skip
    assert [[c["parts"], c["css"]] for c in tables["report-parameters"][1]] == [
        [["elements.b1.capacity"], "parameter"], [["3"], ""], [["8"], "changed"],
    ]  # fmt: skip
    for figure_id in (
        "report-distributions",
        "report-states",
        *(f"report-{kind}-{run.short_id}" for run in (base, other) for kind in ("gantt", "wip")),
    ):
        assert f'id="{figure_id}"' in reported.two_html


def test_an_unknown_run_or_an_unwritable_file_is_refused_without_a_traceback(
    reported: Reported,
) -> None:
    assert_refused(
        reported.unknown,
        f"no run '{UNKNOWN}' in {reported.out / 'runs'}; `twin runs list` shows the runs",
    )
    assert not (reported.out / "x.html").exists()
    missing = reported.out / "missing"
    assert_refused(
        reported.no_folder,
        f"cannot write the report to {missing / 'r.html'}: there is no folder {missing}; "
        "create it or give --out a file in a folder that exists",
    )
    assert_refused(
        reported.folder_as_file,
        f"--out {reported.out} is a folder; give the report's file name, e.g. "
        f"{reported.out / 'report.html'}",
    )
