"""`twin commission --mutate` on the terminal: a table of the mutants and the score, with the
diff of each mutant no check caught."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from twin.commission.mutation import KILLED, STILLBORN, SURVIVED, TIMEOUT, MutantResult

STATUS_STYLES = {
    KILLED: "green",
    SURVIVED: "bold red",
    STILLBORN: "bright_black",
    TIMEOUT: "yellow",
}
DIFF_STYLES = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))


def mutation_table(result) -> Table:
    """One row per mutant: where, what changed, and what became of it (and by which check)."""
    table = Table(title=f"{result.scenario}: mutants of {result.program}", title_justify="left")
    for column in ("mutant", "line", "operator", "change", "status", "killed by / why"):
        table.add_column(column, justify="right" if column == "line" else "left")
    for mutant in result.mutants:
        style = STATUS_STYLES.get(mutant.status, "")
        table.add_row(
            mutant.id,
            str(mutant.line),
            mutant.operator,
            escape(_change(mutant)),
            f"[{style}]{mutant.status}[/]",
            escape(mutant.killed_by or mutant.note or ""),
        )
    table.caption = result.selection
    return table


def mutation_summary(result) -> str:
    """The score in one line, then the diff of each survivor: "Mutation score 85.0 % (17 of
    20 killed); 3 survived:" and the diffs."""
    killed, survived = len(result.killed), len(result.survived)
    uncounted = [
        f"{len(result.with_status(status))} {status}"
        for status in (STILLBORN, TIMEOUT)
        if result.with_status(status)
    ]
    aside = f", not counted: {' and '.join(uncounted)}" if uncounted else ""
    if result.score is None:
        return f"Mutation score: no mutant could be judged ({' and '.join(uncounted) or 'none'})"
    head = (
        f"Mutation score {100 * result.score:.1f} % ({killed} of {killed + survived} killed{aside})"
    )
    if not survived:
        return f"{head}; none survived"
    diffs = "\n\n".join(
        f"{m.id} {m.operator}, line {m.line}:\n{m.diff.rstrip()}" for m in result.survived
    )
    return f"{head}; {survived} survived:\n{diffs}"


def mutation_text(result) -> Text:
    """``mutation_summary`` coloured for the terminal: added lines green, removed red."""
    out = Text()
    for number, line in enumerate(mutation_summary(result).splitlines()):
        style = next((s for prefix, s in DIFF_STYLES if line.startswith(prefix)), "")
        if number == 0:
            style = "bold green" if not result.survived else "bold"
        out.append(line + "\n", style=style)
    out.rstrip()
    return out


def mutant_line(mutant: MutantResult) -> str:
    """One line of progress as a mutant ends: "M07 killed by good: belt held briefly"."""
    said = f" by {mutant.killed_by}" if mutant.killed_by else ""
    note = f" ({mutant.note})" if mutant.note else ""
    return f"{mutant.id} {mutant.operator} line {mutant.line}: {mutant.status}{said}{note}"


def _change(mutant: MutantResult) -> str:
    original = " ".join(mutant.original.split())
    replacement = " ".join(mutant.replacement.split())
    return f"{original} → {replacement}"
