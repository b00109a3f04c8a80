"""The mutation score as an HTML fragment for the commissioning report: the score, then the
diff of each mutant that no check caught."""

from __future__ import annotations

from web import static_html as page

# Scoped to the section, which carries it: the fragment drops into any report page.
MUTATION_CSS = """
.mutation .score { font-weight: 600; }
.mutation .score.all { color: #1a7f37; }
.mutation .score.some { color: #cf222e; }
.mutation pre.diff { background: #f6f8fa; border: 1px solid #ddd; border-radius: 4px;
  padding: 6px 0; overflow-x: auto; font-size: 0.9em; line-height: 1.4; }
.mutation pre.diff span { display: block; padding: 0 10px; white-space: pre; }
.mutation pre.diff .add { background: #e6ffec; color: #116329; }
.mutation pre.diff .del { background: #ffebe9; color: #82071e; }
.mutation pre.diff .hunk { color: #0550ae; }
.mutation pre.diff .file { color: #57606a; font-weight: 600; }
"""
_LINE_CLASSES = (("+++", "file"), ("---", "file"), ("@@", "hunk"), ("+", "add"), ("-", "del"))


def mutation_html(result: dict) -> str:
    """A ``<section>`` for ``MutationResult.to_json()``: the score in words and each
    survivor's diff, every text escaped."""
    counts = result["counts"]
    killed, survived = counts["killed"], counts["survived"]
    uncounted = [f"{counts[s]} {s}" for s in ("stillborn", "timeout") if counts[s]]
    aside = f"; not counted: {' and '.join(uncounted)}" if uncounted else ""
    if result["score"] is None:
        said, css = f"no mutant could be judged{aside}", "score"
    else:
        said = (
            f"{100 * result['score']:.1f} % ({killed} of {killed + survived} mutants of "
            f"{result['program']} killed{aside})"
        )
        css = "score all" if not survived else "score some"
    parts = [
        page.element("style", MUTATION_CSS),
        page.heading(2, "Mutation score", id="mutation-score"),
        page.element("p", page.text(said), css),
        page.paragraph(f"Mutants tried: {result['selection']}", "generated"),
    ]
    survivors = [m for m in result["mutants"] if m["status"] == "survived"]
    if survivors:
        parts.append(
            page.paragraph(
                f"{len(survivors)} survived: each change below left every check passing, so "
                "no check tests what it changed."
            )
        )
    for mutant in survivors:
        title = f"{mutant['id']} {mutant['operator']}, line {mutant['line']}"
        parts.append(page.heading(3, title, id=f"mutant-{mutant['id']}"))
        parts.append(diff_html(mutant["diff"]))
    return page.element("section", "".join(parts), "mutation", id="mutation")


def diff_html(diff: str) -> str:
    """A unified diff as ``<pre class="diff">``, one span per line, classed by its kind."""
    spans = []
    for line in diff.splitlines():
        css = next((c for prefix, c in _LINE_CLASSES if line.startswith(prefix)), "")
        spans.append(page.element("span", page.text(line) or " ", css))
    return page.element("pre", "".join(spans), "diff")
