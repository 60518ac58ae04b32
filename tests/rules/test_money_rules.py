"""One definition of a staff member's net (tenants/rules/money.py): engine and stored scorecards agree."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tenants.periods.queries import LineView, ScorecardView
from tenants.rules.money import net_amount
from tenants.rules.scorecard import MoneyLine, Scorecard


def test_net_is_the_sum_to_the_cent() -> None:
    assert str(net_amount([])) == "0.00"
    assert net_amount([Decimal("720.00"), Decimal("500.00"), Decimal("-100.00")]) == Decimal("1120.00")
    assert str(net_amount([Decimal("100.00"), Decimal("-100.00")])) == "0.00"
    assert net_amount([Decimal("0.005")]) == Decimal("0.01")  # half-up


def test_engine_and_stored_scorecards_compute_the_same_net() -> None:
    amounts = [Decimal("720.00"), Decimal("-100.00"), Decimal("0.00")]
    engine = Scorecard(
        staff_id=1,
        staff_code="S1",
        team_code=None,
        metrics=(),
        total=Decimal("80.0000"),
        grade=None,
        rank=1,
        lines=tuple(MoneyLine(f"r{i}", "bonus", amount, "") for i, amount in enumerate(amounts)),
        flags=(),
    )
    stored = ScorecardView(
        staff_id=1,
        staff_code="S1",
        staff_name="S1",
        team_code=None,
        revision=1,
        provisional=False,
        total=Decimal("80.0000"),
        grade=None,
        rank=1,
        metrics=[],
        flags=[],
        lines=[
            LineView("S1", 1, f"r{i}", "bonus", amount, "", 1, datetime(2026, 11, 1, tzinfo=UTC))
            for i, amount in enumerate(amounts)
        ],
    )
    assert engine.net == stored.net == net_amount(amounts) == Decimal("620.00")
