"""`twin commission --mutate` and the report's replay links: on the small cell of
test_mutation.py a passing suite goes on to the mutants and prints exactly the survivors
(exit status still the suite's), the report gains the mutation section; a failing suite is
told that mutation needs a passing one; with --ui-url each run and failure links to its
replay page, which opens at the failure."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from commission.report_in_chromium import report_page
from conftest import twin_commands

from twin.record import RunStore


def without_scripts(document: str) -> str:
    """The report's own content: plotly.js, inlined, has links of its own."""
    return re.sub(r"<script.*?</script>", "", document, flags=re.DOTALL)


def _cell_module():
    """test_mutation.py, where the cell, its weak suite and its known survivors are written
    (tests import by path: a test module is no importable name)."""
    path = Path(__file__).with_name("test_mutation.py")
    spec = importlib.util.spec_from_file_location("mutation_cell", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_cell = _cell_module()
KILLERS, PROGRAM, SURVIVORS, write_cell = (
    _cell.KILLERS,
    _cell.PROGRAM,
    _cell.SURVIVORS,
    _cell.write_cell,
)
UI = "http://127.0.0.1:8050"
SURVIVOR_HEADING = re.compile(r"^(M\d\d) ([a-z-]+), line (\d+):$")
PROGRESS = re.compile(r"^(M\d\d) [a-z-]+ line \d+: (killed by (.+)|survived)$")


@pytest.fixture(scope="module")
def told(tmp_path_factory):
    """The cell's suite with --mutate (all 12 mutants), and with a program that fails it."""
    folder = tmp_path_factory.mktemp("cell")
    write_cell(folder)
    (folder / "two.st").write_text(PROGRAM.replace("made < 3", "made < 2"), encoding="utf-8")
    store = ["--store", str(folder / "runs"), "--workers", "1"]
    passing, failing = twin_commands(
        ["commission", "cell.yaml", "--mutate", "--mutants", "12", "--report", "mutation.html",
         *store],
        ["commission", "cell.yaml", "--program", "two.st", "--mutate", "--report", "failed.html",
         "--ui-url", f"{UI}/", *store],
        cwd=folder,
    )  # fmt: skip
    return folder, passing, failing


@pytest.mark.slow
def test_mutate_prints_exactly_the_survivors_and_keeps_the_suites_exit_status(told):
    _, passing, _ = told
    assert passing.returncode == 0, passing.stderr  # survivors inform; they fail nothing
    lines = passing.stdout.splitlines()
    assert "Mutation score 66.7 % (8 of 12 killed); 4 survived:" in lines
    survivors = [m.groups() for m in map(SURVIVOR_HEADING.match, lines) if m]
    assert [(i, op, int(line)) for i, op, line in survivors] == SURVIVORS
    assert "+    start := settle.Q AND made <= 3;" in lines  # each survivor as a diff
    # A line for each mutant as it ends, with the check that killed it.
    progress = {m.group(1): m.group(3) for m in map(PROGRESS.match, lines) if m}
    assert progress == {**KILLERS, **{i: None for i, _, _ in SURVIVORS}}
    assert passing.says("cell: mutants of cell.st")  # the table
    assert passing.says("all 12 mutants")
    assert passing.stdout.index("every check passed") < passing.stdout.index("M01 ")


@pytest.mark.slow
def test_the_report_carries_the_mutation_section_and_names_each_run(told):
    folder, _, _ = told
    document = (folder / "mutation.html").read_text(encoding="utf-8")
    assert "Mutation score: 66.7 % (8 of 12 killed, 4 survived)" in document
    assert '<section class="mutation" id="mutation">' in document
    assert document.count('<pre class="diff">') == 4
    assert '<span class="add">+    start := settle.Q AND made &lt;= 3;</span>' in document
    # No web app address given: the run and the command that opens it, nothing to click.
    (run,) = [r for r in RunStore(folder / "runs").runs() if r.label == "commission: default"]
    assert f"run `twin ui` on this store and open /replay/{run.id}" in document
    assert re.findall(r"<a href=\"(?!#)", without_scripts(document)) == []


@pytest.mark.slow
def test_the_mutation_section_renders_in_chromium(told):
    folder, _, _ = told
    with report_page((folder / "mutation.html").as_uri()) as (page, errors):
        shown = page.locator("#mutation pre.diff").count()
        score = page.locator("#mutation-summary").inner_text()
        added = page.locator("#mutation pre.diff span.add").first.evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
    assert errors == []
    assert shown == 4
    assert score == "Mutation score: 66.7 % (8 of 12 killed, 4 survived) — surviving mutants"
    assert added == "rgb(230, 255, 236)"  # the section's own styles apply: #e6ffec


@pytest.mark.slow
def test_mutate_on_a_failing_suite_says_it_needs_a_passing_one(told):
    folder, _, failing = told
    assert failing.returncode == 1, failing.stderr
    assert failing.says(
        "no mutation score: mutation needs a passing suite, and case 'default' fails "
        "'three made'; fix the program or the checks until `twin commission` passes, then "
        "add --mutate"
    )
    assert "Mutation score" not in failing.stdout
    assert 'id="mutation"' not in (folder / "failed.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_with_ui_url_the_run_and_the_failure_link_to_the_replay_that_opens_there(told):
    from web.context import WebContext
    from web.pages.replay import PAGE, layout

    folder, _, _ = told
    document = (folder / "failed.html").read_text(encoding="utf-8")
    (run,) = [r for r in RunStore(folder / "runs").runs() if "two.st" in (r.label or "")]
    assert f'<a href="{UI}/replay/{run.id}?rep=0">Run {run.id[:8]}</a>' in document
    (failure,) = re.findall(r'<a href="([^"]+)">replay from here</a>', document)
    assert failure == f"{UI}/replay/{run.id}?rep=0&amp;t=20.000"
    # The link is a page of the web app, and opens the run's replay at the failure.
    url = urlsplit(failure.replace("&amp;", "&"))
    path = re.fullmatch(PAGE.pattern, url.path)
    page = layout(WebContext(folder / "runs", read_only=True), dict(parse_qsl(url.query)),
                  **path.groupdict())  # fmt: skip
    cursor = next(c for c in page.children if getattr(c, "id", None) == "replay-cursor")
    assert cursor.data == pytest.approx(20.0)


@pytest.mark.slow  # four `twin` processes, a second of imports each
def test_bad_mutation_and_link_options_are_exit_status_2_before_anything_runs(tmp_path):
    write_cell(tmp_path)
    (tmp_path / "free.yaml").write_text(
        "name: free\nrun: {horizon: 20s}\n"
        "elements: {feed: {type: source, interarrival: 5s}, done: {type: sink}}\n"
        "flow: [feed -> done]\n"
        "checks: [{name: made, eventually: done.count >= 3, by: 20s}]\n",
        encoding="utf-8",
    )
    store = ["--store", str(tmp_path / "runs")]
    told = twin_commands(
        ["commission", "cell.yaml", "--mutants", "0", *store],
        ["commission", "cell.yaml", "--ui-url", UI, *store],
        ["commission", "cell.yaml", "--report", "r.html", "--ui-url", "127.0.0.1:8050", *store],
        ["commission", "free.yaml", "--mutate", *store],
        cwd=tmp_path,
    )
    assert [t.returncode for t in told] == [2, 2, 2, 2]
    said = [" ".join(t.stderr.split()) for t in told]
    assert said == [
        "error: --mutants 0 is not allowed; use 1 or more, e.g. --mutants 20",
        f"error: --ui-url {UI} links the runs of an HTML report; add --report FILE",
        "error: --ui-url 127.0.0.1:8050 is not the address of a web app; give where `twin ui` "
        "serves, e.g. --ui-url http://127.0.0.1:8050",
        "error: --mutate: free.yaml has no PLC program to mutate; mutation testing goes with "
        "scenarios whose control section has plc: FILE.st",
    ]
    assert not (tmp_path / "runs").exists() or RunStore(tmp_path / "runs").runs() == []
    assert not Path(tmp_path / "r.html").exists()
