"""Rounding, formatting and exact splitting helpers of the scoring engine."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tenants.rules.formatting import fmt_money, fmt_num, fmt_pct, fmt_rate, fmt_score, fmt_total_against
from tenants.rules.money import money, quantize_score, split_exactly


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),
        ("0.015", "0.02"),  # half-even would give 0.02 too; the next one tells them apart
        ("0.025", "0.03"),
        ("1.005", "1.01"),
        ("-0.005", "-0.01"),
        ("-0.004", "0.00"),  # never "-0.00"
        ("0", "0.00"),
        ("123.454999", "123.45"),
    ],
)
def test_money_rounds_half_up_to_the_cent(value: str, expected: str) -> None:
    assert str(money(Decimal(value))) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("12.34565", "12.3457"), ("12.34564999", "12.3456"), ("-0.00004", "0.0000")]
)
def test_quantize_score(value: str, expected: str) -> None:
    assert str(quantize_score(Decimal(value))) == expected


@pytest.mark.parametrize(
    ("func", "value", "expected"),
    [
        (fmt_money, "1234567.891", "1,234,567.89"),
        (fmt_money, "-1500.5", "-1,500.50"),
        (fmt_money, "0.005", "0.01"),
        (fmt_money, "-0.001", "0.00"),
        (fmt_num, "20000", "20,000"),
        (fmt_num, "2E+4", "20,000"),
        (fmt_num, "0.50", "0.5"),
        (fmt_num, "0.33335", "0.3334"),
        (fmt_num, "-0", "0"),
        (fmt_rate, "0.03", "3%"),
        (fmt_rate, "0.035", "3.5%"),
        (fmt_rate, "0.00125", "0.125%"),
        (fmt_rate, "1.2", "120%"),
        (fmt_rate, "1", "100%"),
        (fmt_pct, "1.2", "120%"),
        (fmt_pct, "0.666666666", "66.67%"),
        (fmt_pct, "0.123450", "12.35%"),
        (fmt_pct, "-0.025", "-2.5%"),
        (fmt_score, "120", "120.00"),
        (fmt_score, "59.995", "60.00"),
        (fmt_score, "1234.5", "1,234.50"),
    ],
)
def test_formatting(func: object, value: str, expected: str) -> None:
    assert callable(func)
    assert func(Decimal(value)) == expected


@pytest.mark.parametrize(
    ("total", "threshold", "expected"),
    [("59.9950", "60", "59.9950"), ("40.0000", "60", "40.00"), ("60.0000", "60", "60.00"), ("60.0040", "60", "60.00")],
)
def test_total_against_threshold_never_contradicts_the_comparison(total: str, threshold: str, expected: str) -> None:
    assert fmt_total_against(Decimal(total), Decimal(threshold)) == expected


@pytest.mark.parametrize(
    ("total", "weights", "codes", "expected"),
    [
        ("1000", ["1", "1", "1"], ["a", "b", "c"], ["333.34", "333.33", "333.33"]),
        ("1000", ["1", "1", "1"], ["c", "b", "a"], ["333.33", "333.33", "333.34"]),  # tie goes to code "a"
        ("0.02", ["1", "1", "1"], ["b", "a", "c"], ["0.01", "0.01", "0.00"]),
        ("100", ["3", "0", "1"], ["a", "b", "c"], ["75.00", "0.00", "25.00"]),
        ("10", ["1", "2"], ["a", "b"], ["3.33", "6.67"]),  # b's remainder .666 beats a's .333
        ("0", ["1", "1"], ["a", "b"], ["0.00", "0.00"]),
    ],
)
def test_split_exactly(total: str, weights: list[str], codes: list[str], expected: list[str]) -> None:
    parts = split_exactly(Decimal(total), [Decimal(w) for w in weights], codes)
    assert [str(p) for p in parts] == expected
    assert sum(parts, Decimal(0)) == Decimal(total)


@pytest.mark.parametrize(
    ("total", "weights", "codes"),
    [("-1", ["1"], ["a"]), ("1", ["0", "0"], ["a", "b"]), ("1", ["1", "-1", "1"], ["a", "b", "c"]), ("1", ["1"], [])],
)
def test_split_exactly_rejects_nonsense(total: str, weights: list[str], codes: list[str]) -> None:
    with pytest.raises(ValueError, match=r"negative|weights"):
        split_exactly(Decimal(total), [Decimal(w) for w in weights], codes)
