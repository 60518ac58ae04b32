"""Re-close adjustments (tenants/rules/adjustments.py): new minus posted, per staff and rule, each line explained."""

from __future__ import annotations

from decimal import Decimal

from tenants.rules.adjustments import NO_LONGER_APPLIES, Adjustment, adjustments
from tenants.rules.scorecard import MoneyLine, Scorecard


def card(staff_id: int, *lines: tuple[str, str]) -> Scorecard:
    return Scorecard(
        staff_id=staff_id,
        staff_code=f"S{staff_id}",
        team_code=None,
        metrics=(),
        total=Decimal("0.0000"),
        grade=None,
        rank=1,
        lines=tuple(MoneyLine(key, "bonus", Decimal(amount), f"{key} 依据") for key, amount in lines),
        flags=(),
    )


def test_nothing_changed_posts_nothing() -> None:
    posted = {(1, "ladder"): Decimal("500.00"), (1, "comm"): Decimal("720.00")}
    assert adjustments(2, posted, [card(1, ("comm", "720.00"), ("ladder", "500.00"))]) == []


def test_each_difference_is_one_line_in_staff_then_rule_order() -> None:
    posted = {(2, "comm"): Decimal("100.00"), (1, "ladder"): Decimal("500.00"), (1, "comm"): Decimal("720.00")}
    scorecards = [card(2, ("comm", "100.00"), ("bonus", "1234.50")), card(1, ("comm", "750.10"))]

    lines = adjustments(3, posted, scorecards)

    assert lines == [
        Adjustment(
            1,
            "comm",
            Decimal("30.10"),
            "调整（修订 3 对比修订 2）：已入账 720.00，重算 750.10，差额 30.10。重算依据：comm 依据",
        ),
        Adjustment(
            1,
            "ladder",
            Decimal("-500.00"),
            f"调整（修订 3 对比修订 2）：已入账 500.00，重算 0.00，差额 -500.00。重算依据：{NO_LONGER_APPLIES}",
        ),
        Adjustment(
            2,
            "bonus",
            Decimal("1234.50"),
            "调整（修订 3 对比修订 2）：已入账 0.00，重算 1,234.50，差额 1,234.50。重算依据：bonus 依据",
        ),
    ]
    assert all(line.kind == "adjustment" for line in lines)


def test_posting_the_adjustments_makes_the_ledger_equal_the_new_result() -> None:
    posted = {(1, "comm"): Decimal("720.00"), (1, "penalty"): Decimal("-50.00")}
    scorecards = [card(1, ("comm", "690.55"), ("penalty", "-100.00"))]

    ledger = dict(posted)
    for line in adjustments(2, posted, scorecards):
        ledger[(line.staff_id, line.rule_key)] = ledger.get((line.staff_id, line.rule_key), Decimal(0)) + line.amount

    assert ledger == {(1, "comm"): Decimal("690.55"), (1, "penalty"): Decimal("-100.00")}
