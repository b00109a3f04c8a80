"""`twin commission --report`: a suite's verdicts as one self-contained HTML file — per case
each check's verdict and its run (a link to its replay when the web app's address is known),
for a failure its time, the traces of the signals it reads around that time and the events
near it; with --coverage the PLC program's annotated source, with --mutate its mutation score."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from twin import __version__
from twin.errors import TwinError
from web import static_html as page

REPORT_CSS = """
.verdicts { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
.verdicts th, .verdicts td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #ddd;
  vertical-align: top; }
.verdicts td.time { white-space: nowrap; font-variant-numeric: tabular-nums; }
.pass { color: #1a7f37; font-weight: 600; }
.fail { color: #cf222e; font-weight: 600; }
.warn { color: #9a6700; font-weight: 600; }
.events { font-size: 0.9em; border-collapse: collapse; margin: 4px 0 16px; }
.events td { padding: 2px 8px; border-bottom: 1px solid #eee; }
.events tr.at td { font-weight: 600; }
.coverage-figures { font-size: 1.1em; font-weight: 600; }
.coverage-legend span { padding: 1px 6px; margin-right: 8px; border-radius: 3px; }
.coverage-source { border-collapse: collapse; width: 100%; margin: 8px 0 16px;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85em; }
.coverage-source td { padding: 0 8px; vertical-align: top; border-bottom: 1px solid #f2f2f2; }
.coverage-source td.number, .coverage-source td.hits { text-align: right; color: #57606a;
  white-space: nowrap; font-variant-numeric: tabular-nums; }
.coverage-source td.code { white-space: pre; }
.coverage-source td.branches { white-space: normal; font-family: system-ui, sans-serif; }
.cov-missed, tr.cov-missed td { background: #ffebe9; }
.cov-partial, tr.cov-partial td { background: #fff8c5; }
.cov-covered, tr.cov-covered td { background: #e6ffec; }
.branch { display: inline-block; margin: 0 6px 0 0; white-space: nowrap; }
.branch.untaken { color: #cf222e; font-weight: 600; }
.branch.taken { color: #1a7f37; }
"""
EVENTS_SHOWN = 40  # rows of the log shown next to a failure, the nearest in time first


def write_suite_report(
    suite: dict,
    out: Path,
    *,
    title: str,
    mutation: dict | None = None,
    ui_url: str | None = None,
) -> int:
    """Write the report of ``suite`` (``SuiteResult.to_json()``) to ``out``; its size.
    ``mutation`` is ``MutationResult.to_json()``; ``ui_url`` where `twin ui` serves."""
    document = suite_html(suite, title=title, mutation=mutation, ui_url=ui_url).encode("utf-8")
    try:
        out.write_bytes(document)
    except OSError as error:
        raise TwinError(
            f"cannot write the report to {out}: {error.strerror}; give --report a writable file"
        ) from None
    return len(document)


def suite_html(
    suite: dict, *, title: str, mutation: dict | None = None, ui_url: str | None = None
) -> str:
    """The report's page. With ``ui_url`` (``http://127.0.0.1:8050``) each case's run and
    each failure link to their replay in the web app there; without it the page names the
    run and the command that opens it (a file cannot know where the app will be served)."""
    cases = suite["cases"]
    verdicts = [v for case in cases for v in case["verdicts"]]
    failed = sum(1 for v in verdicts if not v["passed"] and v["severity"] == "error")
    broken = sum(1 for case in cases if case["error"])
    summary = (
        f"{len(cases)} case{'s' if len(cases) != 1 else ''}, {len(verdicts)} verdicts: "
        f"{len(verdicts) - failed} passed, {failed} failed"
        + (f", {broken} case{'s' if broken != 1 else ''} could not run" if broken else "")
    )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    program = f" with program {suite['program']}" if suite.get("program") else ""
    body = [
        _header(f"Commissioning: {suite['scenario']}{program}", summary, generated),
        *(_case(case, index, ui_url) for index, case in enumerate(cases)),
    ]
    coverage = suite.get("coverage")
    if coverage:  # the figures at the top, the detail after the cases
        link = page.element("a", page.text("annotated source"), href="#coverage")
        figures = page.text(f"PLC code coverage: {_figures(coverage)} — ")
        body.insert(1, page.element("p", figures + link, "coverage-figures"))
        body.append(_coverage(coverage, cases))
    if mutation is not None:  # the score at the top, the surviving mutants at the end
        from web.mutation_report import mutation_html

        what = "surviving mutants" if mutation["counts"]["survived"] else "details"
        link = page.element("a", page.text(what), href="#mutation")
        score = page.text(f"Mutation score: {_score(mutation)} — ")
        body.insert(1, page.element("p", score + link, "coverage-figures", id="mutation-summary"))
        body.append(mutation_html(mutation))
    html = page.page(title, "\n".join(body))
    return html.replace("</style>", REPORT_CSS + "</style>", 1)


def _header(heading: str, summary: str, generated: str) -> str:
    verdict = "pass" if summary.endswith(" 0 failed") else "fail"
    content = (
        page.heading(1, heading)
        + page.element("p", page.text(summary), verdict, id="summary")
        + page.paragraph(f"Generated {generated} by twin {__version__}", "generated")
    )
    return page.element("header", content)


def _score(mutation: dict) -> str:
    """ "66.7 % (8 of 12 killed, 4 survived)", or why there is none."""
    counts = mutation["counts"]
    if mutation["score"] is None:
        return "none, no mutant could be judged"
    judged = counts["killed"] + counts["survived"]
    return (
        f"{100 * mutation['score']:.1f} % ({counts['killed']} of {judged} killed, "
        f"{counts['survived']} survived)"
    )


def replay_url(ui_url: str, run_id: str, replication: int = 0, time_s: float | None = None):
    """The replay page of a run in the web app at ``ui_url``, at a time when given."""
    at = "" if time_s is None else f"&t={time_s:.3f}"
    return f"{ui_url.rstrip('/')}/replay/{run_id}?rep={replication}{at}"


def _run_line(case: dict, ui_url: str | None) -> str:
    run_id, simulated = case["run_id"], f"({case['simulated_s']:.3f} s simulated)"
    if ui_url is None:
        return page.paragraph(
            f"Run {run_id[:8]} {simulated}: replay it in the web app — run `twin ui` on this "
            f"store and open /replay/{run_id}",
            "generated run",
        )
    link = page.element("a", page.text(f"Run {run_id[:8]}"), href=replay_url(ui_url, run_id))
    said = page.text(f" {simulated}: replay it in the web app")
    return page.element("p", link + said, "generated run")


def _case(case: dict, index: int, ui_url: str | None = None) -> str:
    name = case["case"]
    parts = [page.heading(2, f"Case {name}", id=f"case-{index}")]
    if case["run_id"]:
        parts.append(_run_line(case, ui_url))
    if case["error"]:
        parts.append(page.element("p", page.text(f"could not run: {case['error']}"), "fail"))
    for warning in case["warnings"]:
        parts.append(page.element("p", page.text(f"warning: {warning}"), "warn"))
    rows = []
    for verdict in case["verdicts"]:
        word, css = _word(verdict)
        time_s = verdict["time_s"]
        cells = [
            page.element("td", page.text(verdict["name"])),
            page.element("td", page.text(word), css),
            page.element("td", page.text("" if time_s is None else f"{time_s:.3f} s"), "time"),
            page.element("td", page.text(verdict["message"])),
        ]
        rows.append(page.element("tr", "".join(cells)))
    header = "".join(page.element("th", page.text(h)) for h in ("check", "verdict", "time", ""))
    table = page.element("thead", page.element("tr", header)) + page.element("tbody", "".join(rows))
    parts.append(page.element("table", table, "verdicts"))
    for number, verdict in enumerate(case["verdicts"]):
        trace = case["traces"].get(verdict["name"])
        if verdict["passed"] or trace is None:
            continue
        replay = None
        if ui_url is not None and case["run_id"]:
            at_s = trace["time_s"] if trace["time_s"] is not None else trace["start_s"]
            replay = replay_url(ui_url, case["run_id"], trace.get("replication", 0), at_s)
        parts.append(_failure(verdict, trace, f"trace-{index}-{number}", replay))
    return page.element("section", "".join(parts), id=f"section-{index}")


def _word(verdict: dict) -> tuple[str, str]:
    if verdict["passed"]:
        return "pass", "pass"
    return ("FAIL", "fail") if verdict["severity"] == "error" else ("warning", "warn")


def _failure(verdict: dict, trace: dict, figure_id: str, replay: str | None = None) -> str:
    time_s = trace["time_s"]
    since = trace.get("since_s")
    risen = f" (triggered at {since:.3f} s, dotted)" if since is not None else ""
    heading = page.heading(3, f"{verdict['name']}: failed at {time_s:.3f} s{risen}")
    if replay is not None:
        heading += page.element(
            "p", page.element("a", page.text("replay from here"), href=replay), "generated"
        )
    figure = page.figure_html(trace_figure(trace), figure_id)
    events = sorted(trace["events"], key=lambda e: abs(e["time_s"] - time_s))[:EVENTS_SHOWN]
    events.sort(key=lambda e: e["time_s"])
    rows = "".join(
        page.element(
            "tr",
            "".join(
                page.element("td", page.text(v))
                for v in (f"{e['time_s']:.3f} s", e["source"], e["text"])
            ),
            "at" if abs(e["time_s"] - time_s) < 1e-9 else "",
        )
        for e in events
    )
    said = page.paragraph(
        f"Events and state changes from {trace['start_s']:.3f} s to {trace['end_s']:.3f} s"
        + (" (none)" if not events else "")
    )
    table = page.element("table", rows, "events") if events else ""
    return page.element("div", heading + figure + said + table, "failure")


def trace_figure(trace: dict) -> go.Figure:
    """The check's signals as steps, one row each, with the failure's time marked."""
    signals = trace["signals"]
    names = list(signals) or ["(no signal)"]
    figure = make_subplots(rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.04)
    for row, name in enumerate(names, start=1):
        steps = signals.get(name, {"times": [], "values": []})
        times = [*steps["times"], trace["end_s"]]
        values = [*steps["values"], steps["values"][-1]] if steps["values"] else []
        figure.add_trace(
            go.Scatter(
                x=times[: len(values)],
                y=values,
                mode="lines",
                name=name,
                line={"shape": "hv", "width": 2},
            ),
            row=row,
            col=1,
        )
        figure.update_yaxes(title_text=name, title_font={"size": 11}, row=row, col=1)
        if values and set(values) <= {0, 1}:  # a BOOL: drawn as FALSE and TRUE
            figure.update_yaxes(
                tickvals=[0, 1], ticktext=["FALSE", "TRUE"], range=[-0.15, 1.15], row=row, col=1
            )
    figure.add_vline(x=trace["time_s"], line={"color": "#cf222e", "dash": "dash"})
    if trace.get("since_s") is not None:  # a response: when its trigger rose
        figure.add_vline(x=trace["since_s"], line={"color": "#57606a", "dash": "dot"})
    figure.update_xaxes(title_text="time (s)", row=len(names), col=1)
    figure.update_layout(
        height=120 + 110 * len(names),
        margin={"l": 140, "r": 20, "t": 20, "b": 40},
        showlegend=False,
        template="plotly_white",
    )
    return figure


def _coverage(coverage: dict, cases: list[dict]) -> str:
    """The PLC program's coverage over the suite: the figures, per case too, what was never
    tested, and the source with each line's hits and branches."""
    name = Path(coverage["file"]).name
    parts = [
        page.heading(2, f"PLC code coverage: {name}", id="coverage"),
        page.paragraph(f"Over the whole suite: {_figures(coverage)}", "coverage-figures"),
        page.paragraph(
            f"Program {coverage['file']} (source {coverage['fingerprint']})", "generated"
        ),
    ]
    rows = [
        page.element(
            "tr",
            page.element("td", page.text(case["case"]))
            + "".join(
                page.element("td", page.text(f"{case['coverage'][kind]['percent']:.1f} %"))
                for kind in ("statements", "branches")
            ),
        )
        for case in cases
        if case.get("coverage")
    ]
    if len(rows) > 1:
        header = "".join(
            page.element("th", page.text(h)) for h in ("case", "statements", "branches")
        )
        table = page.element("thead", page.element("tr", header)) + page.element(
            "tbody", "".join(rows)
        )
        parts.append(page.element("table", table, "verdicts"))
    untested = coverage["untested"]
    if untested:
        parts.append(page.heading(3, f"Untested ({len(untested)})"))
        items = "".join(
            page.element(
                "li",
                page.element("a", page.text(u["name"]), href=f"#cov-line-{u['line']}")
                + page.text(f" in {u['pou']}" if u["pou"] else ""),
            )
            for u in untested
        )
        parts.append(page.element("ul", items, "untested"))
    else:
        parts.append(page.paragraph("Every statement ran and every branch was taken.", "pass"))
    parts.append(page.heading(3, "Source"))
    legend = "".join(
        page.element("span", page.text(words), css)
        for words, css in (
            ("never ran", "cov-missed"),
            ("a branch never taken", "cov-partial"),
            ("ran, every branch taken", "cov-covered"),
        )
    )
    said = (
        "Hits: how many times the line's statement ran, over every case and replication; "
        "each branch with the times it was taken."
    )
    parts.append(page.element("p", legend + page.text(said), "coverage-legend"))
    parts.append(_annotated_source(coverage["lines"]))
    return page.element("section", "".join(parts), id="section-coverage")


def _figures(coverage: dict) -> str:
    """ "statements 96.4 % (53/55), branches 91.4 % (32/35)" """
    return ", ".join(
        f"{kind} {coverage[kind]['percent']:.1f} % "
        f"({coverage[kind]['covered']}/{coverage[kind]['total']})"
        for kind in ("statements", "branches")
    )


def _annotated_source(lines: list[dict]) -> str:
    rows = []
    for line in lines:
        branches = "".join(
            page.element(
                "span",
                page.text(f"{b['label']} ×{b['count']}"),
                "branch " + ("taken" if b["count"] else "untaken"),
            )
            for b in line["branches"]
        )
        hits = "" if line["hits"] is None else str(line["hits"])
        cells = [
            page.element("td", str(line["line"]), "number"),
            page.element("td", hits, "hits"),
            page.element("td", page.text(line["text"]), "code"),
            page.element("td", branches, "branches"),
        ]
        css = f"cov-{line['status']}" if line["status"] else ""
        rows.append(page.element("tr", "".join(cells), css, id=f"cov-line-{line['line']}"))
    return page.element("table", page.element("tbody", "".join(rows)), "coverage-source")
