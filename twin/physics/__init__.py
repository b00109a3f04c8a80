"""Physics for commissioning: a PyBullet world, robots, physics conveyors, sensors, actuators."""

from twin.physics.robot import PickAndPlace, Robot
from twin.physics.world import PartType, PhysicsError, World

__all__ = ["PartType", "PhysicsError", "PickAndPlace", "Robot", "World"]
