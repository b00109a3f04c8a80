"""`twin commission --serve opcua`: the served suite with an asyncua client, in this process,
playing the PLC over OPC UA as a PLC outside twin would — the cell's logic of the Modbus test
on another protocol gives the verdicts of the soft PLC, the lost link failing at the same
instant. The server binds loopback unless secured; secured (Basic256Sha256 and a login, as
`twin plant`), anonymous clients are refused and the logged-in controller passes."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

import pytest
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from commission.served_cell import (
    ACTUATORS,
    CASES_PLANT_S,
    LINK_LOST_FAILURE,
    SENSORS,
    SOFT_VERDICTS,
    commission_served,
    free_port,
    junit_failures,
    verdict_rows,
    write_cell,
)
from conftest import twin_commands

from twin.control.opcua_common import application_certificate
from twin.control.opcua_users import add_user
from twin.record import RunStore
from twin.record.replay import Replay

pytestmark = pytest.mark.slow  # suites served in real time, an OPC UA server started for each

# 35 s of plant time in 7 s, as over Modbus: a part's second to start is 200 ms of wall time,
# room for a busy machine to hold a scan of the plant or of the controller back.
SPEED = 5
SECURE_SPEED = 10  # the good case alone, once more with a login: 20 s in 2 s
NAMESPACE = "urn:twin:plant"  # found by its URI: the index is the server's to give
USER, PASSWORD = "operator", "correct horse"
CLIENT_URI = "urn:twin:test:controller"


class OpcuaBus:
    """The cell's tags through an asyncua client in the control loop's own thread: one Read
    of the sensors and one Write of the actuators a scan, by node ids found through the
    namespace's URI. With ``login`` (a certificate, a user and a password), Basic256Sha256
    SignAndEncrypt; with ``after``, it connects only once that is set."""

    # A server not (yet, or any more) there: refused, reset or timed out sockets (OSError),
    # a status code (UaError), or a request cancelled as asyncua drops the connection.
    failures = (OSError, ua.UaError, asyncio.CancelledError)

    def __init__(self, url: str, login=None, after: threading.Event | None = None) -> None:
        self.url = url
        self.login = login
        self.after = after
        self.client: Client | None = None
        self.loop: asyncio.AbstractEventLoop | None = None  # one per connection

    def connect(self) -> bool:
        if self.client is not None:
            return True
        if self.after is not None and not self.after.is_set():
            return False
        self.loop = asyncio.new_event_loop()
        if self.login is None:
            self.client = Client(self.url, timeout=2)  # a lost server is told within 2 s
        else:
            certificate, user, password = self.login
            self.client = self.loop.run_until_complete(secured_client(self.url, certificate))
            self.client.set_user(user)
            self.client.set_password(password)
        self.loop.run_until_complete(self.client.connect())
        index = self.loop.run_until_complete(self.client.get_namespace_index(NAMESPACE))
        self.sensors = [self.client.get_node(f"ns={index};s={name}") for name in SENSORS]
        self.actuators = [self.client.get_node(f"ns={index};s={name}") for name in ACTUATORS]
        return True

    def read(self) -> dict[str, bool | int]:
        values = self.loop.run_until_complete(self.client.read_values(self.sensors))
        return dict(zip(SENSORS, values, strict=True))

    def write(self, outputs: dict[str, bool]) -> None:
        values = [
            ua.DataValue(ua.Variant(outputs[name], ua.VariantType.Boolean)) for name in ACTUATORS
        ]
        self.loop.run_until_complete(self.client.write_values(self.actuators, values))

    def close(self) -> None:
        client, loop = self.client, self.loop
        self.client = self.loop = None
        if loop is None:
            return
        if client is not None:
            with contextlib.suppress(*self.failures):
                loop.run_until_complete(client.disconnect())
        pending = asyncio.all_tasks(loop)  # what a dropped connection left: ended, not leaked
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending))
        loop.close()


async def secured_client(url: str, certificate) -> Client:
    client = Client(url, timeout=2)
    client.application_uri = CLIENT_URI
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        str(certificate.certificate_path),
        str(certificate.key_path),
        mode=ua.MessageSecurityMode.SignAndEncrypt,
    )
    return client


async def offered(url: str, _certificate) -> list[str]:
    """The security of each endpoint the server offers: policy and mode."""
    endpoints = await Client(url, timeout=2).connect_and_get_server_endpoints()
    return [f"{e.SecurityPolicyUri.rsplit('#', 1)[1]} {e.SecurityMode.name}" for e in endpoints]


async def anonymous_write(url: str, certificate) -> str:
    """What an anonymous client, over Basic256Sha256, trying to start the station is
    answered: the status refusing it, or "written"."""
    client = await secured_client(url, certificate)
    try:
        async with client:
            index = await client.get_namespace_index(NAMESPACE)
            start = client.get_node(f"ns={index};s=m1.start")
            await start.write_value(ua.DataValue(ua.Variant(True, ua.VariantType.Boolean)))
            return "written"
    except ua.UaStatusCodeError as error:
        return type(error).__name__


def once_serving(ask, url: str, certificate, within_s: float = 60.0):
    """``ask(url, certificate)``'s answer, asked again until the server is there."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return asyncio.run(ask(url, certificate))
        except OSError:  # refused: not serving yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served-opcua")
    write_cell(folder)
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    told, wall_s = commission_served(
        folder, OpcuaBus(url), "--serve", f"opcua:{url}", "--speed", str(SPEED),
        "--junit", "verdicts.xml", "--store", "runs",
    )  # fmt: skip
    (soft,) = twin_commands(["commission", "cell.yaml", "--store", "soft-runs"], cwd=folder)
    return folder, url, told, wall_s, soft


def test_the_opcua_controller_passes_the_good_case_and_fails_when_its_link_is_cut(served):
    folder, url, told, wall_s, _ = served
    assert told.returncode == 1, told.stdout + told.stderr  # a check failed
    assert told.says(f"cell: each case served at 5× real time on OPC UA server on {url}")
    lines = [line for line in told.stdout.splitlines() if line.startswith("case ")]
    assert lines[0].startswith("case good: 3 passed, 0 failed (run ")
    assert lines[1].startswith("case link lost: 0 passed, 1 failed (run ")
    failures = junit_failures(folder / "verdicts.xml")
    assert list(failures) == ["cell.link lost/parts start at once"]
    assert failures["cell.link lost/parts start at once"].startswith(LINK_LOST_FAILURE)
    assert wall_s > CASES_PLANT_S / SPEED  # real time times 5, not a flash


def test_the_suite_served_over_opcua_gives_the_verdicts_of_the_soft_plc(served):
    _, _, told, _, soft = served
    assert soft.returncode == told.returncode == 1
    assert verdict_rows(told) == verdict_rows(soft) == SOFT_VERDICTS, told.stdout + soft.stdout


def test_the_controller_keeps_its_session_from_case_to_case_and_the_link_is_cut_at_the_seam(
    served,
):
    folder, _, _, _, _ = served
    runs = {run.label: run for run in RunStore(folder / "runs").runs()}
    assert {run.status for run in runs.values()} == {"complete"}
    good = Replay(folder / "runs", runs["commission: good (external controller)"].id)
    said = good.events(0, good.end_s, kinds=["event"], sources=["control"])["text"].to_pylist()
    connected = [text for text in said if text.startswith("controller_connected")]
    assert len(connected) == 1 and connected[0].startswith("controller_connected: 127.0.0.1:")
    assert connected[0].endswith(" (anonymous)")
    lost = Replay(folder / "runs", runs["commission: link lost (external controller)"].id)
    events = lost.events(0, lost.end_s, kinds=["event"], sources=["control"]).to_pylist()
    # One session for the whole suite: the second case hears no new login, only the fault.
    assert not any(e["text"].startswith("controller_") for e in events)
    assert [(e["time_s"], e["text"]) for e in events if e["text"].startswith("fault_")] == [
        (9.5, "fault_start: controller communication lost"),
        (11.5, "fault_end: controller communication lost"),
    ]


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served-opcua-secured")
    write_cell(folder)
    add_user(folder / "users.txt", USER, PASSWORD)
    certificate = application_certificate(folder / "client", "client", CLIENT_URI, [])
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    answers: dict[str, object] = {}
    answered = threading.Event()

    def intruder() -> None:  # as the server comes up, before the controller logs in
        try:
            answers["endpoints"] = once_serving(offered, url, certificate)
            answers["anonymous write"] = once_serving(anonymous_write, url, certificate)
        finally:
            answered.set()

    intruding = threading.Thread(target=intruder, daemon=True)
    intruding.start()
    controller = OpcuaBus(url, (certificate, USER, PASSWORD), after=answered)
    told, _ = commission_served(
        folder, controller, "--serve", f"opcua:{url}",
        "--opcua-security", "sign-and-encrypt", "--opcua-users", "users.txt", "--case", "good",
        "--speed", str(SECURE_SPEED), "--store", "runs",
    )  # fmt: skip
    intruding.join(timeout=10)
    return folder, url, told, answers


def test_secured_the_logged_in_controller_passes_and_anonymous_writes_are_refused(secured):
    folder, url, told, answers = secured
    assert told.returncode == 0, told.stdout + told.stderr
    assert told.says(
        f"on OPC UA server on {url} (Basic256Sha256 SignAndEncrypt, users from users.txt)"
    )
    assert verdict_rows(told) == SOFT_VERDICTS[:3], told.stdout
    # No plain endpoint to talk to; encrypted, no anonymous session: nothing is written.
    assert answers == {
        "endpoints": ["Basic256Sha256 SignAndEncrypt"],
        "anonymous write": "BadIdentityTokenRejected",
    }
    (run,) = RunStore(folder / "runs").runs()
    replay = Replay(folder / "runs", run.id)
    said = replay.events(0, replay.end_s, kinds=["event"], sources=["control"])["text"]
    # Told at the first scan, as the clock starts when the controller is heard after them.
    sessions = [text.split(" ", 2)[2] for text in said.to_pylist()
                if text.startswith(("controller_", "request_refused"))]  # fmt: skip
    assert sessions == [
        "(login of an anonymous client refused: BadIdentityTokenRejected)",
        "(user operator)",
    ]
    assert (folder / "runs" / "opcua" / "server_cert.der").exists()  # kept in the store


def test_a_plain_opcua_server_serves_loopback_only_and_security_goes_with_opcua(tmp_path):
    write_cell(tmp_path)
    store = ["--store", str(tmp_path / "runs")]
    # Without a URL: the endpoint it announces, then a case it does not have ends it unbound.
    default, *told = twin_commands(
        ["commission", "cell.yaml", "--serve", "opcua", "--case", "nope", "--store", "other"],
        ["commission", "cell.yaml", "--serve", "opcua:opc.tcp://0.0.0.0:4840", *store],
        ["commission", "cell.yaml", "--serve", "opcua", "--opcua-security", "weak", *store],
        ["commission", "cell.yaml", "--serve", "modbus", "--opcua-users", "users.txt", *store],
        cwd=tmp_path,
    )  # fmt: skip
    assert [t.returncode for t in told] == [2, 2, 2]
    said = [" ".join(t.stderr.split()) for t in told]
    assert said == [
        "error: the OPC UA server would serve 0.0.0.0 without encryption and login; it binds "
        "to loopback only (127.0.0.1) unless you add --opcua-security sign-and-encrypt "
        "--opcua-users FILE",
        "error: --opcua-security weak is not offered; use sign-and-encrypt",
        "error: --opcua-users secures the server of --serve opcua; add --serve opcua",
    ]
    assert not (tmp_path / "runs").exists()
    assert default.returncode == 2
    assert default.says("on OPC UA server on opc.tcp://127.0.0.1:4840; the first starts when")
    assert "'nope' is not a case of this scenario" in " ".join(default.stderr.split())
