"""What the replay page reads once per replication and keeps: the replay itself, the run's
layout, the state tracks, moves, events, tags and poses."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import plotly.graph_objects as go

from twin.record.replay import Replay
from twin.record.store import RunInfo
from web.context import WebContext
from web.figures.gantt import gantt_figure
from web.figures.series import buffer_levels_figure, tag_trace_figure, wip_throughput_figure
from web.line_layout import layout
from web.poses import trajectories
from web.run_view import RunView, run_view
from web.timeline import Happening, Moves, StateTrack, happenings, moves, state_tracks, tag_names


@dataclass
class ReplayData:
    """One replication, read for the page: what the line view needs at once, the rest (state
    tracks, moves, events) when first asked for — the charts come after the page opens."""

    replay: Replay
    view: RunView
    points: dict[str, tuple[float, float]]
    metres: bool  # the points are where physics elements stand
    figures: dict = field(default_factory=dict)

    @cached_property
    def tracks(self) -> list[StateTrack]:
        return state_tracks(self.replay)

    @cached_property
    def moved(self) -> Moves:
        return moves(self.replay)

    @cached_property
    def happenings(self) -> list[Happening]:
        return happenings(self.replay, self.tracks)

    @cached_property
    def tag_names(self) -> list[str]:
        return tag_names(self.replay)

    @cached_property
    def poses(self) -> dict | None:
        return trajectories(self.replay, set(self.view.of_type("sink")))

    @property
    def end_s(self) -> float:
        return self.replay.until_s

    # The page lays its own cursor over these charts (replay.js), so they are drawn without,
    # once per replication.

    def gantt(self) -> go.Figure:
        return self._kept("gantt", lambda: gantt_figure(self.replay, tracks=self.tracks))

    def wip(self) -> go.Figure:
        return self._kept("wip", lambda: wip_throughput_figure(self.replay, moved=self.moved))

    def levels(self) -> go.Figure:
        holding = self.view.of_type("buffer", "conveyor")
        return self._kept(
            "levels", lambda: buffer_levels_figure(self.replay, holding, moved=self.moved)
        )

    def _kept(self, name: str, make) -> go.Figure:
        if name not in self.figures:
            self.figures[name] = make()
        return self.figures[name]

    def tags(self, names: list[str]) -> go.Figure:
        return tag_trace_figure(self.replay, names, self.view.tag_types)


def replay_data(context: WebContext, run: RunInfo, replication: int) -> ReplayData:
    """The replication's data, read on the first request and kept for the next ones."""
    key = ("replay-data", run.id, replication, run.log_sha256, run.log_rows)
    return context.kept(key, lambda: _read(context.replay(run.id, replication), run))


def _read(replay: Replay, run: RunInfo) -> ReplayData:
    view = run_view(run)
    if not view.elements:  # the scenario cannot be read back: the log names the elements
        view = _from_log(replay, view)
    return ReplayData(
        replay=replay,
        view=view,
        points=layout(view),
        metres=any(e.xy_m is not None for e in view.elements.values()),
    )


def _from_log(replay: Replay, view: RunView) -> RunView:
    from web.run_view import Element

    moved = moves(replay)
    senders, receivers = moved.senders(), moved.receivers()
    names = [n for n in replay.names() if n in senders | receivers]
    kinds = {
        n: "source" if n not in receivers else "sink" if n not in senders else "station"
        for n in names
    }
    elements = {n: Element(n, kinds.get(n, "station")) for n in names}
    edges = sorted(moved.pairs())
    return RunView(view.name, elements, edges, problem=view.problem)
