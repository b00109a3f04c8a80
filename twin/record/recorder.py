"""The recorder: takes what happens on the line and writes it to the log in batches."""

from __future__ import annotations

from array import array

from twin.record.log import ROW_GROUP_ROWS
from twin.record.log_writer import LogWriter


class Recorder:
    """Observer of one replication. Each kind of row is kept column by column and handed to
    the log a row group at a time: recording costs a few list appends per event."""

    __slots__ = (
        "_event_s",
        "_event_source",
        "_event_text",
        "_event_value",
        "_log",
        "_move_from",
        "_move_part",
        "_move_s",
        "_move_to",
        "_pose_s",
        "_pose_source",
        "_pose_values",
        "_replication",
        "_state_place",
        "_state_s",
        "_state_source",
        "_state_text",
        "_tag_s",
        "_tag_source",
        "_tag_value",
    )

    wants_poses = True  # the run log keeps them for 3D replay

    def __init__(self, log: LogWriter, replication: int) -> None:
        self._log = log
        self._replication = replication
        self._new_states()
        self._new_moves()
        self._new_events()
        self._new_poses()
        self._new_tags()

    # Numbers go into typed arrays: as cheap to append to as lists, and they reach the log
    # process as one block of bytes instead of a million pickled floats.

    def _new_states(self) -> None:
        self._state_s, self._state_place = array("d"), array("q")
        self._state_source, self._state_text = [], []

    def _new_moves(self) -> None:
        self._move_s, self._move_part = array("d"), array("q")
        self._move_from, self._move_to = [], []

    def _new_events(self) -> None:
        self._event_s, self._event_source, self._event_text, self._event_value = (
            array("d"),
            [],
            [],
            [],
        )

    def _new_tags(self) -> None:
        self._tag_s, self._tag_source, self._tag_value = array("d"), [], []

    def _new_poses(self) -> None:
        self._pose_s, self._pose_source, self._pose_values = array("d"), [], []

    def state(self, time_s: float, element_id: str, place: int, state: str) -> None:
        # The hottest call of a recorded run: no size check here, move() checks for both.
        self._state_s.append(time_s)
        self._state_source.append(element_id)
        self._state_place.append(place)
        self._state_text.append(state)

    def move(self, time_s: float, part_id: int, from_id: str, to_id: str) -> None:
        times = self._move_s
        times.append(time_s)
        self._move_part.append(part_id)
        self._move_from.append(from_id)
        self._move_to.append(to_id)
        if len(times) >= ROW_GROUP_ROWS:
            self._flush_moves()
        if len(self._state_s) >= ROW_GROUP_ROWS:
            self._flush_states()

    def event(self, time_s: float, source: str, text: str, value: float | None = None) -> None:
        """Something worth a line in the log that is not a state change or a move."""
        self._event_s.append(time_s)
        self._event_source.append(source)
        self._event_text.append(text)
        self._event_value.append(value)
        if len(self._event_s) >= ROW_GROUP_ROWS:
            self._flush_events()

    def tag(self, time_s: float, name: str, value) -> None:
        """A tag took a new value (booleans as 0/1)."""
        self._tag_s.append(time_s)
        self._tag_source.append(name)
        self._tag_value.append(float(value))
        if len(self._tag_s) >= ROW_GROUP_ROWS:
            self._flush_tags()

    def _flush_tags(self) -> None:
        self._log.write(
            self._replication,
            "tag",
            {"time_s": self._tag_s, "source": self._tag_source, "value": self._tag_value},
        )
        self._new_tags()

    def _flush_states(self) -> None:
        self._log.write(
            self._replication,
            "state",
            {
                "time_s": self._state_s,
                "source": self._state_source,
                "place": self._state_place,
                "text": self._state_text,
            },
        )
        self._new_states()

    def _flush_moves(self) -> None:
        self._log.write(
            self._replication,
            "move",
            {
                "time_s": self._move_s,
                "part": self._move_part,
                "source": self._move_from,
                "target": self._move_to,
            },
        )
        self._new_moves()

    def pose(self, time_s: float, body_id: str, pose: tuple[float, ...]) -> None:
        """Where a physical body is: x, y, z in metres and the orientation quaternion."""
        self._pose_s.append(time_s)
        self._pose_source.append(body_id)
        self._pose_values.append(pose)
        if len(self._pose_s) >= ROW_GROUP_ROWS:
            self._flush_poses()

    def _flush_poses(self) -> None:
        self._log.write(
            self._replication,
            "pose",
            {"time_s": self._pose_s, "source": self._pose_source, "pose": self._pose_values},
        )
        self._new_poses()

    def _flush_events(self) -> None:
        self._log.write(
            self._replication,
            "event",
            {
                "time_s": self._event_s,
                "source": self._event_source,
                "text": self._event_text,
                "value": self._event_value,
            },
        )
        self._new_events()

    def flush(self) -> None:
        """Hand everything kept so far to the log (at the end of the replication)."""
        self._flush_states()
        self._flush_moves()
        self._flush_events()
        self._flush_poses()
        self._flush_tags()
