"""The run settings of a scenario: its end, warmup, replications, seed and pose sampling."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BeforeValidator, Field, model_validator

from twin.scenario.schema.fields import (
    Duration,
    FieldError,
    _optional,
    _positive_measure,
    _Strict,
    _whole_number,
)
from twin.units import format_duration


class RunSettings(_Strict):
    horizon_s: Duration | None = Field(default=None, alias="horizon")
    warmup_s: Duration = Field(default=0.0, alias="warmup")
    replications: Annotated[
        int,
        BeforeValidator(
            _whole_number(
                "replications", 1, "run 1 or more", "run a whole number of replications, 1 or more"
            )
        ),
    ] = 1
    seed: Annotated[
        int,
        BeforeValidator(_whole_number("seed", 0, "use 0 or more", "use a whole number, 0 or more")),
    ] = 0
    parts: Annotated[
        int | None,
        BeforeValidator(
            _optional(
                _whole_number(
                    "parts",
                    1,
                    "end the run after 1 or more parts",
                    "end the run after a whole number of parts, 1 or more",
                )
            )
        ),
    ] = None
    # How often the poses of physical bodies go into the run log while they move (3D replay).
    pose_rate_hz: Annotated[
        float,
        BeforeValidator(
            _positive_measure(
                "pose_rate",
                "samples per second",
                "sample poses more than 0 times a second",
                "pose_rate: 20",
            )
        ),
    ] = Field(default=20.0, alias="pose_rate")

    _what: ClassVar[str] = "run settings"
    _example: ClassVar[str] = "{horizon: 8h, warmup: 30min, seed: 1}"

    @model_validator(mode="after")
    def _has_an_end(self) -> RunSettings:
        if self.horizon_s is None and self.parts is None:
            raise FieldError(
                "a run needs an end: give horizon (e.g. 8h), parts (e.g. 1000) or both",
                about=("horizon", "parts"),
            )
        if self.horizon_s is not None and self.horizon_s <= self.warmup_s:
            raise FieldError(
                f"horizon {format_duration(self.horizon_s)} must be longer than warmup "
                f"{format_duration(self.warmup_s)}; lengthen the horizon or shorten the warmup",
                about=("horizon", "warmup"),
            )
        return self
