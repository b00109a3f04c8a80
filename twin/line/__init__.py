"""The discrete-event line: sources, stations, buffers, conveyors and sinks on SimPy."""

from twin.line.model import Line, ReplicationResult, run_replication

__all__ = ["Line", "ReplicationResult", "run_replication"]
