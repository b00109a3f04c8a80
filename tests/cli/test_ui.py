"""`twin ui` serves the web app on 127.0.0.1 until it is stopped, warns before serving
anyone else, and refuses a port it cannot have with a message, not a traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import twin_commands

pytestmark = pytest.mark.slow  # a server process


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_ui(*arguments: str, store: Path) -> subprocess.Popen:
    entry = Path(sys.executable).with_name("twin")
    environment = {k: v for k, v in os.environ.items() if k != "TWIN_STORE"}
    return subprocess.Popen(
        [str(entry), "ui", "--store", str(store), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**environment, "NO_COLOR": "1"},
    )


def wait_for(url: str, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def stop(process: subprocess.Popen) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    return process.communicate(timeout=20)


def test_the_app_is_served_on_loopback_until_ctrl_c(tmp_path):
    port = free_port()
    process = start_ui("--port", str(port), store=tmp_path / "runs")
    try:
        page = wait_for(f"http://127.0.0.1:{port}/")
        assert "<title>twin</title>" in page
        # Bound to loopback only: the machine's other addresses do not answer.
        with socket.socket() as probe:
            probe.connect(("127.0.0.1", port))
            assert probe.getsockname()[0] == "127.0.0.1"
        listening = subprocess.run(
            ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True
        ).stdout
        if listening:  # ss is there: the socket listens on 127.0.0.1 and nothing else
            assert all("127.0.0.1:" in line for line in listening.splitlines())
    finally:
        _, stderr = stop(process)
    assert process.returncode == 0
    assert f"http://127.0.0.1:{port}/" in stderr
    assert "Traceback" not in stderr


def test_serving_beyond_loopback_warns_unless_read_only(tmp_path):
    port = free_port()
    process = start_ui("--host", "0.0.0.0", "--port", str(port), store=tmp_path / "runs")
    try:
        wait_for(f"http://127.0.0.1:{port}/")
    finally:
        _, warned = stop(process)
    assert "warning: serving on 0.0.0.0: anyone who can reach this address can start" in (
        " ".join(warned.split())
    )
    port = free_port()
    process = start_ui(
        "--host", "0.0.0.0", "--port", str(port), "--read-only", store=tmp_path / "runs"
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/")
    finally:
        _, quiet = stop(process)
    assert "warning" not in quiet


def test_a_port_in_use_or_impossible_is_refused_with_exit_status_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        in_use, impossible = twin_commands(
            ["ui", "--store", str(tmp_path / "runs"), "--port", str(port)],
            ["ui", "--store", str(tmp_path / "runs"), "--port", "70000"],
        )
    assert in_use.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in in_use.stderr
    assert impossible.returncode == 2
    assert "--port 70000 is not a port; use 1 to 65535" in impossible.stderr
    for told in (in_use, impossible):
        assert "Traceback" not in told.stderr
