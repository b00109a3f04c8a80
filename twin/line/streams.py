"""Random streams: one per element and purpose, derived from the run's seed and the element id."""

from __future__ import annotations

import hashlib

import numpy as np


def stable_key(text: str) -> int:
    """A 32-bit number for ``text`` that is the same in every process and Python version."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")


def stream(seed: int, replication: int, element_id: str, purpose: str) -> np.random.Generator:
    """The generator for one use (``process``, ``failures.mtbf``...) of one element.

    Keyed by ids, not by position, so editing or adding an element leaves every other
    element's random numbers unchanged (common random numbers across scenario variants).
    """
    key = (replication, stable_key(element_id), stable_key(purpose))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))
