"""Browser tests of the web app: a real Chromium (Debian's, driven by Playwright) against the
app served from a thread, on stores of real recorded runs."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import ROOT
from werkzeug.serving import make_server

import twin
from web import create_app

CHROMIUM = Path("/usr/bin/chromium")
# Where each test leaves a screenshot of its page, for a person to look at.
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--use-angle=swiftshader",  # WebGL (the 3D view) without a GPU
    "--enable-unsafe-swiftshader",
]


# One browser per test module, not per session: Playwright's sync API keeps an event loop
# running in this thread while it is open, and the tests of other modules that run in the
# same process (side by side on workers) need the thread without one.
@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Served:
    """An app on a free port of 127.0.0.1, served from a thread for the test's duration."""

    def __init__(self, folder: Path, read_only: bool) -> None:
        self.app = create_app(folder, read_only=read_only)
        self._server = make_server("127.0.0.1", 0, self.app.server, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(folder: Path, *, read_only: bool = False) -> Served:
        started.append(Served(folder, read_only))
        return started[-1]

    yield start
    for served in started:
        served.close()


@pytest.fixture
def page(browser, serve, request):
    """A fresh page at 1280×800 that fails the test on any console error, and leaves a
    screenshot of where it ended. (It asks for ``serve`` so that it closes before the server
    does: a page left polling a stopped server is not the page's error.)"""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    finally:
        context.close()
    assert errors == [], f"the browser console said: {errors}"


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict:
    """A store with real runs: the two-machine line as recorded and with a bigger buffer
    (same seed: their replications pair up), a robot cell in physics, and the sorting station
    under its PLC. Returns the folder and each run's id."""
    folder = tmp_path_factory.mktemp("web") / "runs"
    scenarios = ROOT / "scenarios"
    line = twin.load(scenarios / "two_machine_line.yaml", set=["run.horizon=20h"])
    bigger = twin.load(
        scenarios / "two_machine_line.yaml", set=["run.horizon=20h", "b1.capacity=8"]
    )
    cell = twin.load(scenarios / "robot_cell.yaml", set=["run.horizon=30s"])
    sorter = twin.load(
        scenarios / "sorting_station" / "sorting_station.yaml", set=["run.horizon=30s"]
    )
    return {
        "folder": folder,
        "line": twin.run(line, replications=3, store=folder).run_id,
        "bigger": twin.run(bigger, replications=3, store=folder, label="bigger buffer").run_id,
        "cell": twin.run(cell, store=folder).run_id,
        "sorter": twin.run(sorter, store=folder).run_id,
        "failing": twin.run(twin.loads(FAILING, source="failing.yaml"), store=folder).run_id,
    }


# Two machines, the first failing about once an hour for ten minutes.
FAILING = """
name: Failing line
run: {horizon: 8h, warmup: 1h, replications: 1, seed: 5}
elements:
  feed: {type: source}
  m1: {type: station, process: {exponential: 50s}, failures: {mtbf: 1h, mttr: 10min}}
  b1: {type: buffer, capacity: 4}
  m2: {type: station, process: {exponential: 55s}}
  done: {type: sink}
flow: [feed -> m1 -> b1 -> m2 -> done]
"""
