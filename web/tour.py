"""A tour of the app: each page recorded as a 1280×800 screenshot, for the README.

``python -m web.tour [OUT]`` runs the reference scenarios into a fresh store, serves the app on
a free port of 127.0.0.1 and takes the screenshots with Debian's Chromium (Playwright).
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import make_server

import twin
from web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
OUT = Path(__file__).with_name("screenshots")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
# What shows that a page has opened, by the first word of its screenshot's name.
READY = {"runs": "#runs-table", "replay": "#replay-events-box > *", "compare": "main h1"}
# Plots draw after the page's callbacks answer; a moment more lets WebGL finish too.
SETTLE_MS = 2500


def record(folder: Path) -> dict[str, str]:
    """The runs the tour shows, recorded into ``folder``: their ids by role."""
    line = SCENARIOS / "two_machine_line.yaml"
    return {
        "line": twin.run(twin.load(line), replications=5, store=folder).run_id,
        "bigger": twin.run(
            twin.load(line, set=["b1.capacity=8"]),
            replications=5,
            store=folder,
            label="bigger buffer",
        ).run_id,
        "bottling": twin.run(
            twin.load(SCENARIOS / "bottling_line.yaml"), replications=1, store=folder
        ).run_id,
        "cell": twin.run(twin.load(SCENARIOS / "robot_cell.yaml"), store=folder).run_id,
        "sorter": twin.run(
            twin.load(SCENARIOS / "sorting_station" / "sorting_station.yaml"), store=folder
        ).run_id,
    }


def pages(ids: dict[str, str]) -> dict[str, str]:
    """Screenshot name → path of the page it shows."""
    return {
        "runs": "/",
        "replay": f"/replay/{ids['bottling']}?t=10800",
        "replay-physics": f"/replay/{ids['cell']}?t=20",
        "replay-tags": f"/replay/{ids['sorter']}?t=30",
        "compare": f"/compare?runs={ids['line'][:8]},{ids['bigger'][:8]}",
        "whatif": f"/whatif/{ids['line']}",
    }


def take(out: Path = OUT) -> list[Path]:
    """Record, serve and photograph every page; the paths of the screenshots."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    taken = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "runs"
        ids = record(folder)
        server = make_server("127.0.0.1", 0, create_app(folder).server, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                for name, path in pages(ids).items():
                    page.goto(url + path)
                    page.wait_for_selector(
                        READY.get(name.split("-")[0], "main h1"), timeout=120_000
                    )
                    page.wait_for_load_state("networkidle")
                    page.wait_for_timeout(SETTLE_MS)
                    taken.append(out / f"{name}.png")
                    page.screenshot(path=str(taken[-1]))
                browser.close()
        finally:
            server.shutdown()
            server.server_close()
    return taken


if __name__ == "__main__":
    for path in take(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(path)
