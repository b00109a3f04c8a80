"""Each element type declares its signals once (twin.scenario.signals); the elements implement
exactly those, and the plant finds each one by its declared name."""

from __future__ import annotations

import pytest

from twin.line.model import ELEMENT_CLASSES
from twin.scenario.signals import ACTUATOR, SIGNALS


@pytest.mark.parametrize("kind", sorted(SIGNALS))
def test_every_declared_signal_has_its_reader_or_writer(kind):
    element = ELEMENT_CLASSES[kind]
    for signal in SIGNALS[kind]:
        prefix = "act_" if signal.direction == ACTUATOR else "sense_"
        assert callable(getattr(element, prefix + signal.name, None)), (kind, signal.name)


@pytest.mark.parametrize("kind", sorted(SIGNALS))
def test_no_element_answers_a_signal_its_type_does_not_declare(kind):
    declared = {("act_" if s.direction == ACTUATOR else "sense_") + s.name for s in SIGNALS[kind]}
    element = ELEMENT_CLASSES[kind]
    implemented = {n for n in dir(element) if n.startswith(("act_", "sense_"))}
    # A robot is a station underneath: a station's sensors it does not declare stay unused.
    inherited = {
        ("act_" if s.direction == ACTUATOR else "sense_") + s.name for s in SIGNALS["station"]
    }
    extra = implemented - declared - (inherited if kind == "robot" else set())
    assert extra == set(), kind
