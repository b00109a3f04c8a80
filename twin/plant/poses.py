"""Where every part and robot link is, sampled into the run log while the world steps."""

from __future__ import annotations

from twin.observer import Observer
from twin.physics import World
from twin.plant.bodies import PartBodies


class PoseSampler:
    """Samples where every part and robot link is into the run log while the world steps
    (when nothing moves, the last sample still holds). ``robots`` are anything with moving
    links that has ``link_poses()``: arms, and pushers' paddles."""

    def __init__(
        self, world: World, bodies: PartBodies, robots: dict, observer: Observer, rate_hz: float
    ) -> None:
        self.world = world
        self.bodies = bodies
        self.robots = robots
        self.observer = observer
        self._every = max(1, round(1.0 / (rate_hz * world.step_s)))
        world.on_step(after=self._sample)

    def _sample(self) -> None:
        world = self.world
        if world.steps % self._every:
            return
        now_s, pose = world.time_s, self.observer.pose
        for part_id, body in self.bodies.bodies.items():
            position, orientation = world.pose(body)
            pose(now_s, f"part.{part_id}", (*position, *orientation))
        for robot_id, robot in self.robots.items():
            for link, (position, orientation) in robot.link_poses().items():
                pose(now_s, f"{robot_id}.{link}", (*position, *orientation))
