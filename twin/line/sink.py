"""A sink: counts finished parts and their lead times."""

from __future__ import annotations

from twin.line.element import Element


class Sink(Element):
    kind = "sink"

    def __init__(self, line, element_id: str, spec) -> None:
        super().__init__(line, element_id, spec)
        self.parts_out = 0

    def can_accept(self) -> bool:
        return True

    def content(self) -> int:
        return 0

    def accept(self, part) -> None:
        self.parts_out += 1
        self.line.part_left(part)

    def reset_statistics(self) -> None:
        self.parts_out = 0

    def statistics(self, elapsed_s: float) -> dict:
        per_hour = self.parts_out / elapsed_s * 3600 if elapsed_s > 0 else 0.0
        return {"parts_out": self.parts_out, "throughput_per_hour": per_hour}
