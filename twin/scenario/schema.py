"""The scenario format as pydantic models: run settings, element types and flow entries."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from twin.distributions import Distribution, Exponential, parse_distribution
from twin.units import parse_duration_s

ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _nonnegative_duration(value: object) -> float:
    seconds = parse_duration_s(value)
    if seconds < 0:
        raise ValueError(f"{value!r} is not allowed; a duration is 0 or more")
    return seconds


def _failure_distribution(value: object) -> Distribution:
    # A plain duration for mtbf/mttr means "exponential with this mean", the textbook default.
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        mean_s = parse_duration_s(value)
        if not 0 < mean_s < math.inf:
            raise ValueError(f"{value!r} is not allowed; a mean time must be greater than 0")
        return Exponential(mean_s)
    return parse_distribution(value)


Duration = Annotated[float, BeforeValidator(_nonnegative_duration)]
Dist = Annotated[Distribution, BeforeValidator(parse_distribution)]
FailureDist = Annotated[Distribution, BeforeValidator(_failure_distribution)]


class _Strict(BaseModel):
    """Forbids unknown fields with a message listing the valid ones."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, populate_by_name=True
    )

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            valid = [f.alias or name for name, f in cls.model_fields.items()]
            unknown = [k for k in data if k not in valid]
            if unknown:
                raise ValueError(
                    f"unknown field {unknown[0]!r}; valid fields here: {', '.join(valid)}"
                )
        return data


class RunSettings(_Strict):
    horizon_s: Duration | None = Field(default=None, alias="horizon")
    warmup_s: Duration = Field(default=0.0, alias="warmup")
    replications: int = Field(default=1, ge=1)
    seed: int = Field(default=0, ge=0)
    parts: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _has_an_end(self) -> RunSettings:
        if self.horizon_s is None and self.parts is None:
            raise ValueError(
                "a run needs an end: give horizon (e.g. 8h), parts (e.g. 1000) or both"
            )
        if self.horizon_s is not None and self.horizon_s <= self.warmup_s:
            raise ValueError(
                f"horizon {self.horizon_s:g}s must be longer than warmup {self.warmup_s:g}s"
            )
        return self


class Failures(_Strict):
    mtbf: FailureDist
    mttr: FailureDist

    @field_validator("mtbf")
    @classmethod
    def _positive_mtbf(cls, value: Distribution) -> Distribution:
        if value.mean_s <= 0:
            raise ValueError("mtbf must be greater than 0 (time between failures)")
        return value


class Setup(_Strict):
    time: Dist
    every: int = Field(default=1, ge=1)

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
    limit: int | None = Field(default=None, ge=1)

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
    capacity: int = 1
    failures: Failures | None = None
    setup: Setup | None = None

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"{value} is not allowed; a station processes 1 or more parts at once")
        return value


class BufferSpec(_Strict):
    """A finite FIFO queue (capacity 0: a direct hand-over, `inf`: unlimited)."""

    type: Literal["buffer"]
    capacity: float

    @field_validator("capacity", mode="before")
    @classmethod
    def _capacity(cls, value: Any) -> float:
        if isinstance(value, str) and value.strip().lower() in {"inf", "unlimited"}:
            return math.inf
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (not math.isinf(value) and value != int(value))
        ):
            raise ValueError(
                f"{value!r} is not allowed; a buffer holds a whole number of parts "
                "(0 or more) or 'inf'"
            )
        if value < 0:
            raise ValueError(f"{value} is not allowed; a buffer holds 0 or more parts")
        return float(value)


class ConveyorSpec(_Strict):
    """An accumulating belt: travel time length/speed, at most `capacity` parts on it."""

    type: Literal["conveyor"]
    length_m: float = Field(alias="length")
    speed_m_per_s: float = Field(alias="speed")
    capacity: int

    @field_validator("length_m", "speed_m_per_s")
    @classmethod
    def _positive(cls, value: float) -> float:
        if not 0 < value < math.inf:
            raise ValueError(f"{value} is not allowed; it must be greater than 0 (metres, m/s)")
        return value

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"{value} is not allowed; a conveyor carries 1 or more parts")
        return value

    @property
    def travel_s(self) -> float:
        return self.length_m / self.speed_m_per_s


class SinkSpec(_Strict):
    """Takes every finished part out of the line."""

    type: Literal["sink"]


ElementSpec = Annotated[
    SourceSpec | StationSpec | BufferSpec | ConveyorSpec | SinkSpec,
    Field(discriminator="type"),
]
ELEMENT_TYPES = ("source", "station", "buffer", "conveyor", "sink")

RULES = ("round_robin", "shortest_queue", "probability")


class Branch(_Strict):
    """One element feeding several by a rule."""

    from_: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    rule: Literal["round_robin", "shortest_queue", "probability"] = "round_robin"
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Branch:
        if self.rule == "probability":
            if self.weights is None or len(self.weights) != len(self.to):
                raise ValueError(
                    f"rule probability needs one weight per target ({len(self.to)}), "
                    "e.g. weights: [0.7, 0.3]"
                )
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError(f"weights {self.weights} must be 0 or more and not all 0")
        elif self.weights is not None:
            raise ValueError(f"weights only go with rule probability, not {self.rule}")
        return self


FlowEntry = Annotated[
    Annotated[str, Tag("chain")] | Annotated[Branch, Tag("branch")],
    Discriminator(lambda v: "branch" if isinstance(v, dict | Branch) else "chain"),
]


class ScenarioSpec(_Strict):
    name: str
    description: str | None = None
    run: RunSettings
    elements: dict[str, ElementSpec] = Field(min_length=1)
    flow: list[FlowEntry] = Field(min_length=1)
