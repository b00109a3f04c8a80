"""How settings are written: ``elem.field=value`` overrides and faults given as settings."""

from __future__ import annotations

# A fault given on the command line is kept as the setting ``faults+={...}``: recorded with
# the run like any ``--set`` (so the run can be made again), and named as the --fault it was.
FAULT_SETTING = "faults+="


def flag(setting: str) -> str:
    """How a setting was given: ``--set m1.capacity=2`` or ``--fault {jam: belt, at: 5s}``."""
    if setting.startswith(FAULT_SETTING):
        return f"--fault {setting.removeprefix(FAULT_SETTING)}"
    return f"--set {setting}"
