"""What each benchmark promises: its targets, checked at the end of a run, and the exit status
that says whether all were met (1 if any was missed), so a script can rely on it."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from rich.console import Console


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-target",
        action="store_true",
        help="report the figures but exit 0 even when a target is missed (exploring)",
    )


@dataclass
class Targets:
    """The targets one run of a benchmark was held to, and how it did."""

    results: list[tuple[str, bool]] = field(default_factory=list)

    def check(self, what: str, met: bool) -> bool:
        self.results.append((what, met))
        return met

    def exit_status(self, console: Console, no_target: bool) -> int:
        """Print the verdict; 1 if a target was missed (unless ``no_target``), else 0."""
        missed = [what for what, met in self.results if not met]
        for what, met in self.results:
            console.print(
                f"{'[green]met[/]' if met else '[red]MISSED[/]'}: {what}", highlight=False
            )
        if missed and not no_target:
            console.print(f"[red]{len(missed)} target(s) missed[/] (--no-target to explore)")
            return 1
        return 0
