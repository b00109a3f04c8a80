"""The run store: every run's manifest, KPIs and event log, for listing, comparing and replay."""

from twin.errors import LogError
from twin.record.store import RunInfo, RunStore, RunWriter, StoreError, default_folder

__all__ = ["LogError", "RunInfo", "RunStore", "RunWriter", "StoreError", "default_folder"]
