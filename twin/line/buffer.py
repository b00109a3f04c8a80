"""A buffer: a FIFO queue that passes parts on as soon as a target has room."""

from __future__ import annotations

import math
from collections import deque

from twin.line.element import Element, Waiter
from twin.line.states import LevelGauge


class Buffer(Element):
    """Passive: it has no process of its own, so a part passes through it in zero events."""

    kind = "buffer"
    states = ("empty", "partial", "full")

    def __init__(self, line, element_id: str, spec) -> None:
        super().__init__(line, element_id, spec)
        self.capacity = spec.capacity
        self.queue: deque = deque()
        self.gauge = LevelGauge(self.env, self.capacity)
        self._waiter: Waiter | None = None

    def can_accept(self) -> bool:
        if len(self.queue) < self.capacity:
            return True
        # Capacity 0 is a direct hand-over: room exactly when a target can take the part now.
        return self.capacity == 0 and not self.queue and self.router.select() is not None

    def content(self) -> int:
        return len(self.queue)

    def wait_for_room(self, waiter: Waiter) -> None:
        super().wait_for_room(waiter)
        if self.capacity == 0:
            # A hand-over point has room exactly when a target has: pass the wish on to them.
            self.relay_room_of_targets()

    def sense_level(self) -> int:
        return len(self.queue)

    def sense_full(self) -> bool:
        return len(self.queue) >= self.capacity

    def accept(self, part) -> None:
        self.queue.append(part)
        self.gauge.add(1)
        self._forward()

    def _forward(self, waiter: Waiter | None = None) -> None:
        if waiter is not None:
            waiter.done = True
            self._waiter = None
        queue = self.queue
        moved = False
        while queue:
            target = self.router.select()
            if target is None:
                if self._waiter is None:
                    self._waiter = Waiter(self._forward)
                    for element in self.router.watch():
                        element.wait_for_room(self._waiter)
                break
            part = queue.popleft()
            self.gauge.add(-1)
            self.hand_over(part, target)
            moved = True
        if moved:
            self._room_freed()

    def reset_statistics(self) -> None:
        super().reset_statistics()
        self.gauge.reset()

    def statistics(self, elapsed_s: float) -> dict:
        gauge = self.gauge
        gauge.close()
        mean_level = gauge.area / elapsed_s if elapsed_s > 0 else 0.0
        empty = gauge.empty_s / elapsed_s if elapsed_s > 0 else 0.0
        full = gauge.full_s / elapsed_s if elapsed_s > 0 else 0.0
        if self.capacity == 0:
            full, empty = 0.0, 1.0 - mean_level
        stats = {
            "mean_level": mean_level,
            "states": {"empty": empty, "partial": max(0.0, 1.0 - empty - full), "full": full},
        }
        stats["utilisation"] = mean_level / self.capacity if 0 < self.capacity < math.inf else None
        return stats
