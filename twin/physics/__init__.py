"""Physics for commissioning: a PyBullet world, robots, physics conveyors, sensors, actuators."""

# world first: it imports PyBullet quietly, before any other module imports it.
from twin.physics.world import PartType, PhysicsError, World  # isort: skip
from twin.physics.robot import Arm, PickAndPlace

__all__ = ["Arm", "PartType", "PhysicsError", "PickAndPlace", "World"]
