"""The names a check may use are the names the runs have: every KPI a reference scenario's run
measures is one a KPI check may name, and every element has the count and (where it reports
states) the state that its log gives."""

from __future__ import annotations

import pytest
from conftest import ROOT

import twin
from twin.commission.names import Vocabulary

SCENARIOS = sorted(p.relative_to(ROOT / "scenarios") for p in (ROOT / "scenarios").rglob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=str)
def test_every_kpi_a_run_measures_may_be_named_by_a_check(tmp_path, path):
    # A short run, its warm-up left out: the names are what is looked at, not the figures.
    loaded = twin.load(ROOT / "scenarios" / path, set=["run.warmup=0s"])
    result = twin.run(loaded, horizon="30s", replications=1, record=False)
    vocabulary = Vocabulary(loaded)
    assert set(result.kpis) <= set(vocabulary.kpis)
    for element_id, figures in result.elements.items():
        if figures.get("states"):
            states = vocabulary.signals[f"{element_id}.state"].states
            assert set(figures["states"]) <= set(states)
        if figures["type"] != "panel":
            assert f"{element_id}.count" in vocabulary.signals
