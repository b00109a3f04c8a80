"""A replication's recorded poses as the browser's 3D view plays them: every body's positions
over time, sent to the page once, with when each part leaves the line."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from twin.record.replay import Replay

# Positions sent to the browser at most (about 40 bytes each as JSON): beyond this the samples
# are thinned evenly in time, which the eye does not miss at playback speed.
MOST_SAMPLES = 250_000
PART = "part"


def _natural(name: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def trajectories(replay: Replay, sinks: set[str]) -> dict | None:
    """``{"bodies": {id: {"t": [...], "xyz": [[x, y, z], ...]}}, "groups": {name: [ids]},
    "gone": {part body id: time it reached a sink}}`` or None when nothing was posed.

    Bodies group by the id's first part (``loader.lbr_iiwa_link_3`` is ``loader``'s): a
    group of several bodies is a robot's chain of links, drawn base to tip."""
    rows = replay.events(0.0, replay.end_s, kinds=["pose"])
    if rows.num_rows == 0:
        return None
    encoded = pc.dictionary_encode(rows["source"].cast(pa.string())).combine_chunks()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    names = encoded.dictionary.to_pylist()
    times = rows["time_s"].to_numpy()
    poses = rows["pose"].combine_chunks().flatten().to_numpy(zero_copy_only=False).reshape(-1, 7)
    step = max(1, int(np.ceil(rows.num_rows / MOST_SAMPLES)))
    bodies = {}
    for code, name in enumerate(names):
        chosen = np.flatnonzero(codes == code)
        if step > 1:  # thin, but keep each body's first and last pose
            chosen = np.unique(np.concatenate([chosen[::step], chosen[-1:]]))
        bodies[name] = {
            "t": np.round(times[chosen], 4).tolist(),
            "xyz": np.round(poses[chosen, :3].astype(np.float64), 4).tolist(),
        }
    groups: dict[str, list[str]] = {}
    for name in sorted(bodies, key=_natural):
        groups.setdefault(name.split(".", 1)[0], []).append(name)
    return {"bodies": bodies, "groups": groups, "gone": _gone(replay, sinks)}


def _gone(replay: Replay, sinks: set[str]) -> dict[str, float]:
    """When each part reached a sink (its body is not drawn from then on)."""
    if not sinks:
        return {}
    rows = replay.events(0.0, replay.end_s, kinds=["move"])
    targets = rows["target"].cast(pa.string())
    arrived = rows.filter(pc.is_in(targets, pa.array(sorted(sinks), pa.string())))
    return {
        f"{PART}.{part}": float(time_s)
        for part, time_s in zip(
            arrived["part"].to_pylist(), arrived["time_s"].to_pylist(), strict=True
        )
    }
