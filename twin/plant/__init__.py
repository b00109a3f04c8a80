"""The plant: one replication composed from a scenario — the shared clock, the line, the
physics cells, the controller and the I/O seam between plant and controller."""

from twin.plant.build import FIDELITIES, Plant, build, check_plant, physics_elements

__all__ = ["FIDELITIES", "Plant", "build", "check_plant", "physics_elements"]
