"""Options `twin sweep` and `twin optimize` share: what is varied and how each variant runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

HELP_VARY = (
    "A setting to vary: b1.capacity=0..10 (whole numbers), b1.capacity=0..10:2 (a step), "
    "m2.capacity=1,2 (a list), m1.process.exponential=40s..60s (a range, for --design lhs). "
    "Repeatable."
)

ScenarioArgument = Annotated[Path, typer.Argument(help="Scenario file (.yaml).")]
VaryOption = Annotated[list[str], typer.Option("--vary", help=HELP_VARY)]
ReplicationsOption = Annotated[
    int | None, typer.Option(help="Replications of every variant.", show_default=False)
]
SeedOption = Annotated[
    int | None,
    typer.Option(
        help="Seed of all random streams, the same for every variant.", show_default=False
    ),
]
HorizonOption = Annotated[
    str | None,
    typer.Option(help="Simulated time per replication, e.g. 8h.", show_default=False),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a field for every variant (repeatable)."),
]
WarmupOption = Annotated[
    str | None,
    typer.Option(
        help="Warm-up of every variant, e.g. 30min, or auto: found by MSER-5 on a pilot "
        "replication of the scenario as given.",
        show_default=False,
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        help="Processes to run replications on (default: every core).", show_default=False
    ),
]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        help="Run on a Dask cluster: local, or a scheduler such as tcp://host:8786.",
        show_default=False,
    ),
]
NoRecordOption = Annotated[
    bool,
    typer.Option("--no-record", help="Do not record the variants in the run store.", metavar=""),
]


def is_auto(warmup: str | None) -> bool:
    """``--warmup auto``: the warm-up is found by a pilot, not given."""
    return warmup is not None and warmup.strip() == "auto"
