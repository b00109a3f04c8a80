"""Durations in scenario files: numbers of seconds or numbers with a unit."""

from __future__ import annotations

import math

import pytest

from twin.units import VALID_DURATIONS, format_duration, parse_duration_s


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        pytest.param("90s", 90.0, id="seconds"),
        pytest.param("10sec", 10.0, id="sec"),
        pytest.param("5min", 300.0, id="minutes"),
        pytest.param("2h", 7200.0, id="hours"),
        pytest.param("1d", 86400.0, id="days"),
        pytest.param("1.5h", 5400.0, id="fractional-hours"),
        pytest.param("250ms", 0.25, id="milliseconds"),
        pytest.param(" 5 min ", 300.0, id="spaces-around-and-before-unit"),
        pytest.param("1e3ms", 1.0, id="exponent-notation"),
        pytest.param(90, 90.0, id="int-is-seconds"),
        pytest.param(2.5, 2.5, id="float-is-seconds"),
        pytest.param("90", 90.0, id="numeric-string-is-seconds"),
        pytest.param(0, 0.0, id="zero"),
    ],
)
def test_a_duration_is_read_in_seconds(written: object, seconds: float) -> None:
    result = parse_duration_s(written)

    assert result == seconds
    assert type(result) is float


def test_negative_numbers_pass_through_for_the_field_to_judge() -> None:
    # Whether a negative duration makes sense depends on the field; the parser keeps the sign.
    assert parse_duration_s(-5) == -5.0


def test_inf_is_a_duration_for_fields_that_allow_unlimited_time() -> None:
    assert parse_duration_s("inf") == math.inf


@pytest.mark.parametrize(
    "written",
    [
        pytest.param("5 parsecs", id="unknown-unit"),
        pytest.param("5m", id="m-is-ambiguous"),
        pytest.param("abc", id="no-number"),
        pytest.param("", id="empty"),
        pytest.param("min", id="unit-without-number"),
        pytest.param(True, id="bool"),
        pytest.param(None, id="none"),
        pytest.param(float("nan"), id="nan-number"),
        pytest.param("nan", id="nan-string"),
        pytest.param([90, "s"], id="list"),
    ],
)
def test_anything_else_is_refused_naming_the_value_and_the_accepted_forms(
    written: object,
) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration_s(written)

    message = str(caught.value)
    assert message == f"{written!r} is not a duration; use {VALID_DURATIONS}"
    assert "ms, s, min, h, d" in message
    assert "e.g. 90s, 5min" in message


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (45, "45s"),
        (0.25, "0.25s"),
        (90, "1.5min"),
        (300, "5min"),
        (3600, "1h"),
        (5400, "1.5h"),
        (86400, "24h"),
    ],
)
def test_durations_are_shown_in_the_largest_unit_that_stays_short(
    seconds: float, shown: str
) -> None:
    assert format_duration(seconds) == shown
