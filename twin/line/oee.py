"""Overall equipment effectiveness of a station: availability × performance × quality."""

from __future__ import annotations

from twin.line.states import DOWN, SETUP, WORKING


def oee(states: dict[str, float], *, good: int, scrapped: int) -> dict[str, float]:
    """OEE from a station's shares of time in each state and the parts it made.

    The planned time is the whole measured time (no shifts or planned stops yet):

    - availability = run time / planned time, where run time leaves out the time down and
      in setup (breakdowns and changeovers);
    - performance = time processing parts / run time: time starved, blocked or waiting for
      a controller's start is lost here (idling and minor stops);
    - quality = good parts / parts made (1 when none was made: none was bad).

    So OEE = time processing / planned time × quality: what the station made of its time,
    whoever caused the losses (the bottleneck figures say who did).
    """
    availability = max(0.0, 1.0 - states.get(DOWN, 0.0) - states.get(SETUP, 0.0))
    working = states.get(WORKING, 0.0)
    performance = min(1.0, working / availability) if availability > 0 else 0.0
    made = good + scrapped
    quality = good / made if made else 1.0
    return {
        "availability": availability,
        "performance": performance,
        "quality": quality,
        "oee": availability * performance * quality,
    }
