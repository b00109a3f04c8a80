"""A sink: counts finished parts and their lead times."""

from __future__ import annotations

from twin.line.element import Element


class Sink(Element):
    kind = "sink"

    def __init__(self, line, element_id: str, spec) -> None:
        super().__init__(line, element_id, spec)
        self.count = 0  # since the start, for the `count` signal (parts_in restarts at warm-up)
        self.by_type: dict[str, int] = {}

    def can_accept(self) -> bool:
        return True

    def content(self) -> int:
        return 0

    def accept(self, part) -> None:
        self.parts_out += 1  # a part the sink takes leaves the line
        self.count += 1
        if part.type:
            self.by_type[part.type] = self.by_type.get(part.type, 0) + 1
        self.line.part_left(part)

    def sense_count(self) -> int:
        return self.count

    def reset_statistics(self) -> None:
        super().reset_statistics()
        self.by_type = {}

    def statistics(self, elapsed_s: float) -> dict:
        per_hour = self.parts_in / elapsed_s * 3600 if elapsed_s > 0 else 0.0
        found = {"throughput_per_hour": per_hour}
        if self.by_type:
            found["parts_by_type"] = dict(sorted(self.by_type.items()))
        return found
