"""`twin plant` on the command line: the tag map as a table and as CSV, OPC UA users, and bad
input refused with exit status 2 and a message naming the flag — before anything is served."""

from __future__ import annotations

import csv
import socket
import stat

import pytest
from conftest import ROOT, twin_commands

from twin.control.opcua_users import check

pytestmark = pytest.mark.slow  # `twin` processes

SORTER = str(ROOT / "scenarios" / "sorting_station" / "sorting_station.yaml")
LINE = str(ROOT / "scenarios" / "two_machine_line.yaml")


def test_the_tag_map_is_listed_and_exported_with_references_and_opcua_nodes(tmp_path):
    listed, exported = twin_commands(
        ["plant", SORTER, "--list-tags"],
        ["plant", SORTER, "--export-map", str(tmp_path / "map.csv")],
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.says("belt.run")
    assert listed.says("00001") and listed.says("10011")  # coil 0, discrete input 10
    assert exported.returncode == 0, exported.stderr
    with open(tmp_path / "map.csv", newline="", encoding="utf-8") as file:
        rows = {row["tag"]: row for row in csv.DictReader(file)}
    assert len(rows) == 17
    assert rows["belt.run"] == {
        "tag": "belt.run",
        "direction": "actuator",
        "type": "bool",
        "table": "coils",
        "address": "0",
        "reference": "00001",
        "registers": "1",
        "client_table": "discrete_inputs",
        "opcua_node": "nsu=urn:twin:plant;s=belt.run",
    }
    assert rows["panel.estop"]["table"] == "discrete_inputs"
    assert rows["panel.estop"]["reference"] == "10011"


def test_a_user_is_added_to_the_opcua_users_file_with_a_salted_hash(tmp_path):
    users = tmp_path / "users.txt"
    (added,) = twin_commands(
        ["plant", SORTER, "--opcua-users", str(users), "--add-user", "operator"],
        env={"TWIN_OPCUA_PASSWORD": "s3cret-enough"},
    )
    assert added.returncode == 0, added.stderr
    assert check(users, "operator", "s3cret-enough")
    assert not check(users, "operator", "wrong")
    assert "s3cret-enough" not in users.read_text()
    assert stat.S_IMODE(users.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ([LINE], "has no control section with tags, so there is nothing to serve"),
        ([SORTER, "--speed", "0"], "--speed 0 is not allowed; give a number over 0"),
        ([SORTER, "--watchdog", "soon"], "--watchdog soon is not a duration over 0"),
        ([SORTER, "--horizon", "-5s"], "--horizon -5s is not a duration over 0"),
        ([SORTER, "--word-order", "middle"], "--word-order middle is not allowed"),
        ([SORTER, "--modbus", "127.0.0.1:99999"], "'99999' is not a port"),
        ([SORTER, "--modbus-allow", "everyone"], "'everyone' is not an address or network"),
        ([SORTER, "--opcua", "opc.tcp://0.0.0.0:4840"], "--opcua-security sign-and-encrypt"),
        ([SORTER, "--opcua-security", "weak", "--opcua", "opc.tcp://127.0.0.1:4840"],
         "--opcua-security weak is not offered"),
        ([SORTER, "--add-user", "operator"], "--add-user needs --opcua-users FILE"),
        ([SORTER, "--set", "belt.speed=-1"], "belt.speed"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_exit_status_2_before_anything_is_served(
    tmp_path, arguments, says
):
    (told,) = twin_commands(["plant", *arguments, "--store", str(tmp_path / "runs")])
    assert told.returncode == 2, told.stdout + told.stderr
    assert says in " ".join(told.stderr.split())
    assert "Traceback" not in told.stderr
    assert not (tmp_path / "runs" / "logs").exists() or not any(
        (tmp_path / "runs" / "logs").iterdir()
    )


def test_a_modbus_port_in_use_is_refused_with_a_message(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (told,) = twin_commands(
            ["plant", SORTER, "--modbus", f"127.0.0.1:{port}", "--store", str(tmp_path / "r")]
        )
    assert told.returncode == 2, told.stderr
    assert f"127.0.0.1:{port}" in told.stderr
    assert "Traceback" not in told.stderr


def test_serving_beyond_loopback_warns_and_a_short_session_is_recorded(tmp_path):
    (told,) = twin_commands(
        ["plant", SORTER, "--bind", "0.0.0.0", "--modbus", "0", "--no-wait", "--horizon", "1s",
         "--store", str(tmp_path / "runs")]
    )  # fmt: skip
    assert told.returncode == 0, told.stderr
    said = " ".join(told.stderr.split())
    assert "warning: the Modbus server binds 0.0.0.0: anyone on that network can read" in said
    assert "recorded as run" in said
