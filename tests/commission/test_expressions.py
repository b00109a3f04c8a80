"""A check's expression is Structured Text: IEC precedence, BOOL logic, INT arithmetic that
truncates, names without regard to case, dotted tags — compiled to a function of the values
at one instant, with the signals it reads listed in the order written."""

from __future__ import annotations

import pytest
from conftest import ROOT

import twin
from twin.commission.expressions import EvaluationError, ExpressionError, compile_expression
from twin.commission.names import Vocabulary

STATION = ROOT / "scenarios" / "sorting_station" / "sorting_station.yaml"
VALUES = {
    "belt.run": True,
    "panel.estop": False,
    "push_tall.extend": True,
    "push_flat.extend": False,
    "chute_tall.count": 7,
    "chute_flat.count": 2,
    "belt.state": "working",
    "estop": False,
    "collision": False,
}


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary(twin.load(STATION))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("NOT (push_tall.extend AND push_flat.extend)", True),
        ("NOT push_tall.extend AND push_flat.extend", False),  # NOT binds tighter than AND
        ("belt.run OR panel.estop AND push_flat.extend", True),  # AND before OR
        ("belt.run XOR push_tall.extend", False),
        ("chute_tall.count / 2 = 3", True),  # INT / INT truncates, as in ST
        ("chute_tall.count MOD 4 = 3", True),
        ("chute_tall.count - chute_flat.count * 2 >= 3", True),
        ("chute_tall.count / 2.0 = 3.5", True),
        ("belt.state = WORKING AND belt.state <> starved", True),
        ("Belt.Run = TRUE", True),  # ST names ignore case
        ("estop OR collision", False),
        ("-chute_flat.count < 0", True),
    ],
)
def test_an_expression_is_evaluated_as_structured_text(vocabulary, text, value):
    assert compile_expression(text, vocabulary).evaluate(VALUES) is value


def test_the_signals_an_expression_reads_are_listed_once_in_written_order(vocabulary):
    compiled = compile_expression(
        "chute_tall.count > chute_flat.count AND (belt.run OR chute_tall.count = 0)", vocabulary
    )
    assert compiled.signals == ("chute_tall.count", "chute_flat.count", "belt.run")


def test_a_division_by_zero_has_no_value(vocabulary):
    compiled = compile_expression("chute_tall.count / chute_flat.count > 1", vocabulary)
    with pytest.raises(EvaluationError, match="division by zero"):
        compiled.evaluate({**VALUES, "chute_flat.count": 0})


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("DOWN", "DOWN is a state; compare an element's state with it, e.g. m1.state = DOWN"),
        ("belt.run = 1", "'belt.run = 1' compares a BOOL with an INT; compare like with like"),
        ("NOT chute_tall.count", "NOT needs a BOOL, not an INT, in 'NOT chute_tall.count'"),
        (
            "belt.state > 1",
            "> needs an INT or a REAL, not a state, in 'belt.state > 1'; "
            "compare a state with = or <>",
        ),
        (
            "belt.run belt.run",
            "expected an operator or the end of the expression, found "
            "'belt' in 'belt.run belt.run' (column 10)",
        ),
        ("to_tall.count[0] > 1", "an array index cannot be used in a check"),
        ("'tall' = 'tall'", "'tall' cannot be used in a check"),
        (
            "panel.count > 0",
            "panel is a panel, which holds no parts; count a sink, e.g. done.count",
        ),
    ],
)
def test_an_expression_that_is_no_check_is_refused_saying_why(vocabulary, text, said):
    with pytest.raises(ExpressionError) as refused:
        compile_expression(text, vocabulary)
    assert str(refused.value).startswith(said)
