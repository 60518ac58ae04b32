"""Customer grading (tenants/rules/grading.py): DESIGN.md's thresholds, given to the close's SQL as values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from tenants.audit.service import SYSTEM
from tenants.events.service import ingest
from tenants.periods.aggregation import build_query
from tenants.periods.simulate import simulate
from tenants.rules.config import parse_scheme_config
from tenants.rules.grading import DEFAULT_CUSTOMER_GRADING, CustomerGrading
from tenants.schemes import service as schemes
from tests.conftest import TenantFactory
from tests.factories import add_customer, add_staff


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


async def test_a_close_grades_customers_at_the_thresholds(make_tenant: TenantFactory) -> None:
    """Five customers of 20 each in September: `before` is 0, 20, 40, 60, 80 of 100. A below 20%, B below 60%, so
    exactly at 20% is B and exactly at 60% is C; a known customer without orders is D."""
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "g1")
    codes = ["c1", "c2", "c3", "c4", "c5", "c6"]
    for code in codes:
        await add_customer(tid, code)
    metrics: list[dict[str, Any]] = [
        {
            "key": f"grade_{grade.lower()}",
            "aggregate": "count",
            "events": ["order"],
            "filter": {"customer_grade": [grade]},
        }
        for grade in "ABCD"
    ]
    metrics[0].update({"target": 10, "weight": 100})
    scheme = await schemes.create_scheme(tid, SYSTEM, "grading")
    draft = await schemes.save_draft(tid, SYSTEM, scheme.id, {"cycle": "month", "metrics": metrics})
    await schemes.publish_version(tid, SYSTEM, draft.id, date(2026, 9, 1))
    september = [
        {
            "externalId": f"sep-{code}",
            "type": "order",
            "occurredAt": "2026-09-15T12:00:00+08:00",
            "staff": "g1",
            "customer": code,
            "amount": "20.00",
        }
        for code in codes[:5]
    ]
    october = [
        {
            "externalId": f"oct-{code}",
            "type": "order",
            "occurredAt": "2026-10-15T12:00:00+08:00",
            "staff": "g1",
            "customer": code,
            "amount": "1.00",
        }
        for code in codes
    ]
    assert (await ingest(tid, enumerate(september + october))).accepted == 11

    _, result = await simulate(tid, scheme.id, "2026-10")

    values = {metric.key: metric.value for metric in result.scorecards[0].metrics}
    assert values == {"grade_a": 1, "grade_b": 2, "grade_c": 2, "grade_d": 1}
