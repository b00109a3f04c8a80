"""PLC code coverage: the probes a coverage build counts, and their counts as a value to sum."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

STATEMENT = "statement"
BRANCH = "branch"
_PLURAL = {STATEMENT: "statements", BRANCH: "branches"}
UNTESTED_SHOWN = 8  # untested branches named on the summary line; the rest are counted


@dataclass(frozen=True)
class Probe:
    """One counter of a coverage build: a statement, or one outcome of an IF, CASE or loop.

    ``label`` says which: "assignment", "call", "IF", "CASE", "FOR", "WHILE", "REPEAT",
    "EXIT", "RETURN" for statements; "IF", "ELSIF", "ELSE", "ELSE (none taken)" (an IF or
    CASE without ELSE, when no branch was taken), "CASE 1, 2", "loop body", "loop 0 times"
    (FOR and WHILE: per execution of the loop, whether its body ran), "loop 1 time" and
    "loop repeated" (REPEAT, whose body always runs once) for branches. ``parent`` is the
    probe that must have counted for this one to count (the branch a statement is in, the
    first statement of its block), -1 for none: an uncounted probe whose parent counted is
    the one worth naming.
    """

    kind: str  # STATEMENT or BRANCH
    line: int
    column: int
    label: str
    pou: str
    parent: int = -1

    @property
    def name(self) -> str:
        """How the summary line names it: "line 41 ELSE", "line 12 never ran"."""
        if self.kind == BRANCH:
            return f"line {self.line} {self.label}"
        # The first statement of a POU: the POU was never called.
        return f"line {self.line} {self.pou + ' ' if self.parent < 0 else ''}never ran"


@dataclass(frozen=True)
class AnnotatedLine:
    """One line of the ST source with what ran on it: ``status`` is "missed" (a statement
    on it never ran), "partial" (a branch on it never taken), "covered", or "" (nothing to
    run: a declaration, a comment)."""

    number: int
    text: str
    statements: tuple[int, ...]  # hit count of each statement starting on the line
    branches: tuple[tuple[str, int], ...]  # (label, times taken) of each branch placed here
    status: str

    @property
    def hits(self) -> int | None:
        """How many times the line ran: its most run statement; None if it holds none."""
        return max(self.statements) if self.statements else None


def fingerprint(source: str) -> str:
    """What tells two sources apart: counts of different programs are never summed."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Coverage:
    """The probes of one ST file and how often each counted: plain data, to pickle between
    processes and to ``merge`` over replications, cases and runs of the same source."""

    filename: str
    source: str
    probes: tuple[Probe, ...]
    counts: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.counts) != len(self.probes):
            raise ValueError(
                f"{len(self.counts)} counts for {len(self.probes)} probes of {self.filename}; "
                "give one count per probe"
            )

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.source)

    def merge(self, other: Coverage) -> Coverage:
        """The counts of both summed; refused (ValueError) for another source."""
        if other.fingerprint != self.fingerprint or other.probes != self.probes:
            raise ValueError(
                f"cannot merge the coverage of {other.filename} (source {other.fingerprint}) "
                f"into that of {self.filename} (source {self.fingerprint}): they are different "
                "programs; merge only counts of the same source"
            )
        counts = tuple(a + b for a, b in zip(self.counts, other.counts, strict=True))
        return Coverage(self.filename, self.source, self.probes, counts)

    @staticmethod
    def merged(coverages: Iterable[Coverage]) -> Coverage | None:
        """The sum of ``coverages``; None when there are none."""
        total = None
        for coverage in coverages:
            total = coverage if total is None else total.merge(coverage)
        return total

    # ---- figures ----
    def _of(self, kind: str) -> list[int]:
        return [c for p, c in zip(self.probes, self.counts, strict=True) if p.kind == kind]

    def covered(self, kind: str) -> tuple[int, int]:
        """(probes that counted, probes) of ``kind``, STATEMENT or BRANCH."""
        counts = self._of(kind)
        return sum(1 for c in counts if c > 0), len(counts)

    def percent(self, kind: str) -> float:
        """Share of the probes of ``kind`` that counted, in %; 100.0 when there are none."""
        hit, total = self.covered(kind)
        return 100.0 * hit / total if total else 100.0

    @property
    def statement_percent(self) -> float:
        return self.percent(STATEMENT)

    @property
    def branch_percent(self) -> float:
        return self.percent(BRANCH)

    def uncovered(self) -> list[Probe]:
        """Every probe that never counted, in source order."""
        found = [p for p, c in zip(self.probes, self.counts, strict=True) if c == 0]
        return sorted(found, key=lambda p: (p.line, p.column))

    def untested(self) -> list[Probe]:
        """The probes that never counted although what leads to them did: the branches not
        taken, and the first statement of a POU never called (the statements inside an
        untaken branch follow from it and are not repeated)."""
        counts = self.counts
        found = [
            p
            for p, c in zip(self.probes, counts, strict=True)
            if c == 0 and (p.parent < 0 or counts[p.parent] > 0)
        ]
        return sorted(found, key=lambda p: (p.line, p.column))

    def uncovered_lines(self) -> list[int]:
        """Lines holding a statement that never ran."""
        return sorted({p.line for p in self.uncovered() if p.kind == STATEMENT})

    # ---- presentation ----
    def annotate(self) -> list[AnnotatedLine]:
        """Every line of the source with the hits of its statements and branches."""
        statements: dict[int, list[int]] = {}
        branches: dict[int, list[tuple[str, int]]] = {}
        order = sorted(range(len(self.probes)), key=lambda i: (self.probes[i].line, i))
        for i in order:
            probe, count = self.probes[i], self.counts[i]
            if probe.kind == STATEMENT:
                statements.setdefault(probe.line, []).append(count)
            else:
                branches.setdefault(probe.line, []).append((probe.label, count))
        found = []
        for number, text in enumerate(self.source.splitlines(), 1):
            ran = tuple(statements.get(number, ()))
            taken = tuple(branches.get(number, ()))
            if not ran and not taken:
                status = ""
            elif 0 in ran:
                status = "missed"
            elif any(count == 0 for _, count in taken):
                status = "partial"
            else:
                status = "covered"
            found.append(AnnotatedLine(number, text, ran, taken, status))
        return found

    def summary(self, limit: int = UNTESTED_SHOWN) -> str:
        """One line: "PLC coverage (sorter.st): statements 93.1 % (54/58), branches 78.6 %
        (22/28); untested: line 41 ELSE, ..." with at most ``limit`` untested named."""
        name = self.filename.replace("\\", "/").rsplit("/", 1)[-1]
        said = f"PLC coverage ({name}): {self._figure(STATEMENT)}, {self._figure(BRANCH)}"
        untested = self.untested()
        if not untested:
            return said + "; every statement ran and every branch was taken"
        names = [p.name for p in untested[:limit]]
        more = len(untested) - len(names)
        return said + "; untested: " + ", ".join(names) + (f" and {more} more" if more else "")

    def _figure(self, kind: str) -> str:
        hit, total = self.covered(kind)
        return f"{_PLURAL[kind]} {self.percent(kind):.1f} % ({hit}/{total})"

    def totals(self) -> dict:
        """The figures alone: covered, total and % of statements and of branches."""
        return {
            _PLURAL[kind]: {
                "covered": self.covered(kind)[0],
                "total": self.covered(kind)[1],
                "percent": round(self.percent(kind), 2),
            }
            for kind in (STATEMENT, BRANCH)
        }

    def to_json(self) -> dict:
        """The figures, the untested probes and every annotated line, as JSON data."""
        return {
            "file": self.filename,
            "fingerprint": self.fingerprint,
            **self.totals(),
            "summary": self.summary(),
            "untested": [
                {"line": p.line, "column": p.column, "kind": p.kind, "label": p.label}
                | {"pou": p.pou, "name": p.name}
                for p in self.untested()
            ],
            "lines": [
                {
                    "line": a.number,
                    "text": a.text,
                    "hits": a.hits,
                    "statements": list(a.statements),
                    "branches": [{"label": label, "count": c} for label, c in a.branches],
                    "status": a.status,
                }
                for a in self.annotate()
            ],
        }
