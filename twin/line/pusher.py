"""A pusher beside a belt: parts it sweeps off go straight on to the element it feeds."""

from __future__ import annotations

from twin.line.element import Element


class Pusher(Element):
    """The line's side of a pusher: it holds no part. The physics decides which part it
    sweeps off (the composer wires the belt's ``divert`` to it); the part is then handed to
    the pusher's target (a chute) at once. Its signals come from the physical paddle."""

    kind = "pusher"

    def __init__(self, line, element_id: str, spec) -> None:
        super().__init__(line, element_id, spec)
        self.physical = line.performers.get(element_id)
        self.parts_swept = 0

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

    def signal(self, name: str):
        if self.physical is None:
            return super().signal(name)
        if name == "extend":
            return self.physical.command
        if name in ("extended", "retracted"):
            return getattr(self.physical, name)
        return super().signal(name)

    def command(self, name: str, value) -> None:
        if name != "extend" or self.physical is None:
            super().command(name, value)
            return
        self.physical.set_command(bool(value))

    def statistics(self, elapsed_s: float) -> dict:
        return {"parts_swept": self.parts_swept}
