"""Experiments: a scenario's replications, on this process, a local pool or a Dask cluster."""

from twin.experiment.replications import Progress, RunInterrupted, RunResult, run_experiment

__all__ = ["Progress", "RunInterrupted", "RunResult", "run_experiment"]
