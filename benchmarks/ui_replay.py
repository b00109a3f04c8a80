"""Responsiveness of the replay page on a big run: opening it and moving the cursor, in a real
browser, against the bare replay query (``state_at``) it is built on."""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from targets import Targets, add_option
from werkzeug.serving import make_server

import twin
from twin.record import RunStore
from twin.record.replay import Replay
from web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
BOTTLING = ROOT / "scenarios" / "bottling_line.yaml"
CHROMIUM = "/usr/bin/chromium"
BIG_LOG_ROWS = 1_000_000
TARGET_MOVE_S = 1.0  # median and p95 of a cursor move until the page shows it
TARGET_OPEN_S = 2.0  # opening the page until the line at the cursor is drawn


def record(folder: Path) -> str:
    """One replication of the bottling line long enough to log over a million rows."""
    scenario = twin.load(BOTTLING, set=["run.horizon=24h", "run.replications=1"])
    return twin.run(scenario, store=folder).run_id


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def in_browser(url: str, run_id: str, moves: int, end_s: float) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    # Open: the line view and the table of states at the cursor are there. The charts over the
    # whole replication (Gantt, WIP, levels, events) are drawn after it has opened.
    opened = (
        "() => document.querySelector('#replay-states table') &&"
        " document.querySelector('#replay-line .js-plotly-plot .scatterlayer .trace')"
    )
    charted = (
        "() => ['replay-gantt', 'replay-wip', 'replay-levels'].every(id => {"
        " const g = document.querySelector('#' + id + ' .js-plotly-plot');"
        " return g && g._fullData && g._fullData.length > 0; })"
        " && document.querySelector('#replay-events-box table')"
    )
    found: dict[str, list[float]] = {"open_s": [], "charts_s": [], "move_s": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        # The baseline: the app's shell, the first time the browser sees it (its scripts load;
        # plotly is among them). The browser keeps them, as it would for a user.
        started = time.perf_counter()
        page.goto(f"{url}/")
        page.wait_for_selector("#runs-table", timeout=60_000)
        found["shell_s"] = [time.perf_counter() - started]
        # A shared link opened in a new tab: the page loads, the log is read the first time.
        page = context.new_page()
        started = time.perf_counter()
        page.goto(f"{url}/replay/{run_id}?t=0")
        page.wait_for_function(opened, timeout=60_000)
        found["open_s"].append(time.perf_counter() - started)
        page.wait_for_function(charted, timeout=60_000)
        found["charts_s"].append(time.perf_counter() - started)
        # Then as a user opens a replay from the runs page (its scripts loaded, the log kept).
        for _ in range(2):
            page.click("header >> text=Runs")
            page.wait_for_selector(f'a[href="/replay/{run_id}"]')
            started = time.perf_counter()
            page.click(f'a[href="/replay/{run_id}"]')
            page.wait_for_function(opened, timeout=60_000)
            found["open_s"].append(time.perf_counter() - started)
            page.wait_for_function(charted, timeout=60_000)
            found["charts_s"].append(time.perf_counter() - started)
        rng = random.Random(7)
        for _ in range(moves):
            time_s = round(rng.uniform(0, end_s), 3)
            started = time.perf_counter()
            page.fill("#replay-goto", str(time_s))
            page.press("#replay-goto", "Enter")
            page.wait_for_function(
                f"document.querySelector('#replay-states table').dataset.time === '{time_s:.3f}'",
                timeout=30_000,
            )
            found["move_s"].append(time.perf_counter() - started)
        browser.close()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--moves", type=int, default=40)
    add_option(parser)
    args = parser.parse_args()
    console = Console()
    targets = Targets()
    folder = Path(tempfile.mkdtemp(prefix="twin-bench-ui-"))
    server = None
    try:
        with console.status("recording 24 h of the bottling line"):
            run_id = record(folder)
        run = RunStore(folder).get(run_id)
        replay = Replay(folder, run_id)
        bare = []
        rng = random.Random(7)
        for _ in range(args.moves):
            at_s = rng.uniform(0, replay.end_s)
            started = time.perf_counter()
            replay.state_at(at_s)
            bare.append(time.perf_counter() - started)
        server = make_server("127.0.0.1", 0, create_app(folder).server, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}"
        with console.status(f"opening the replay page and moving its cursor {args.moves} times"):
            timing = in_browser(url, run_id, args.moves, replay.until_s)
    finally:
        if server is not None:
            server.shutdown()
        shutil.rmtree(folder, ignore_errors=True)

    moves = timing["move_s"]
    move_median, move_p95 = statistics.median(moves), percentile(moves, 0.95)
    cold_open, warm_open = timing["open_s"][0], statistics.median(timing["open_s"][1:])
    cold_charts = timing["charts_s"][0]
    warm_charts = statistics.median(timing["charts_s"][1:])
    bare_median = statistics.median(bare)
    table = Table(title=f"Replay page on {run.log_rows:,} log rows (one replication, 24 h)")
    for column in ("figure", "seconds", "ratio to bare state_at"):
        table.add_column(column, justify="right" if column != "figure" else "left")
    table.add_row("bare state_at, median", f"{bare_median:.4f}", "1")
    table.add_row("cursor move → page updated, median", f"{move_median:.3f}",
                  f"{move_median / bare_median:.0f}×")  # fmt: skip
    table.add_row("cursor move → page updated, p95", f"{move_p95:.3f}",
                  f"{move_p95 / bare_median:.0f}×")  # fmt: skip
    table.add_row(
        "baseline: the runs page, first load of the app", f"{timing['shell_s'][0]:.3f}", ""
    )
    table.add_row("open its URL (page load, the log read)", f"{cold_open:.3f}", "")
    table.add_row("… and its charts drawn", f"{cold_charts:.3f}", "")
    table.add_row("open it from the runs page (log kept)", f"{warm_open:.3f}", "")
    table.add_row("… and its charts drawn", f"{warm_charts:.3f}", "")
    console.print(table)
    targets.check(
        f"at least {BIG_LOG_ROWS:,} log rows ({run.log_rows:,})", run.log_rows >= BIG_LOG_ROWS
    )
    targets.check(
        f"cursor move median {move_median:.3f} s < {TARGET_MOVE_S} s", move_median < TARGET_MOVE_S
    )
    targets.check(f"cursor move p95 {move_p95:.3f} s < {TARGET_MOVE_S} s", move_p95 < TARGET_MOVE_S)
    targets.check(
        f"first open of its URL {cold_open:.3f} s < {TARGET_OPEN_S} s", cold_open < TARGET_OPEN_S
    )
    return targets.exit_status(console, args.no_target)


if __name__ == "__main__":
    sys.exit(main())
