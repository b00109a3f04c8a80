"""Record every PyBullet call twin makes in a run, and replay the calls bare in a tight loop.

The replay is the literal "bare PyBullet stepping the same scene in the same process": the same
loads, the same queries (contacts, rays, velocities, joint states: a script without twin needs
them too to drive the belts, switch the barriers and see the arms arrive; their results are not
used), the same writes (velocities, motor commands, constraints, parts made and removed) and
every ``stepSimulation``, one after another with nothing else in between.

Recording: for one run, every module of twin that holds the ``pybullet`` module as a global
gets a copy of it in which every function calls PyBullet, then appends (name, a copy of the
arguments, the id a creating call returned) to one list. Replay: a fresh DIRECT client; client
ids and the ids PyBullet hands out (bodies, collision and visual shapes, constraints) are mapped
from the recorded run's to the replay's.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import struct
import sys
import time
import types
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

import twin.physics.world as world_module

pybullet = world_module.p
# twin's modules that call PyBullet (``grep -rn "import pybullet" twin``) and those that reach
# it through them, imported before any recording: a module imported during one would bind the
# real pybullet module (the check at the end of ``routed`` catches that).
TWIN_MODULES = (
    "twin.physics.world",
    "twin.physics.robot.arm",
    "twin.physics.robot.grippers",
    "twin.physics.robot.kinematics",
    "twin.physics.robot.pick_place",
    "twin.physics.sensors",
    "twin.physics.belt",
    "twin.physics.actuators",
    "twin.plant.bodies",
    "twin.plant.belt_cell",
    "twin.plant.robot_cell",
    "twin.plant.pusher_cell",
    "twin.plant.poses",
    "twin.plant.clock",
)
for _name in TWIN_MODULES:
    importlib.import_module(_name)

BODY, SHAPE, VISUAL, CONSTRAINT = "body", "collision shape", "visual shape", "constraint"
# Calls that hand out an id, and of what.
CREATES = {
    "loadURDF": BODY,
    "createMultiBody": BODY,
    "createCollisionShape": SHAPE,
    "createCollisionShapeArray": SHAPE,
    "createVisualShape": VISUAL,
    "createVisualShapeArray": VISUAL,
    "createConstraint": CONSTRAINT,
}
# Where ids are passed: (positional index -> kind, keyword -> kind). A function not named here
# nor in NO_IDS takes a body as its first argument (bodyUniqueId / objectUniqueId).
ID_ARGUMENTS: dict[str, tuple[dict[int, str], dict[str, str]]] = {
    "createMultiBody": (
        {1: SHAPE, 2: VISUAL},
        {"baseCollisionShapeIndex": SHAPE, "baseVisualShapeIndex": VISUAL},
    ),
    "createConstraint": (
        {0: BODY, 2: BODY},
        {"parentBodyUniqueId": BODY, "childBodyUniqueId": BODY},
    ),
    "changeConstraint": ({0: CONSTRAINT}, {"userConstraintUniqueId": CONSTRAINT}),
    "removeConstraint": ({0: CONSTRAINT}, {"userConstraintUniqueId": CONSTRAINT}),
    "setCollisionFilterPair": ({0: BODY, 1: BODY}, {"bodyUniqueIdA": BODY, "bodyUniqueIdB": BODY}),
    "getContactPoints": ({0: BODY, 1: BODY}, {"bodyA": BODY, "bodyB": BODY}),
    "getClosestPoints": ({0: BODY, 1: BODY}, {"bodyA": BODY, "bodyB": BODY}),
}
FIRST_BODY = ({0: BODY}, {"bodyUniqueId": BODY, "objectUniqueId": BODY})
NO_IDS = frozenset(
    {
        "connect",
        "setAdditionalSearchPath",
        "setGravity",
        "setTimeStep",
        "setPhysicsEngineParameter",
        "stepSimulation",
        "createCollisionShape",
        "createCollisionShapeArray",
        "createVisualShape",
        "createVisualShapeArray",
        "loadURDF",
        "rayTest",
        "rayTestBatch",
        "getQuaternionFromEuler",
        "getEulerFromQuaternion",
        "getMatrixFromQuaternion",
        "multiplyTransforms",
        "invertTransform",
        "rotateVector",
        "getNumBodies",
    }
)
TWIN_PREFIX = "twin."


@dataclass
class Recording:
    """The calls of one run, in order: (name, args, kwargs, what a creating call returned)."""

    calls: list[tuple[str, tuple, dict, object]] = field(default_factory=list)
    run_from: int = 0  # calls before this index built the scene; the run's start here
    run_steps: int = 0  # stepSimulation calls in the run
    routed: list[str] = field(default_factory=list)  # the module globals that were recorded

    def counts(self, run_only: bool = True) -> Counter:
        calls = self.calls[self.run_from :] if run_only else self.calls
        return Counter(name for name, *_ in calls)


_IMMUTABLE = (int, float, bool, str, bytes, type(None))


def _frozen(value):
    """``value`` as it is now: a copy of anything the caller might change after the call."""
    if isinstance(value, _IMMUTABLE):
        return value
    if isinstance(value, tuple) and all(isinstance(v, _IMMUTABLE) for v in value):
        return value
    return copy.deepcopy(value)


def _twin_modules() -> list[types.ModuleType]:
    """Every loaded module of twin that reaches PyBullet through a global."""
    return [
        module
        for name, module in list(sys.modules.items())
        if (name == "twin" or name.startswith(TWIN_PREFIX))
        and module is not None
        and any(value is pybullet for value in vars(module).values())
    ]


@contextmanager
def routed(proxy: types.ModuleType):
    """Every twin module's global that names the pybullet module names ``proxy`` meanwhile."""
    saved = []
    for module in _twin_modules():
        for name, value in list(vars(module).items()):
            if value is pybullet:
                saved.append((module, name))
                setattr(module, name, proxy)
    try:
        yield [f"{module.__name__}.{name}" for module, name in saved]
    finally:
        for module, name in saved:
            setattr(module, name, pybullet)
    missed = {module.__name__ for module in _twin_modules()} - {m.__name__ for m, _ in saved}
    if missed:
        raise RuntimeError(
            f"{', '.join(sorted(missed))} reached PyBullet unrecorded (imported meanwhile): "
            "add to TWIN_MODULES"
        )


@contextmanager
def recording():
    """Record every PyBullet call twin's modules make meanwhile (build and run alike)."""
    record = Recording()
    calls = record.calls
    proxy = types.ModuleType(pybullet.__name__)
    proxy.__dict__.update(pybullet.__dict__)

    def recorder(name, function):
        creates = name in CREATES or name == "connect"

        def call(*args, **kwargs):
            result = function(*args, **kwargs)
            calls.append(
                (
                    name,
                    tuple(_frozen(a) for a in args),
                    {k: _frozen(v) for k, v in kwargs.items()},
                    result if creates else None,
                )
            )
            return result

        return call

    for name, value in pybullet.__dict__.items():
        if isinstance(value, types.BuiltinFunctionType):
            setattr(proxy, name, recorder(name, value))
    with routed(proxy) as names:
        record.routed = names
        yield record
    record.run_steps = sum(
        1 for name, *_ in record.calls[record.run_from :] if name == "stepSimulation"
    )


def mark_run_start(record: Recording) -> None:
    record.run_from = len(record.calls)


# Replay ------------------------------------------------------------------------------------


def state_hash(client: int) -> tuple[str, int]:
    """A hash of every body's base pose and velocity and every joint's position and velocity,
    in body id order, as exact doubles; and the number of bodies."""
    p = pybullet
    digest = hashlib.sha256()
    bodies = sorted(
        p.getBodyUniqueId(i, physicsClientId=client)
        for i in range(p.getNumBodies(physicsClientId=client))
    )
    for body in bodies:
        position, orientation = p.getBasePositionAndOrientation(body, physicsClientId=client)
        linear, angular = p.getBaseVelocity(body, physicsClientId=client)
        digest.update(struct.pack("i13d", body, *position, *orientation, *linear, *angular))
        joints = p.getNumJoints(body, physicsClientId=client)
        if joints:
            for state in p.getJointStates(body, list(range(joints)), physicsClientId=client):
                digest.update(struct.pack("2d", state[0], state[1]))
    return digest.hexdigest(), len(bodies)


def _id_arguments(name: str):
    if name in NO_IDS:
        return {}, {}
    return ID_ARGUMENTS.get(name, FIRST_BODY)


def _translate(name, args, kwargs, ids, clients):
    """The call with the recorded run's ids replaced by the replay's."""
    positions, keywords = _id_arguments(name)
    if positions and args:
        args = list(args)
        for index, kind in positions.items():
            if index < len(args) and isinstance(args[index], int) and args[index] >= 0:
                args[index] = ids[kind].get(args[index], args[index])
        args = tuple(args)
    if kwargs:
        kwargs = dict(kwargs)
        for key, kind in keywords.items():
            value = kwargs.get(key)
            if isinstance(value, int) and value >= 0:
                kwargs[key] = ids[kind].get(value, value)
        if "physicsClientId" in kwargs:
            kwargs["physicsClientId"] = clients[kwargs["physicsClientId"]]
    return args, kwargs


@dataclass
class Prepared:
    """A recording made ready to replay: the build's calls and the run's, as (function, args,
    kwargs), ids translated for a client of a given id."""

    client: int
    build: list
    run: list
    verified: VerifiedReplay


@dataclass
class VerifiedReplay:
    """What the first (checked) replay found."""

    ids_equal: bool  # the replay's ids were the recorded ones
    id_mismatches: int
    created: Counter  # ids handed out, by kind
    state_hash: str
    bodies: int
    seconds_by_call: dict[str, float]  # the run's calls per function, timed call by call


def prepare(record: Recording) -> Prepared:
    """Replay ``record`` once against a fresh client, mapping ids as they are handed out and
    timing each function; keep the translated calls for the timed replays."""
    p = pybullet
    client = p.connect(p.DIRECT)
    clients: dict[int, int] = {}
    ids: dict[str, dict[int, int]] = defaultdict(dict)
    created: Counter = Counter()
    mismatches = 0
    seconds: dict[str, float] = defaultdict(float)
    translated = []
    clock = time.perf_counter
    try:
        for index, (name, args, kwargs, result) in enumerate(record.calls):
            if name == "connect":
                clients[result] = client
                translated.append(None)
                continue
            args, kwargs = _translate(name, args, kwargs, ids, clients)
            function = getattr(p, name)
            start = clock()
            returned = function(*args, **kwargs)
            if index >= record.run_from:
                seconds[name] += clock() - start
            kind = CREATES.get(name)
            if kind is not None:
                ids[kind][result] = returned
                created[kind] += 1
                mismatches += returned != result
            translated.append((function, args, kwargs))
        digest, bodies = state_hash(client)
    finally:
        p.disconnect(physicsClientId=client)
    verified = VerifiedReplay(
        ids_equal=mismatches == 0,
        id_mismatches=mismatches,
        created=created,
        state_hash=digest,
        bodies=bodies,
        seconds_by_call=dict(seconds),
    )
    build = [call for call in translated[: record.run_from] if call is not None]
    run = [call for call in translated[record.run_from :] if call is not None]
    return Prepared(client=client, build=build, run=run, verified=verified)


def _for_client(calls: list, old: int, new: int) -> list:
    if old == new:
        return calls
    out = []
    for function, args, kwargs in calls:
        if kwargs.get("physicsClientId") == old:
            kwargs = {**kwargs, "physicsClientId": new}
        out.append((function, args, kwargs))
    return out


@dataclass
class Replay:
    build_s: float
    run_s: float  # the run's calls, back to back
    step_s: float  # the part of run_s inside stepSimulation
    state_hash: str

    @property
    def per_physics(self) -> float:
        """Wall time per unit of physics: run_s / step_s (drift in machine speed cancels)."""
        return self.run_s / self.step_s


def replay(prepared: Prepared) -> Replay:
    """Replay the build's calls, then time the run's calls in a tight loop; the state hash at
    the end. ``stepSimulation`` is timed call by call as in twin's timed runs (two clock reads
    per step; every other call costs one identity test more than a loop with no timers)."""
    p = pybullet
    clock = time.perf_counter
    client = p.connect(p.DIRECT)
    try:
        build = _for_client(prepared.build, prepared.client, client)
        run = _for_client(prepared.run, prepared.client, client)
        start = clock()
        for function, args, kwargs in build:
            function(*args, **kwargs)
        build_s = clock() - start
        step = p.stepSimulation
        step_s = 0.0
        start = clock()
        for function, args, kwargs in run:
            if function is step:
                step_start = clock()
                function(*args, **kwargs)
                step_s += clock() - step_start
            else:
                function(*args, **kwargs)
        run_s = clock() - start
        digest, _ = state_hash(client)
    finally:
        p.disconnect(physicsClientId=client)
    return Replay(build_s=build_s, run_s=run_s, step_s=step_s, state_hash=digest)
