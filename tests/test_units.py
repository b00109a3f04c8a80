"""Durations in scenario files: numbers of seconds or numbers with a unit."""

from __future__ import annotations

import math
import re

import pytest

from twin.units import (
    VALID_DURATIONS,
    format_duration,
    nonnegative_duration_s,
    parse_duration_s,
)


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
    # Whether a negative duration makes sense depends on the field; the parser keeps the sign,
    # so that the field can say the value is negative rather than not a duration at all.
    assert parse_duration_s(-5) == -5.0
    assert parse_duration_s("-50s") == -50.0
    assert parse_duration_s(" -1.5min ") == -90.0


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
        pytest.param(57600, "16h", id="a-shift-in-hours"),
        pytest.param(86400, "24h", id="a-day-in-hours"),
        pytest.param(1800, "30min", id="minutes"),
        pytest.param(5400, "1h30min", id="hours-and-minutes"),
        pytest.param(3725.5, "1h2min5.5s", id="hours-minutes-seconds"),
        pytest.param(3605, "1h5s", id="a-zero-part-left-out"),
        pytest.param(150, "2min30s", id="minutes-and-seconds"),
        pytest.param(90, "90s", id="under-two-minutes-in-seconds"),
        pytest.param(45, "45s", id="seconds"),
        pytest.param(28.240000000000002, "28.24s", id="float-noise-dropped"),
        pytest.param(0.25, "250ms", id="milliseconds"),
        pytest.param(1 / 240, "4.167ms", id="a-physics-step"),
        pytest.param(0, "0s", id="zero"),
        pytest.param(-90, "-90s", id="negative"),
        pytest.param(math.inf, "inf", id="unlimited"),
    ],
)
def test_durations_are_written_as_people_write_them(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown


@pytest.mark.parametrize("seconds", [0.25, 45, 90, 150, 1800, 3725.5, 5400, 57600, 86400])
def test_a_written_duration_reads_back_as_the_same_seconds(seconds: float) -> None:
    written = format_duration(seconds)
    parts = [p for p in re.findall(r"[0-9.]+[a-z]+", written)]

    assert "".join(parts) == written
    assert sum(parse_duration_s(p) for p in parts) == pytest.approx(seconds)


def test_a_negative_duration_is_refused_as_negative_naming_it_as_written() -> None:
    with pytest.raises(ValueError) as caught:
        nonnegative_duration_s("-50s", "process")

    assert str(caught.value) == "process -50s is negative; a duration is 0 or more"
    assert nonnegative_duration_s("0s") == 0.0
