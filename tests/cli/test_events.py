"""`twin runs events` shows what happened in a stretch of a recorded run — state changes, part
moves, tag changes and events, told in words — without a line of Python."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Told, stopping_plc, twin_commands

from twin.record import RunStore

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses or physics

# Constant times, so every row is known by hand: a part every 10 s from t = 10 s, 8 s in the
# press, 4 s on the belt (2 m at 0.5 m/s).
PRESS_LINE = """\
name: Press line
run: {horizon: 45s, replications: 2}
elements:
  feed: {type: source, interarrival: 10s}
  press: {type: station, process: 8s}
  belt: {type: conveyor, length: 2, speed: 0.5, capacity: 4}
  done: {type: sink}
flow:
  - feed -> press -> belt -> done
"""


def table_rows(told: Told) -> list[list[str]]:
    """The body rows of the table printed: time, kind, source, what."""
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in told.stdout.splitlines()
        if line.startswith("│")
    ]


def assert_refused(told: Told, message: str) -> None:
    assert told.returncode == 2, told.stderr
    assert "Traceback" not in told.stderr + told.stdout
    assert " ".join(told.stderr.split()) == f"error: {message}"
    assert told.stdout == ""


@dataclass
class Asked:
    """A store with the press line, the PLC stop, a failed run and a run whose log was
    damaged, and what `twin runs events` answered about them."""

    folder: Path
    press: str
    stop: str
    failed: str
    damaged: str
    told: dict[str, Told]


@pytest.fixture(scope="module")
def asked(tmp_path_factory: pytest.TempPathFactory) -> Asked:
    folder = tmp_path_factory.mktemp("events")
    (folder / "press.yaml").write_text(PRESS_LINE, encoding="utf-8")
    stopping_plc(folder)
    store = ["--store", str(folder / "runs")]
    ran = twin_commands(
        ["run", "press.yaml", *store],
        ["run", "stop.yaml", *store],
        ["run", "press.yaml", "--label", "to be damaged", *store],
        cwd=folder,
    )
    press, stop, damaged = (
        re.findall(r"Recorded as run ([0-9a-f]{8}) in ", told.stdout)[0] for told in ran
    )
    catalog = RunStore(folder / "runs")
    writer = catalog.begin(
        scenario_name="Press line", scenario_source="press.yaml", scenario_text=PRESS_LINE,
        scenario_sha256="0" * 64, overrides=[], seed=0, replications=2, horizon_s=45.0,
        warmup_s=0.0,
    )  # fmt: skip
    writer.fail("RuntimeError: the line broke")
    failed = writer.id[:8]
    log = catalog.log_path(catalog.get(damaged))
    log.write_bytes(log.read_bytes()[:-100])  # truncated, as by a full disk
    catalog.close()
    commands = {
        "window": ["--from", "15s", "--to", "25s"],
        "press": ["--source", "press", "--to", "0.48min"],  # 28.8 s
        "moves": ["--kind", "move", "--rep", "1", "--limit", "2"],
        "json": ["--source", "belt", "--kind", "state,move", "--json", "-"],
        "quiet": ["--from", "23s", "--to", "27s"],
        "stop": ["--kind", "event,tag"],
        "bad kind": ["--kind", "state,tags"],
        "bad source": ["--source", "pres"],
        "bad rep": ["--rep", "2"],
        "bad from": ["--from", "15 secs"],
        "backwards": ["--from", "30s", "--to", "10s"],
        "bad limit": ["--limit", "-1"],
    }
    run_of = {"stop": stop}
    told = twin_commands(
        *(
            ["runs", "events", run_of.get(name, press), *args, *store]
            for name, args in commands.items()
        ),
        ["runs", "events", "0123456789ab", *store],
        ["runs", "events", failed, *store],
        ["runs", "events", damaged, *store],
        cwd=folder,
    )  # fmt: skip
    names = [*commands, "unknown run", "failed", "damaged"]
    return Asked(folder, press, stop, failed, damaged, dict(zip(names, told, strict=True)))


def test_a_window_is_every_row_between_two_times_in_time_order(asked: Asked) -> None:
    told = asked.told["window"]

    assert told.returncode == 0, told.stderr
    assert told.stdout.startswith(
        f"Run {asked.press} (Press line), replication 0: 7 rows from 15s to 25s\n"
    )
    assert table_rows(told) == [
        ["18.000", "state", "press", "place 0 → starved"],
        ["18.000", "state", "belt", "place 0 → working"],
        ["18.000", "move", "press", "part 1 press → belt"],
        ["20.000", "state", "press", "place 0 → working"],
        ["20.000", "move", "feed", "part 2 feed → press"],
        ["22.000", "state", "belt", "place 0 → starved"],
        ["22.000", "move", "belt", "part 1 belt → done"],
    ]


def test_a_source_narrows_to_its_rows_and_the_parts_it_received(asked: Asked) -> None:
    told = asked.told["press"]

    assert told.returncode == 0, told.stderr
    assert table_rows(told) == [
        ["0.000", "state", "press", "place 0 → starved"],
        ["10.000", "state", "press", "place 0 → working"],
        ["10.000", "move", "feed", "part 1 feed → press"],
        ["18.000", "state", "press", "place 0 → starved"],
        ["18.000", "move", "press", "part 1 press → belt"],
        ["20.000", "state", "press", "place 0 → working"],
        ["20.000", "move", "feed", "part 2 feed → press"],
        ["28.000", "state", "press", "place 0 → starved"],
        ["28.000", "move", "press", "part 2 press → belt"],
    ]


def test_the_limit_shows_the_first_rows_and_says_how_many_more_there_are(asked: Asked) -> None:
    told = asked.told["moves"]

    assert told.returncode == 0, told.stderr
    assert told.stdout.startswith(
        f"Run {asked.press} (Press line), replication 1: 10 rows from the start to the end\n"
    )
    assert table_rows(told) == [
        ["10.000", "move", "feed", "part 1 feed → press"],
        ["18.000", "move", "press", "part 1 press → belt"],
    ]
    assert told.says(
        "8 more rows in this window: narrow it with --kind, --source, --from and --to, "
        "or raise --limit (0 for all)."
    )


def test_json_gives_every_row_of_the_window_as_plain_values(asked: Asked) -> None:
    told = asked.told["json"]

    assert told.returncode == 0, told.stderr
    rows = json.loads(told.stdout)
    assert rows[:4] == [
        {"time_s": 0.0, "kind": "state", "source": "belt", "place": 0, "text": "starved",
         "what": "place 0 → starved"},
        {"time_s": 18.0, "kind": "state", "source": "belt", "place": 0, "text": "working",
         "what": "place 0 → working"},
        {"time_s": 18.0, "kind": "move", "source": "press", "part": 1, "target": "belt",
         "what": "part 1 press → belt"},
        {"time_s": 22.0, "kind": "state", "source": "belt", "place": 0, "text": "starved",
         "what": "place 0 → starved"},
    ]  # fmt: skip
    assert [row["what"] for row in rows if row["kind"] == "move"] == [
        "part 1 press → belt", "part 1 belt → done",
        "part 2 press → belt", "part 2 belt → done",
        "part 3 press → belt", "part 3 belt → done",
    ]  # fmt: skip
    assert "rows from the start to the end" in told.stderr  # the table went to stderr


def test_an_empty_window_says_so(asked: Asked) -> None:
    told = asked.told["quiet"]

    assert told.returncode == 0, told.stderr
    assert told.stdout.strip() == (
        f"Run {asked.press} (Press line), replication 0: 0 rows from 23s to 27s."
    )


def test_a_plc_stop_and_the_tags_around_it(asked: Asked) -> None:
    told = asked.told["stop"]

    assert told.returncode == 0, told.stderr
    assert table_rows(told) == [
        ["0.000", "tag", "belt.run", "= 0"],
        ["0.000", "tag", "belt.run", "= 1"],
        ["0.200", "event", "control",
         "controller stopped: stop.st:5:16: division by zero at t=0.200 s"],
        ["0.200", "tag", "belt.run", "= 0"],
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad kind", "--kind 'tags' is not a kind of log row; use one or more of: state, move, "
         "tag, event, pose"),
        ("bad source", "--source 'pres' names nothing in replication 0 of run {press} (did you "
         "mean 'press'?); its log names belt, done, feed, press"),
        ("bad rep", "--rep 2 is not a replication of run {press}; it has 0 to 1"),
        ("bad from", "--from '15 secs' is not a duration; use a number of seconds or a number "
         "with a unit: ms, s, min, h, d (e.g. 90s, 5min)"),
        ("backwards", "--from 30s is after --to 10s; the window must not end before it starts"),
        ("bad limit", "--limit -1 is negative; give a number of rows, or 0 for all"),
        ("unknown run", "no run '0123456789ab' in {folder}; `twin runs list` shows the runs"),
        ("failed", "run {failed} has no usable log: run failed"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_in_one_paragraph(asked: Asked, name: str, message: str) -> None:
    assert_refused(
        asked.told[name],
        message.format(press=asked.press, failed=asked.failed, folder=asked.folder / "runs"),
    )


def test_a_damaged_log_is_refused_and_the_run_stays_listed(asked: Asked) -> None:
    store = RunStore(asked.folder / "runs")
    run = store.get(asked.damaged)

    assert_refused(
        asked.told["damaged"],
        f"log file {store.log_path(run)} does not match its checksum: it was truncated or changed",
    )
    assert (run.status, run.label) == ("complete", "to be damaged")
