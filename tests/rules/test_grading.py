"""Customer grading thresholds (tenants/rules/grading.py): DESIGN.md's defaults, given to the close's SQL as values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tenants.periods.aggregation import build_query
from tenants.rules.config import parse_scheme_config
from tenants.rules.grading import DEFAULT_CUSTOMER_GRADING, CustomerGrading


def test_defaults_are_designs_20_and_60_percent() -> None:
    assert CustomerGrading(a_below=Decimal("0.2"), b_below=Decimal("0.6")) == DEFAULT_CUSTOMER_GRADING


@pytest.mark.parametrize(("a_below", "b_below"), [("0", "0.6"), ("0.7", "0.6"), ("0.2", "1.1")])
def test_thresholds_out_of_order_are_refused(a_below: str, b_below: str) -> None:
    with pytest.raises(ValueError, match="customer grading thresholds"):
        CustomerGrading(a_below=Decimal(a_below), b_below=Decimal(b_below))


def test_the_close_query_takes_the_thresholds_as_parameters() -> None:
    config = parse_scheme_config(
        {
            "cycle": "month",
            "metrics": [
                {
                    "key": "a_orders",
                    "aggregate": "count",
                    "events": ["order"],
                    "filter": {"customer_grade": ["A"]},
                    "target": 10,
                    "weight": 100,
                    "scoring": {"type": "linear"},
                }
            ],
        }
    )
    start, end = datetime(2026, 9, 30, 16, tzinfo=UTC), datetime(2026, 10, 31, 16, tzinfo=UTC)
    sql, params, _, _ = build_query(1, config, start, end, date(2026, 10, 1), date(2026, 11, 1))

    assert "0.2" not in sql and "0.6" not in sql
    for threshold in (DEFAULT_CUSTOMER_GRADING.a_below, DEFAULT_CUSTOMER_GRADING.b_below):
        placeholder = f"${params.index(threshold) + 1}::numeric"
        assert f"before < total * {placeholder}" in sql
