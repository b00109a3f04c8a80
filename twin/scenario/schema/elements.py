"""The elements of a line and the flow between them: element specs, part types, branches."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, field_validator, model_validator

from twin.distributions import Distribution
from twin.scenario.schema.fields import (
    Dist,
    Duration,
    FailureDist,
    FieldError,
    _location,
    _optional,
    _point,
    _positive_measure,
    _Strict,
    _whole_number,
)
from twin.units import format_duration


class Failures(_Strict):
    mtbf: FailureDist
    mttr: FailureDist

    _if_missing: ClassVar[dict[str, str]] = {
        "mtbf": "failures need both, e.g. {mtbf: 4h, mttr: 10min}",
        "mttr": "failures need both, e.g. {mtbf: 4h, mttr: 10min}",
    }
    _what: ClassVar[str] = "failures"
    _example: ClassVar[str] = "{mtbf: 4h, mttr: 10min}"

    @field_validator("mtbf")
    @classmethod
    def _positive_mtbf(cls, value: Distribution) -> Distribution:
        if value.mean_s <= 0:
            raise ValueError(
                f"mtbf with a mean of {format_duration(value.mean_s)} is not allowed; "
                "a station runs some time between failures, e.g. mtbf: 4h"
            )
        return value


class Setup(_Strict):
    time: Dist
    every: Annotated[
        int,
        BeforeValidator(
            _whole_number(
                "every",
                1,
                "a setup comes once every 1 or more parts, e.g. every: 10",
                "a setup comes once every whole number of parts, 1 or more, e.g. every: 10",
            )
        ),
    ] = 1

    _if_missing: ClassVar[dict[str, str]] = {
        "time": "a setup needs a time, e.g. setup: {time: 5min, every: 10}"
    }

    @model_validator(mode="before")
    @classmethod
    def _plain_time(cls, data: Any) -> Any:
        # `setup: 30s` is the common short form: a setup before every part.
        if not (isinstance(data, dict) and data.keys() & {"time", "every"}):
            return {"time": data}
        return data


class SourceSpec(_Strict):
    """Creates parts; without `interarrival` it is saturated (a part is always ready)."""

    type: Literal["source"]
    interarrival: Dist | None = None
    # A part type from the scenario's `parts`, or a mix of them by weight ({tall: 1, flat: 3}).
    part: str | dict[str, float] | None = None
    limit: Annotated[
        int | None,
        BeforeValidator(
            _optional(
                _whole_number(
                    "limit",
                    1,
                    "a source creates 1 or more parts (leave limit out for no limit)",
                    "a source creates a whole number of parts, 1 or more "
                    "(leave limit out for no limit)",
                )
            )
        ),
    ] = None

    @field_validator("part")
    @classmethod
    def _weights(cls, value: Any) -> Any:
        if isinstance(value, dict):
            if not value:
                raise ValueError("part {} names no part type; give one, e.g. part: box")
            for name, weight in value.items():
                if not math.isfinite(weight) or weight <= 0:
                    raise ValueError(
                        f"weight {weight:g} for part type {name!r} is not allowed; "
                        "a weight is more than 0"
                    )
        return value

    @field_validator("interarrival")
    @classmethod
    def _positive_mean(cls, value: Distribution | None) -> Distribution | None:
        if value is not None and value.mean_s <= 0:
            raise ValueError(
                "a mean interarrival time of 0 is not allowed; omit interarrival "
                "for a saturated source"
            )
        return value


class StationSpec(_Strict):
    """A machine processing up to `capacity` parts at once, blocking after service."""

    type: Literal["station"]
    process: Dist
    capacity: Annotated[
        int,
        BeforeValidator(
            _whole_number(
                "capacity",
                1,
                "a station processes 1 or more parts at once",
                "a station processes a whole number of parts, 1 or more",
                name_first=False,
            )
        ),
    ] = 1
    failures: Failures | None = None
    setup: Setup | None = None

    _if_missing: ClassVar[dict[str, str]] = {
        "process": "a station needs a process time, e.g. process: {exponential: 50s}"
    }


class BufferSpec(_Strict):
    """A finite FIFO queue (capacity 0: a direct hand-over, `inf`: unlimited)."""

    type: Literal["buffer"]
    capacity: float

    _if_missing: ClassVar[dict[str, str]] = {
        "capacity": "a buffer needs a capacity, e.g. capacity: 5 (or inf for no limit)"
    }

    @field_validator("capacity", mode="before")
    @classmethod
    def _capacity(cls, value: Any) -> float:
        if isinstance(value, str) and value.strip().lower() in {"inf", "unlimited"}:
            return math.inf
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or math.isnan(value)
            or (not math.isinf(value) and value != int(value))
        ):
            raise ValueError(
                f"{value!r} is not allowed; a buffer holds a whole number of parts "
                "(0 or more) or 'inf'"
            )
        if value < 0:
            raise ValueError(f"{value} is not allowed; a buffer holds 0 or more parts")
        return float(value)


class BarrierSpec(_Strict):
    """A light barrier across a physics belt: ``at`` metres from its start, the beam
    ``height`` metres above the belt surface (it sees only parts taller than that)."""

    at_m: Annotated[
        float,
        BeforeValidator(_positive_measure("at", "metres", "a barrier stands on the belt", "at: 1")),
    ] = Field(alias="at")
    height_m: Annotated[
        float,
        BeforeValidator(
            _positive_measure("height", "metres", "a beam is above the belt", "height: 0.05")
        ),
    ] = Field(default=0.02, alias="height")

    _if_missing: ClassVar[dict[str, str]] = {
        "at": "a light barrier needs its place along the belt, e.g. {at: 1.2, height: 0.08}"
    }


class ConveyorSpec(_Strict):
    """An accumulating belt: travel time length/speed, at most `capacity` parts on it."""

    type: Literal["conveyor"]
    length_m: Annotated[
        float,
        BeforeValidator(
            _positive_measure("length", "metres", "a conveyor is more than 0 m long", "length: 6")
        ),
    ] = Field(alias="length")
    speed_m_per_s: Annotated[
        float,
        BeforeValidator(
            _positive_measure("speed", "m/s", "a conveyor moves at more than 0 m/s", "speed: 0.5")
        ),
    ] = Field(alias="speed")
    capacity: Annotated[
        int,
        BeforeValidator(
            _whole_number(
                "capacity",
                1,
                "a conveyor carries 1 or more parts",
                "a conveyor carries a whole number of parts, 1 or more",
                name_first=False,
            )
        ),
    ]

    fidelity: Literal["physics", "timed"] = "timed"
    # Where a physics belt stands: the middle of its start edge at its top surface, and
    # its heading; unused when timed.
    start_m: Annotated[
        tuple[float, float, float] | None,
        BeforeValidator(lambda v: v if v is None else _point("start")(v)),
    ] = Field(default=None, alias="start")
    yaw_deg: float = Field(default=0.0, alias="yaw")
    width_m: float = Field(default=0.4, alias="width", gt=0)
    # Extra light barriers across a physics belt, each a signal of the conveyor.
    sensors: dict[str, BarrierSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _placed_when_physical(self) -> ConveyorSpec:
        if self.fidelity == "physics" and self.start_m is None:
            raise FieldError(
                "a physics conveyor needs start: [x, y, z], the middle of its start edge at "
                "the height of its top surface, in metres",
                at=("start",),
            )
        for name, barrier in self.sensors.items():
            if self.fidelity != "physics":
                raise FieldError(
                    "light barriers need a physics belt; add fidelity: physics and start",
                    at=("sensors", name),
                )
            if name in {"entry", "exit", "run", "reverse"}:
                raise FieldError(
                    f"{name!r} is a built-in signal of a conveyor; give the barrier another name",
                    at=("sensors", name),
                )
            if not 0 < barrier.at_m < self.length_m:
                raise FieldError(
                    f"at {barrier.at_m:g} m is not on the belt; give 0 < at < length "
                    f"({self.length_m:g} m)",
                    at=("sensors", name, "at"),
                )
        return self

    _if_missing: ClassVar[dict[str, str]] = dict.fromkeys(
        ("length", "speed", "capacity"),
        "a conveyor needs length, speed and capacity, "
        "e.g. {type: conveyor, length: 6, speed: 0.5, capacity: 10}",
    )

    @property
    def travel_s(self) -> float:
        return self.length_m / self.speed_m_per_s


class SinkSpec(_Strict):
    """Takes every finished part out of the line."""

    type: Literal["sink"]


class RobotSpec(_Strict):
    """A pick-and-place robot: its cycle time comes from physics, or from `cycle` when timed."""

    type: Literal["robot"]
    model: str = "kuka_iiwa"
    base_m: Annotated[tuple[float, float, float], BeforeValidator(_point("base"))] = Field(
        default=(0.0, 0.0, 0.0), alias="base"
    )
    yaw_deg: float = Field(default=0.0, alias="yaw")
    pick: Annotated[Any, BeforeValidator(_location("pick", "upstream"))] = "upstream"
    place: Annotated[Any, BeforeValidator(_location("place", "downstream"))] = "downstream"
    joint_speed_rad_per_s: Annotated[
        float,
        BeforeValidator(
            _positive_measure(
                "joint_speed", "rad/s", "a joint speed limit is more than 0", "joint_speed: 1.5"
            )
        ),
    ] = Field(default=1.0, alias="joint_speed")
    gripper: Literal["suction", "parallel"] = "suction"
    fidelity: Literal["physics", "timed"] = "physics"
    cycle: Dist | None = None
    failures: Failures | None = None


class PusherSpec(_Strict):
    """A pusher beside a physics belt that sweeps parts off it, into the element it feeds
    (a chute, modelled as a sink)."""

    type: Literal["pusher"]
    belt: str  # the physics conveyor it stands beside
    at_m: Annotated[
        float,
        BeforeValidator(_positive_measure("at", "metres", "a pusher stands on the belt", "at: 1")),
    ] = Field(alias="at")
    side: Literal["left", "right"] = "right"  # seen looking along the belt
    stroke_m: Annotated[
        float,
        BeforeValidator(_positive_measure("stroke", "metres", "a stroke is over 0 m", "0.4")),
    ] = Field(default=0.4, alias="stroke")
    speed_m_per_s: Annotated[
        float,
        BeforeValidator(_positive_measure("speed", "m/s", "a paddle moves", "speed: 0.6")),
    ] = Field(default=0.6, alias="speed")

    _if_missing: ClassVar[dict[str, str]] = dict.fromkeys(
        ("belt", "at"),
        "a pusher needs the belt it stands by, e.g. {type: pusher, belt: infeed, at: 1.2}",
    )


class PanelAction(_Strict):
    """What the operator does at a time: press or release a button, or turn a switch
    (``{at: 5s, switch: auto, to: true}``). A press without a release lasts ``hold`` (0.5 s)."""

    at_s: Duration = Field(alias="at")
    press: str | None = None
    release: str | None = None
    switch: str | None = None
    to: bool = True
    hold_s: Duration = Field(default=0.5, alias="hold")

    _if_missing: ClassVar[dict[str, str]] = {
        "at": "an operator action needs a time, e.g. {at: 10s, press: start}"
    }

    @model_validator(mode="after")
    def _one_thing(self) -> PanelAction:
        done = [n for n in ("press", "release", "switch") if getattr(self, n) is not None]
        if len(done) != 1:
            raise FieldError(
                "an operator action does one thing: press, release or switch, "
                "e.g. {at: 10s, press: start} or {at: 1min, switch: auto, to: false}",
                about=(),
            )
        return self

    @property
    def control(self) -> str:
        return next(getattr(self, n) for n in ("press", "release", "switch") if getattr(self, n))


class PanelSpec(_Strict):
    """An operator panel: buttons and switches the operator uses, lamps and a stack light the
    controller lights, and an emergency stop that cuts every actuator."""

    type: Literal["panel"]
    buttons: list[str] = Field(default_factory=list)
    switches: list[str] = Field(default_factory=list)
    lamps: list[str] = Field(default_factory=list)
    stack_light: list[str] = Field(default_factory=list)
    estop: bool = False
    operator: list[PanelAction] = Field(default_factory=list)

    @model_validator(mode="after")
    def _controls(self) -> PanelSpec:
        names = [*self.buttons, *self.switches, *self.lamps, *self.stack_light]
        if self.estop:
            names.append("estop")
        for position, name in enumerate(names):
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise FieldError(f"{name!r} is not a control name; use letters, digits and _")
            if name in names[:position]:
                raise FieldError(f"{name!r} is named twice on the panel; give each control a name")
        for index, action in enumerate(self.operator):
            name = action.control
            usable = (
                [*self.buttons, *(["estop"] if self.estop else [])]
                if action.press or action.release
                else self.switches
            )
            if name not in usable:
                verb = "pressed" if action.press or action.release else "switched"
                can = ", ".join(usable) or "none"
                raise FieldError(
                    f"{name!r} cannot be {verb}; the panel's controls of that kind: {can}",
                    at=("operator", index),
                )
        return self


class PartTypeSpec(_Strict):
    """A kind of workpiece as a physical body (used by physics elements)."""

    size_m: Annotated[tuple[float, float, float], BeforeValidator(_point("size"))] = Field(
        default=(0.1, 0.1, 0.1), alias="size"
    )
    mass_kg: Annotated[
        float,
        BeforeValidator(_positive_measure("mass", "kg", "a part weighs more than 0", "mass: 0.5")),
    ] = Field(default=0.5, alias="mass")
    colour: tuple[float, float, float] = (0.8, 0.5, 0.2)

    @field_validator("size_m")
    @classmethod
    def _positive_size(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if min(value) <= 0:
            raise ValueError(f"size {list(value)} is not allowed; every side is more than 0 m")
        return value


ElementSpec = Annotated[
    SourceSpec
    | StationSpec
    | BufferSpec
    | ConveyorSpec
    | RobotSpec
    | SinkSpec
    | PusherSpec
    | PanelSpec,
    Field(discriminator="type"),
]
ELEMENT_TYPES = ("source", "station", "buffer", "conveyor", "robot", "sink", "pusher", "panel")
# Elements that parts do not flow through on their own: a panel holds no parts, a pusher is
# fed by the belt it stands beside.
OFF_FLOW_TYPES = ("panel",)

RULES = ("round_robin", "shortest_queue", "probability")


WEIGHT_SUM_TOLERANCE = 1e-9


def _summing_to_one(weights: Sequence[float]) -> list[str]:
    """Weights close to ``weights`` that sum to 1, written to 3 decimals: the last one made up
    to 1 when that is enough, else all of them scaled."""
    rest = 1 - math.fsum(weights[:-1])
    if 0 <= rest <= 1 and all(0 <= w <= 1 for w in weights[:-1]):
        fitted = [*weights[:-1], rest]
    else:
        total = math.fsum(weights)
        fitted = [w / total for w in weights]
    shown = [round(w, 3) for w in fitted[:-1]]
    return [f"{w:g}" for w in (*shown, round(1 - math.fsum(shown), 3))]


class Branch(_Strict):
    """One element feeding several by a rule."""

    from_: str = Field(alias="from")
    to: list[str]
    rule: Literal["round_robin", "shortest_queue", "probability"] = "round_robin"
    weights: list[float] | None = None

    _if_missing: ClassVar[dict[str, str]] = dict.fromkeys(
        ("from", "to"), "a branch needs from and to, e.g. {from: m1, to: [b1, b2]}"
    )

    @field_validator("to")
    @classmethod
    def _some_target(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("to is empty; a branch needs at least one target, e.g. to: [b1, b2]")
        return value

    @model_validator(mode="after")
    def _weights(self) -> Branch:
        if self.rule == "probability":
            if self.weights is None or len(self.weights) != len(self.to):
                raise ValueError(
                    f"rule probability needs one weight per target ({len(self.to)}), "
                    "e.g. weights: [0.7, 0.3]"
                )
            for target, weight in zip(self.to, self.weights, strict=True):
                if not math.isfinite(weight) or weight < 0:
                    need = "0 or more" if math.isfinite(weight) else "a finite number, 0 or more"
                    raise ValueError(
                        f"weight {weight:g} for {target!r} is not allowed; a weight is {need}"
                    )
            shown = ", ".join(f"{w:g}" for w in self.weights)
            total = math.fsum(self.weights)
            if total <= 0:
                raise ValueError(
                    f"weights [{shown}] are all 0; give at least one target a weight above 0"
                )
            # Weights that miss 1 are more often a slip (a forgotten target, a typo) than a
            # choice: taken as they are, not scaled quietly.
            if abs(total - 1) > WEIGHT_SUM_TOLERANCE:
                raise ValueError(
                    f"weights [{shown}] sum to {total:g}; the weights of rule probability are "
                    f"the targets' probabilities and sum to 1, e.g. weights: "
                    f"[{', '.join(_summing_to_one(self.weights))}]"
                )
        elif self.weights is not None:
            raise ValueError(
                f"weights only go with rule probability, not {self.rule}; "
                "remove the weights or write rule: probability"
            )
        return self


FlowEntry = Annotated[
    Annotated[str, Tag("chain")] | Annotated[Branch, Tag("branch")],
    Discriminator(lambda v: "branch" if isinstance(v, dict | Branch) else "chain"),
]
