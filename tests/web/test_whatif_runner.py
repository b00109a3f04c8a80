"""What-if runs: a recorded run's scenario with the form's changes runs in the background,
lands in the store with its changes and label, and leaves the user's file alone; a value that
cannot be used gets the CLI's message, at its field, and starts nothing."""

from __future__ import annotations

import shutil
import time

import pytest
from conftest import ROOT, twin_commands

import twin
from twin.record import RunStore
from web.whatif.fields import form_fields
from web.whatif.runner import BUSY, DONE, RUNNING, UNCHANGED, Refused, Status, WhatIfRunner

LINE = ROOT / "scenarios" / "two_machine_line.yaml"


@pytest.fixture
def recorded(tmp_path):
    """The user's copy of the two-machine line, and one short run of it in a fresh store."""
    path = tmp_path / "line.yaml"
    shutil.copy(LINE, path)
    folder = tmp_path / "runs"
    loaded = twin.load(path, set=["run.horizon=20h"])
    run_id = twin.run(loaded, replications=2, store=folder).run_id
    return path, folder, RunStore(folder).get(run_id)


def finished(runner: WhatIfRunner, status: Status, timeout_s: float = 60.0) -> Status:
    deadline = time.monotonic() + timeout_s
    while status.state == RUNNING:
        assert time.monotonic() < deadline, f"the what-if still runs: {status}"
        time.sleep(0.05)
        status = runner.status(status.job)
    return status


def test_a_what_if_runs_in_the_background_and_is_stored_with_its_change(recorded):
    path, folder, original = recorded
    written = path.read_bytes(), path.stat().st_mtime_ns
    runner = WhatIfRunner(folder)

    started = runner.start(original, {"b1.capacity": "5", "run.seed": "42"})  # seed unchanged

    assert isinstance(started, Status)
    assert (started.state, started.label, started.replications) == (
        RUNNING,
        "what-if: b1.capacity=5",
        2,
    )
    ended = finished(runner, started)
    assert (ended.state, ended.fraction, ended.replications_done) == (DONE, 1.0, 2)
    store = RunStore(folder)
    new = store.get(ended.run_id)
    assert new.status == "complete"
    assert new.label == "what-if: b1.capacity=5"
    # The changed scenario is the original text with the change as one more override.
    assert new.scenario_text == original.scenario_text
    assert new.scenario_source == str(path)
    assert new.overrides == ["run.horizon=20h", "run.replications=2", "b1.capacity=5"]
    assert {f.path: f.value for f in form_fields(new.scenario_text, overrides=new.overrides)}[
        "b1.capacity"
    ] == "5"
    assert store.replications_done(new.id) == 2
    assert [run.id for run in store.runs()] == [original.id, new.id]
    # The user's file was named, never written.
    assert (path.read_bytes(), path.stat().st_mtime_ns) == written


@pytest.mark.slow  # the CLI in a subprocess, to hear its message
def test_an_invalid_value_gets_the_clis_message_at_its_field_and_starts_nothing(recorded):
    path, folder, original = recorded
    runner = WhatIfRunner(folder)
    said = twin_commands(
        ["run", str(path), "--no-record", "--set", "run.horizon=20h", "--replications", "2",
         "--set", "b1.capacity=-1"],
        ["run", str(path), "--no-record", "--set", "run.horizon=20h", "--replications", "2",
         "--set", "m1.process.exponential=-5s"],
    )  # fmt: skip

    for told, (name, value) in zip(
        said, [("b1.capacity", "-1"), ("m1.process.exponential", "-5s")], strict=True
    ):
        refused = runner.start(original, {name: value})
        assert isinstance(refused, Refused)
        message = told.stderr.strip().removeprefix("error: ")
        assert told.returncode == 2
        assert refused.errors == {name: message}
        assert refused.message == message
    # Word for word, for the first one:
    assert runner.start(original, {"b1.capacity": "-1"}).errors == {
        "b1.capacity": "--set b1.capacity=-1: elements.b1.capacity: -1 is not allowed; "
        "a buffer holds 0 or more parts"
    }
    assert [run.id for run in RunStore(folder).runs()] == [original.id]
    assert runner.running() is None


def test_one_what_if_at_a_time_and_none_without_a_change(recorded):
    _, folder, original = recorded
    runner = WhatIfRunner(folder)
    assert runner.start(original, {"b1.capacity": "3"}) == Refused(
        "Nothing is changed yet: change a value, then run.", reason=UNCHANGED
    )

    first = runner.start(original, {"b1.capacity": "6", "run.horizon": "200h"})
    second = runner.start(original, {"b1.capacity": "7"})

    assert isinstance(first, Status)
    assert second == Refused(
        f"A what-if is running already (what-if: run.horizon=200h b1.capacity=6, from run "
        f"{original.short_id}); wait until it ends, then run this one.",
        reason=BUSY,
    )
    assert runner.running() == runner.status(first.job)
    assert finished(runner, first).state == DONE
    assert runner.running() is None
    third = runner.start(original, {"b1.capacity": "7"})
    assert finished(runner, third).state == DONE
    assert len(RunStore(folder).runs()) == 3
