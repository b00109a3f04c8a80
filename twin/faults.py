"""What went wrong in a replication without ending it: a controller that went to STOP."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunFault:
    """One fault: when, what, and where in the controller's program (``file:line:column``
    for Structured Text, ``file:line`` for a Python controller) when that is known."""

    time_s: float
    message: str
    location: str | None = None
    source: str = "control"
    what: str = "controller stopped"

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{self.what}: {where}{self.message} at t={self.time_s:.3f} s"

    def to_json(self) -> dict:
        return {
            "time_s": self.time_s,
            "source": self.source,
            "location": self.location,
            "message": self.message,
            "fault": str(self),
        }

    @classmethod
    def from_json(cls, data: dict) -> RunFault:
        return cls(
            time_s=data["time_s"],
            message=data["message"],
            location=data.get("location"),
            source=data.get("source", "control"),
        )
