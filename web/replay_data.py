"""What the replay page reads once per replication and keeps: the replay itself, the run's
layout, the state tracks, moves, events, tags and poses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from twin.record.replay import Replay
from twin.record.store import RunInfo
from web.context import WebContext
from web.figures.gantt import gantt_figure
from web.figures.series import buffer_levels_figure, tag_trace_figure, wip_throughput_figure
from web.line_layout import layout
from web.poses import trajectories
from web.run_view import RunView, run_view
from web.timeline import Happening, StateTrack, happenings, moves, state_tracks, tag_names


@dataclass
class ReplayData:
    """One replication, read for the page."""

    replay: Replay
    view: RunView
    points: dict[str, tuple[float, float]]
    metres: bool  # the points are where physics elements stand
    tracks: list[StateTrack]
    moved: tuple[np.ndarray, np.ndarray, np.ndarray]
    happenings: list[Happening]
    tag_names: list[str]
    poses: dict | None

    @property
    def end_s(self) -> float:
        return self.replay.until_s

    # The page lays its own cursor over these charts (replay.js), so they are drawn without.

    def gantt(self) -> go.Figure:
        return gantt_figure(self.replay, tracks=self.tracks)

    def wip(self) -> go.Figure:
        return wip_throughput_figure(self.replay, moved=self.moved)

    def levels(self) -> go.Figure:
        holding = self.view.of_type("buffer", "conveyor")
        return buffer_levels_figure(self.replay, holding, moved=self.moved)

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
    tracks = state_tracks(replay)
    sinks = set(view.of_type("sink"))
    return ReplayData(
        replay=replay,
        view=view,
        points=layout(view),
        metres=any(e.xy_m is not None for e in view.elements.values()),
        tracks=tracks,
        moved=moves(replay),
        happenings=happenings(replay, tracks),
        tag_names=tag_names(replay),
        poses=trajectories(replay, sinks),
    )


def _from_log(replay: Replay, view: RunView) -> RunView:
    from web.run_view import Element

    _, sources, targets = moves(replay)
    senders, receivers = set(sources.tolist()), set(targets.tolist())
    names = [n for n in replay.names() if n in senders | receivers]
    kinds = {
        n: "source" if n not in receivers else "sink" if n not in senders else "station"
        for n in names
    }
    elements = {n: Element(n, kinds.get(n, "station")) for n in names}
    edges = sorted(set(zip(sources.tolist(), targets.tolist(), strict=True)))
    return RunView(view.name, elements, edges, problem=view.problem)
