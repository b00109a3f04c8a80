"""Robot arms in the physics world: speed-limited IK motions, grippers, pick-and-place."""

from twin.physics.robot.arm import Arm
from twin.physics.robot.grippers import ParallelGripper
from twin.physics.robot.pick_place import PickAndPlace

__all__ = ["Arm", "ParallelGripper", "PickAndPlace"]
