"""A pusher beside a belt: parts it sweeps off go straight on to the element it feeds."""

from __future__ import annotations

from twin.line.element import Element


class Pusher(Element):
    """The line's side of a pusher: it holds no part. Its performer (the physical paddle)
    says which part it swept off its belt; the line takes the part off the belt and hands it
    to the pusher's target (a chute) at once. Its signals are the paddle's."""

    kind = "pusher"

    def __init__(self, line, element_id: str, spec) -> None:
        super().__init__(line, element_id, spec)
        self.physical = line.performers.pushers[element_id]
        self.physical.on_swept(self._swept)
        self.parts_swept = 0

    def _swept(self, part_id: int) -> None:
        self.line.sweep(self.spec.belt, self.id, part_id)

    def can_accept(self) -> bool:
        return True

    def content(self) -> int:
        return 0

    def accept(self, part) -> None:
        self.parts_swept += 1
        target = self.router.select()
        # A chute always has room; anything else that is full would lose the part.
        if target is None:
            self.line.part_scrapped(part)
            return
        self.hand_over(part, target)

    def sense_extended(self) -> bool:
        return self.physical.extended()

    def sense_retracted(self) -> bool:
        return self.physical.retracted()

    def act_extend(self, value) -> None:
        self.physical.set_extend(bool(value))

    def statistics(self, elapsed_s: float) -> dict:
        return {"parts_swept": self.parts_swept}
