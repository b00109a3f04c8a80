"""Colours and chart settings every figure shares: one colour per state, a light theme that
reads on a projector."""

from __future__ import annotations

# The same colours as the stylesheet's --working, --starved... (web/assets/style.css).
STATE_COLOURS = {
    "working": "#2da44e",
    "starved": "#8c959f",
    "blocked": "#d4a72c",
    "down": "#cf222e",
    "setup": "#1f9bcf",
    "idle": "#8250df",
    "empty": "#d0d7de",
    "partial": "#54aeff",
    "full": "#0550ae",
}
STATE_ORDER = tuple(STATE_COLOURS)
OTHER = "#57606a"  # a state without a colour of its own
CURSOR = "#1b1f24"
FONT = {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 14, "color": "#1b1f24"}
# Distinct line colours for series (buffers, tags), dark enough on white.
SERIES = ("#0b5cad", "#cf222e", "#2da44e", "#8250df", "#bc4c00", "#1f9bcf", "#57606a", "#d4a72c")


def state_colour(state: str) -> str:
    return STATE_COLOURS.get(state, OTHER)


def ordered_states(states) -> list[str]:
    """States in the legend's order: the known ones first, then any others by name."""
    present = set(states)
    return [s for s in STATE_ORDER if s in present] + sorted(present - set(STATE_ORDER))


def base_layout(**extra) -> dict:
    """The layout every chart starts from."""
    layout = {
        "template": "plotly_white",
        "font": FONT,
        "margin": {"l": 70, "r": 20, "t": 36, "b": 40},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "hoverlabel": {"font": {"size": 14}},
    }
    layout.update(extra)
    return layout


def cursor_shape(time_s: float) -> dict:
    """The vertical line at the replay's cursor (the first shape of a timeline figure)."""
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": time_s,
        "x1": time_s,
        "y0": 0,
        "y1": 1,
        "line": {"color": CURSOR, "width": 2},
    }


def time_scale(end_s: float) -> tuple[str, float]:
    """The unit a timeline of ``end_s`` seconds reads best in, and seconds per unit."""
    if end_s <= 600:
        return "s", 1.0
    if end_s <= 2 * 3600:
        return "min", 60.0
    return "h", 3600.0
