"""The plant served over OPC UA: what a controller (an asyncua client) sees, may write and is
refused, in plain mode on loopback and with Basic256Sha256 and passwords."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import socket
import stat
import subprocess
import sys
import time

import pytest
from asyncua import Client, ua
from asyncua.common.utils import create_nonce
from conftest import ROOT

import twin
from twin.control.opcua import OpcuaServerLink
from twin.control.opcua_common import application_certificate
from twin.control.opcua_users import add_user
from twin.errors import TwinError
from twin.scenario.tags import Tag

SORTING = list(twin.load(ROOT / "scenarios/sorting_station/sorting_station.yaml").tags)
# The sorting station's tags are all bools: number tags of every type beside them.
NUMBERS = [
    Tag("robot.program", "robot", "program", "actuator", "int16", "robot_program"),
    Tag("heater.setpoint", "heater", "setpoint", "actuator", "float32", "heater_sp"),
    Tag("b1.level", "b1", "level", "sensor", "uint16", "b1_level"),
    Tag("m1.count", "m1", "count", "sensor", "int32", "m1_count"),
    Tag("oven.temperature", "oven", "temperature", "sensor", "float32", "oven_t"),
]
TAGS = SORTING + NUMBERS
SENSORS = {tag.name: tag.safe_value for tag in TAGS if tag.is_sensor}


def free_port() -> int:
    """A port nobody listens on, below the range the system hands to outgoing connections
    (which tests running beside these open by the thousand, and might take in between)."""
    for port in random.sample(range(20000, 32000), 100):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port in 20000..31999")


@pytest.fixture(scope="module")
def served():
    link = OpcuaServerLink(TAGS, f"opc.tcp://127.0.0.1:{free_port()}")
    link.start()
    yield link
    link.close()


@pytest.fixture
def plant(served):
    """The plain server with every sensor off and nothing left from the tests before."""
    served.exchange(SENSORS)
    served.drain_events()
    return served


def as_controller(link: OpcuaServerLink, story):
    """Run ``story(client, node)`` as an anonymous controller connected to ``link``; ``node``
    finds a tag's node through the namespace index the server gives for urn:twin:plant."""

    async def session():
        async with Client(link.endpoint, timeout=5) as client:
            index = await client.get_namespace_index("urn:twin:plant")
            return await story(client, lambda name: client.get_node(f"ns={index};s={name}"))

    return asyncio.run(session())


def typed(value, kind: ua.VariantType) -> ua.DataValue:
    return ua.DataValue(ua.Variant(value, kind))


async def refusal(node, datavalue: ua.DataValue) -> str | None:
    """The status a write is answered with, by name; None when it was taken."""
    try:
        await node.write_value(datavalue)
    except ua.UaStatusCodeError as error:
        return type(error).__name__
    return None


@pytest.mark.slow
def test_a_controller_reads_the_sensors_and_its_actuators_reach_the_next_exchange(plant):
    actuators = plant.exchange({**SENSORS, "belt.check": True, "m1.count": 70000})
    assert actuators["belt.run"] is False and actuators["robot.program"] == 0

    async def story(client, node):
        seen = await client.read_values([node("belt.check"), node("belt.tall"), node("m1.count")])
        await node("belt.run").write_value(typed(True, ua.VariantType.Boolean))
        await node("robot.program").write_value(typed(3, ua.VariantType.Int16))
        await node("heater.setpoint").write_value(typed(180.5, ua.VariantType.Float))
        return seen

    assert as_controller(plant, story) == [True, False, 70000]
    actuators = plant.exchange(SENSORS)
    assert actuators["belt.run"] is True
    assert actuators["robot.program"] == 3
    assert actuators["heater.setpoint"] == 180.5
    assert actuators["push_tall.extend"] is False


@pytest.mark.slow
def test_tags_sit_in_a_folder_per_element_under_plant_in_the_namespace_found_by_uri(plant):
    async def story(client, node):
        index = await client.get_namespace_index("urn:twin:plant")
        namespaces = await client.get_namespace_array()
        path = [f"{index}:Plant", f"{index}:belt", f"{index}:run"]
        found = await client.nodes.objects.get_child(path)
        folders = await client.nodes.objects.get_child(f"{index}:Plant")
        children = await folders.get_children()
        names = sorted([(await child.read_browse_name()).Name for child in children])
        return namespaces[index], found.nodeid, names

    uri, nodeid, folders = as_controller(plant, story)
    assert uri == "urn:twin:plant"
    assert nodeid == ua.NodeId("belt.run", plant.namespace_index)
    assert folders == sorted(
        ["belt", "push_tall", "push_flat", "panel", "robot", "heater", "b1", "m1", "oven"]
    )


@pytest.mark.slow
def test_each_tag_type_has_its_opcua_type(plant):
    expected = {
        "belt.run": ua.VariantType.Boolean,
        "robot.program": ua.VariantType.Int16,
        "b1.level": ua.VariantType.UInt16,
        "m1.count": ua.VariantType.Int32,
        "heater.setpoint": ua.VariantType.Float,
        "oven.temperature": ua.VariantType.Float,
    }

    async def story(client, node):
        found = {}
        for name in expected:
            datatype = await node(name).read_data_type()
            variant = (await node(name).read_data_value()).Value.VariantType
            found[name] = (ua.VariantType(datatype.Identifier), variant)
        return found

    assert as_controller(plant, story) == {name: (kind, kind) for name, kind in expected.items()}


@pytest.mark.slow
def test_a_subscribed_controller_hears_a_sensor_change_published_by_an_exchange(plant):
    async def story(client, node):
        changes: asyncio.Queue = asyncio.Queue()

        class Handler:
            def datachange_notification(self, _node, value, _data):
                changes.put_nowait(value)

        subscription = await client.create_subscription(20, Handler())
        await subscription.subscribe_data_change(node("belt.at_tall"))
        first = await asyncio.wait_for(changes.get(), 5)
        plant.exchange({**SENSORS, "belt.at_tall": True})
        second = await asyncio.wait_for(changes.get(), 5)
        return first, second

    assert as_controller(plant, story) == (False, True)


@pytest.mark.slow
def test_writing_a_sensor_is_refused_and_told_once(plant):
    plant.exchange({**SENSORS, "belt.check": True})

    async def story(client, node):
        answers = [
            await refusal(node("belt.check"), typed(False, ua.VariantType.Boolean))
            for _ in range(3)
        ]
        return answers, await node("belt.check").read_value()

    answers, value = as_controller(plant, story)
    assert answers == ["BadNotWritable"] * 3
    assert value is True  # the plant's value stands
    refused = [event for event in plant.drain_events() if event.kind == "request_refused"]
    assert [event.detail for event in refused] == ["write to belt.check refused: BadNotWritable"]


@pytest.mark.slow
def test_a_value_of_the_wrong_type_is_refused_with_bad_type_mismatch(plant):
    async def story(client, node):
        program, setpoint = node("robot.program"), node("heater.setpoint")
        await program.write_value(typed(2, ua.VariantType.Int16))
        answers = {
            "Float to Int16": await refusal(program, typed(1.0, ua.VariantType.Float)),
            "Int32 to Int16": await refusal(program, typed(1, ua.VariantType.Int32)),
            "Double to Float": await refusal(setpoint, typed(1.0, ua.VariantType.Double)),
            "a null": await refusal(program, ua.DataValue()),
            "a bad status": await refusal(
                program, ua.DataValue(StatusCode=ua.StatusCode(ua.StatusCodes.BadSensorFailure))
            ),
            "an array": await refusal(program, typed([1, 2], ua.VariantType.Int16)),
            "NaN": await refusal(setpoint, typed(float("nan"), ua.VariantType.Float)),
        }
        return answers, await program.read_value()

    answers, program = as_controller(plant, story)
    assert answers == {
        "Float to Int16": "BadTypeMismatch",
        "Int32 to Int16": "BadTypeMismatch",
        "Double to Float": "BadTypeMismatch",
        "a null": "BadTypeMismatch",
        "a bad status": "BadWriteNotSupported",
        "an array": "BadTypeMismatch",
        "NaN": "BadOutOfRange",
    }
    assert program == 2
    assert plant.exchange(SENSORS)["robot.program"] == 2


@pytest.mark.slow
def test_sessions_are_told_as_events_and_every_request_counts_as_heard(plant):
    before = time.monotonic()

    async def story(client, node):
        await node("belt.check").read_value()
        return plant.last_heard_s()

    heard_during = as_controller(plant, story)
    assert heard_during >= before
    events = plant.drain_events()
    assert [event.kind for event in events] == ["controller_connected", "controller_disconnected"]
    assert events[0].peer.startswith("127.0.0.1:") and events[0].detail == "anonymous"
    assert plant.drain_events() == []
    with pytest.raises(KeyError, match=r"'belt\.run' is not a sensor"):
        plant.exchange({"belt.run": True})


def test_a_plain_server_binds_to_loopback_only():
    with pytest.raises(
        TwinError,
        match=r"0\.0\.0\.0 without encryption and login.*"
        r"--opcua-security sign-and-encrypt --opcua-users FILE",
    ):
        OpcuaServerLink(TAGS, "opc.tcp://0.0.0.0:4840")
    with pytest.raises(TwinError, match=r"--opcua-security sign-and-encrypt"):
        OpcuaServerLink(TAGS, "opc.tcp://10.0.0.5:4840", users_file="users.txt")


def test_encryption_without_users_is_refused_as_nobody_could_log_in(tmp_path):
    with pytest.raises(TwinError, match=r"add --opcua-users FILE"):
        OpcuaServerLink(TAGS, security="sign-and-encrypt", certificate_folder=tmp_path)


def test_a_taken_port_is_told_with_the_endpoint():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        endpoint = f"opc.tcp://127.0.0.1:{taken.getsockname()[1]}"
        link = OpcuaServerLink(TAGS, endpoint)
        with pytest.raises(TwinError, match=rf"cannot serve OPC UA on {endpoint}: .*another port"):
            link.start()
    link.close()
    link.close()  # twice is fine


def test_exchanging_before_the_start_is_a_mistake_said_as_such():
    link = OpcuaServerLink(TAGS, f"opc.tcp://127.0.0.1:{free_port()}")
    with pytest.raises(RuntimeError, match=r"start\(\) it first"):
        link.exchange({})


# -- security: Basic256Sha256 SignAndEncrypt and a password, the controller in a process of
# its own -------------------------------------------------------------------------------------

CONTROLLER = r"""
import asyncio, hashlib, json, sys
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

url, certificate, key, user, password = sys.argv[1:6]

def say(**fields):
    print(json.dumps(fields), flush=True)

async def client(user=None, password=None):
    client = Client(url, timeout=10)
    client.application_uri = "urn:twin:test:controller"
    await client.set_security(SecurityPolicyBasic256Sha256, certificate, key,
                              mode=ua.MessageSecurityMode.SignAndEncrypt)
    if user:
        client.set_user(user)
        client.set_password(password)
    return client

async def answer(user, password):
    attempt = await client(user, password)
    try:
        await attempt.connect()
    except ua.UaStatusCodeError as error:
        return type(error).__name__
    await attempt.disconnect()
    return "accepted"

async def refusal(node, value, kind):
    try:
        await node.write_value(ua.DataValue(ua.Variant(value, kind)))
    except ua.UaStatusCodeError as error:
        return type(error).__name__
    return "accepted"

async def main():
    say(wrong_password=await answer(user, password + "x"), anonymous=await answer(None, None))
    controller = await client(user, password)
    await controller.connect()
    try:
        index = await controller.get_namespace_index("urn:twin:plant")
        node = lambda name: controller.get_node(f"ns={index};s={name}")
        check = await node("belt.check").read_value()
        await node("belt.run").write_value(ua.DataValue(ua.Variant(True, ua.VariantType.Boolean)))
        changes = asyncio.Queue()
        class Handler:
            def datachange_notification(self, node, value, data):
                changes.put_nowait(value)
        subscription = await controller.create_subscription(20, Handler())
        await subscription.subscribe_data_change(node("belt.at_tall"))
        say(check=check,
            sensor_write=await refusal(node("belt.check"), False, ua.VariantType.Boolean),
            float_to_int16=await refusal(node("robot.program"), 1.5, ua.VariantType.Float),
            subscribed=await asyncio.wait_for(changes.get(), 10),
            server_thumbprint=hashlib.sha1(controller.security_policy.peer_certificate).hexdigest())
        sys.stdin.readline()  # the plant has published a change
        say(changed=await asyncio.wait_for(changes.get(), 10))
    finally:
        await controller.disconnect()

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    folder = tmp_path_factory.mktemp("opcua")
    add_user(folder / "users.txt", "operator", "correct horse")
    link = OpcuaServerLink(
        TAGS,
        f"opc.tcp://127.0.0.1:{free_port()}",
        security="sign-and-encrypt",
        users_file=folder / "users.txt",
        certificate_folder=folder / "certificates",
    )
    link.start()
    yield link
    link.close()


@pytest.mark.slow
def test_a_controller_with_basic256sha256_and_a_password_reads_writes_and_subscribes(
    secured, tmp_path
):
    secured.exchange({**SENSORS, "belt.check": True})
    secured.drain_events()
    own = application_certificate(tmp_path, "client", "urn:twin:test:controller", [])
    controller = subprocess.Popen(
        [sys.executable, "-c", CONTROLLER, secured.endpoint, str(own.certificate_path),
         str(own.key_path), "operator", "correct horse"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        refused = json.loads(controller.stdout.readline())
        assert refused == {"wrong_password": "BadUserAccessDenied",
                           "anonymous": "BadIdentityTokenRejected"}  # fmt: skip
        session = json.loads(controller.stdout.readline())
        assert session == {
            "check": True,
            "sensor_write": "BadNotWritable",
            "float_to_int16": "BadTypeMismatch",
            "subscribed": False,
            "server_thumbprint": secured.certificate.thumbprint,
        }
        assert secured.exchange({**SENSORS, "belt.at_tall": True})["belt.run"] is True
        controller.stdin.write("published\n")
        controller.stdin.flush()
        assert json.loads(controller.stdout.readline()) == {"changed": True}
        assert controller.wait(30) == 0
    finally:
        controller.kill()
    events = [(event.kind, event.detail) for event in secured.drain_events()]
    assert events == [
        ("request_refused", "login of user 'operator' refused: BadUserAccessDenied"),
        ("request_refused", "login of an anonymous client refused: BadIdentityTokenRejected"),
        ("controller_connected", "user operator"),
        ("request_refused", "write to belt.check refused: BadNotWritable"),
        ("request_refused", "write to robot.program refused: BadTypeMismatch"),
        ("controller_disconnected", "session closed"),
    ]


@pytest.mark.slow
def test_no_session_is_given_over_an_unencrypted_channel_even_with_the_password(secured):
    # asyncua opens an unencrypted channel to anyone (for the endpoint list) and would let a
    # session be activated on it; a client that skips its own endpoint check tries exactly that.
    async def rogue():
        client = Client(secured.endpoint, timeout=5)
        await client.connect_socket()
        try:
            await client.send_hello()
            await client.open_secure_channel()
            request = ua.CreateSessionParameters(
                ClientNonce=create_nonce(32),
                ClientDescription=ua.ApplicationDescription(
                    ApplicationUri="urn:rogue", ApplicationType=ua.ApplicationType.Client
                ),
                EndpointUrl=secured.endpoint,
                SessionName="rogue",
                RequestedSessionTimeout=10_000,
            )
            client._server_nonce = (await client.uaclient.create_session(request)).ServerNonce
            try:
                await client.activate_session(username="operator", password="correct horse")
            except ua.UaStatusCodeError as error:
                return type(error).__name__
            return "activated"
        finally:
            client.disconnect_socket()

    secured.drain_events()
    assert asyncio.run(rogue()) == "BadSecurityModeRejected"
    [event] = secured.drain_events()
    assert event.kind == "request_refused" and "BadSecurityModeRejected" in event.detail


@pytest.mark.slow
def test_the_server_certificate_is_made_once_and_used_again(secured):
    folder = secured.certificate_folder
    assert stat.S_IMODE((folder / "server_key.pem").stat().st_mode) == 0o600
    der = (folder / "server_cert.der").read_bytes()
    assert hashlib.sha1(der).hexdigest() == secured.certificate.thumbprint
    again = OpcuaServerLink(
        TAGS,
        f"opc.tcp://127.0.0.1:{free_port()}",
        security="sign-and-encrypt",
        users_file=secured.users_file,
        certificate_folder=folder,
    )
    again.start()
    started = time.monotonic()
    again.close()
    closing_s = time.monotonic() - started
    assert again.certificate.thumbprint == secured.certificate.thumbprint
    assert (folder / "server_cert.der").read_bytes() == der
    assert closing_s < 0.5
