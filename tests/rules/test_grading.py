"""Customer grading rules (tenants/rules/grading.py, pure): DESIGN.md's example exactly, ties, the 20%/60% boundaries,
a single customer, refunds to zero or below, the alerts, and the thresholds' validation; then the follow-up rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tenants.rules.followups import (
    FollowUpRule,
    ServiceRulesInvalid,
    missed_external_id,
    parse_service_rules,
    stored_service_rules,
)
from tenants.rules.grading import (
    DEFAULT_CUSTOMER_GRADING,
    AlertKind,
    CustomerContribution,
    CustomerGrading,
    GradingRuleCode,
    alert_for,
    grade_customers,
    grade_shares,
    parse_customer_grading,
)


def month(*contributions: tuple[str, str | None], previous: dict[str, str] | None = None) -> list[CustomerContribution]:
    previous = previous or {}
    return [
        CustomerContribution(index, code, None if amount is None else Decimal(amount), previous.get(code))
        for index, (code, amount) in enumerate(contributions, start=1)
    ]


def grades_of(rows: list[CustomerContribution], grading: CustomerGrading = DEFAULT_CUSTOMER_GRADING) -> dict[str, str]:
    codes = {row.customer_id: row.code for row in rows}
    return {codes[g.customer_id]: g.grade for g in grade_customers(rows, grading).customers}


def test_defaults_are_designs_20_and_60_percent() -> None:
    assert CustomerGrading(a_below=Decimal("0.2"), b_below=Decimal("0.6")) == DEFAULT_CUSTOMER_GRADING


@pytest.mark.parametrize(("a_below", "b_below"), [("0", "0.6"), ("0.7", "0.6"), ("0.2", "1.1")])
def test_thresholds_out_of_order_are_refused(a_below: str, b_below: str) -> None:
    with pytest.raises(ValueError, match="customer grading thresholds"):
        CustomerGrading(a_below=Decimal(a_below), b_below=Decimal(b_below))


def test_the_design_example_exactly() -> None:
    """c1 5,000, c2 3,000, c3 1,000, c4 600, c5 400, c6 none (total 10,000) give A, B, C, C, C, D."""
    rows = month(("c1", "5000"), ("c2", "3000"), ("c3", "1000"), ("c4", "600"), ("c5", "400"), ("c6", None))
    graded = grade_customers(rows)
    assert graded.total == Decimal("10000")
    by_id = {g.customer_id: g for g in graded.customers}
    assert [(by_id[i].grade, by_id[i].before, by_id[i].rank) for i in range(1, 7)] == [
        ("A", Decimal(0), 1),
        ("B", Decimal("5000"), 2),
        ("C", Decimal("8000"), 3),
        ("C", Decimal("9000"), 4),
        ("C", Decimal("9600"), 5),
        ("D", None, None),
    ]
    assert graded.counts == {"A": 1, "B": 1, "C": 3, "D": 1}
    assert [g.customer_id for g in graded.d_customers] == [6]
    assert graded.share_before(by_id[2]) == Decimal("0.5")
    assert graded.share_before(by_id[6]) is None
    assert by_id[6].contribution == Decimal("0.00")


def test_exactly_at_20_and_60_percent_is_the_lower_grade() -> None:
    """Five customers of 20 each: `before` is 0, 20, 40, 60, 80 of 100: A below 20%, so 20% is B; 60% is C."""
    rows = month(*[(f"c{i}", "20") for i in range(1, 6)])
    assert grades_of(rows) == {"c1": "A", "c2": "B", "c3": "B", "c4": "C", "c5": "C"}


def test_ties_are_ranked_by_external_code() -> None:
    rows = month(("b", "50"), ("a", "50"), ("c", "50"), ("d", "50"), ("e", "50"))
    graded = grade_customers(rows).customers
    assert [(rows[g.customer_id - 1].code, g.rank, g.grade) for g in graded] == [
        ("a", 1, "A"),
        ("b", 2, "B"),
        ("c", 3, "B"),
        ("d", 4, "C"),
        ("e", 5, "C"),
    ]


def test_a_single_customer_is_a() -> None:
    assert grades_of(month(("only", "0.01"))) == {"only": "A"}


def test_refunds_making_a_contribution_zero_or_negative_make_it_d() -> None:
    rows = month(("zero", "0.00"), ("negative", "-120.50"), ("buyer", "10"), ("none", None))
    graded = {g.customer_id: g for g in grade_customers(rows).customers}
    assert grades_of(rows) == {"zero": "D", "negative": "D", "buyer": "A", "none": "D"}
    assert graded[2].contribution == Decimal("-120.50")  # kept as it is: the summary adds it up
    assert grade_customers(rows).total == Decimal("10")  # only positive contributions make the total


def test_nobody_with_a_positive_contribution_is_all_d() -> None:
    rows = month(("a", None), ("b", "-5"))
    assert grades_of(rows) == {"a": "D", "b": "D"}
    assert grade_customers(rows).total == 0


def test_configured_thresholds_move_the_boundaries() -> None:
    rows = month(*[(f"c{i}", "20") for i in range(1, 6)])
    grading = CustomerGrading(a_below=Decimal("0.5"), b_below=Decimal("0.9"))
    assert grades_of(rows, grading) == {"c1": "A", "c2": "A", "c3": "A", "c4": "B", "c5": "B"}


@pytest.mark.parametrize(
    ("previous", "grade", "alert"),
    [
        ("A", "D", AlertKind.CHURN_RISK),
        ("B", "D", AlertKind.CHURN_RISK),
        ("C", "D", AlertKind.SLEEPING),
        ("D", "D", AlertKind.SLEEPING),  # DESIGN.md: C or D before, D now: still sleeping, call again
        (None, "D", None),  # not graded last month
        ("A", "C", None),
        ("D", "A", None),
    ],
)
def test_alerts_on_change(previous: str | None, grade: str, alert: AlertKind | None) -> None:
    assert alert_for(previous, grade) == alert


def test_threshold_problems_all_at_once_with_paths_and_codes() -> None:
    grading, problems = parse_customer_grading({"a_below": "0", "b_below": 1e309, "c": 1})
    assert grading is None
    assert sorted((p.field, p.code) for p in problems) == [
        ("grading.a_below", GradingRuleCode.THRESHOLD_OUT_OF_RANGE),
        ("grading.b_below", GradingRuleCode.INVALID_TYPE),
        ("grading.c", GradingRuleCode.UNKNOWN_FIELD),
    ]
    _, problems = parse_customer_grading({"a_below": 0.7, "b_below": 0.6})
    assert [(p.field, p.code) for p in problems] == [("grading.b_below", GradingRuleCode.THRESHOLDS_NOT_ASCENDING)]
    _, problems = parse_customer_grading({"a_below": "0.1234567"})
    assert [p.code for p in problems] == [GradingRuleCode.TOO_MANY_DECIMALS]
    _, problems = parse_customer_grading({"a_below": True})
    assert [p.code for p in problems] == [GradingRuleCode.INVALID_TYPE]
    assert parse_customer_grading({"a_below": "0.25"})[0] == CustomerGrading(Decimal("0.25"), Decimal("0.6"))


def test_service_rules_problems_all_at_once() -> None:
    with pytest.raises(ServiceRulesInvalid) as raised:
        parse_service_rules(
            {
                "grading": {"a_below": 2},
                "follow_up": [
                    {"after": "order", "needs": "follow_up_done", "within_hours": 24},
                    {"after": "Order!", "needs": "x\x00", "within_hours": 24.5},
                    {"after": "order", "needs": "order", "within_hours": 24},
                    {"after": "order", "needs": "follow_up_done", "within_hours": 48},
                    "nope",
                    {"after": "visit", "needs": "visit_report", "within_hours": 745},
                ],
                "extra": 1,
            }
        )
    assert sorted((p.field, p.code) for p in raised.value.problems) == [
        ("extra", GradingRuleCode.UNKNOWN_FIELD),
        ("follow_up[1].after", GradingRuleCode.INVALID_EVENT_TYPE),
        ("follow_up[1].needs", GradingRuleCode.INVALID_EVENT_TYPE),
        ("follow_up[1].within_hours", GradingRuleCode.INVALID_TYPE),
        ("follow_up[2].after", GradingRuleCode.SAME_EVENT_TYPE),
        ("follow_up[3]", GradingRuleCode.DUPLICATE_RULE),
        ("follow_up[4]", GradingRuleCode.INVALID_TYPE),
        ("follow_up[5].within_hours", GradingRuleCode.HOURS_OUT_OF_RANGE),
        ("grading.a_below", GradingRuleCode.THRESHOLD_OUT_OF_RANGE),
    ]


def test_service_rules_round_trip_and_defaults() -> None:
    raw = {"follow_up": [{"after": "order", "needs": "follow_up_done", "within_hours": 24}]}
    rules = parse_service_rules(raw)
    assert rules.follow_up == (FollowUpRule("order", "follow_up_done", 24, "follow_up_missed"),)
    assert parse_service_rules(rules.as_json()) == rules
    assert stored_service_rules(None).grading == DEFAULT_CUSTOMER_GRADING
    assert stored_service_rules(None).follow_up == ()


def test_a_follow_up_deadline_and_the_missed_ids() -> None:
    rule = FollowUpRule("order", "follow_up_done", 24)
    at = datetime(2026, 10, 5, 2, tzinfo=UTC)
    assert rule.deadline(at) == at + timedelta(hours=24)
    assert missed_external_id(rule, "ord-1") == "fum:follow_up_done:ord-1"
    long_id = "o" * 128
    missed = missed_external_id(rule, long_id)
    assert len(missed) <= 128 and missed.startswith("fum:follow_up_done:#")
    assert missed == missed_external_id(rule, long_id)  # stable: emitting again is a duplicate


def naive_grades(rows: list[CustomerContribution], grading: CustomerGrading) -> dict[int, tuple[str, Decimal | None]]:
    """DESIGN.md's rule written the plain way: sort, then compare each customer's `before` with the thresholds."""
    ranked = sorted(
        (r for r in rows if r.contribution is not None and r.contribution > 0),
        key=lambda r: (-(r.contribution or 0), r.code),
    )
    total = sum((r.contribution for r in ranked if r.contribution is not None), Decimal(0))
    grades: dict[int, tuple[str, Decimal | None]] = {}
    before = Decimal(0)
    for row in ranked:
        assert row.contribution is not None
        grade = "A" if before < total * grading.a_below else "B" if before < total * grading.b_below else "C"
        grades[row.customer_id] = (grade, before)
        before += row.contribution
    for row in rows:
        grades.setdefault(row.customer_id, ("D", None))
    return grades


@pytest.mark.parametrize("seed", range(40))
def test_the_grade_runs_give_each_customer_the_grade_of_the_plain_rule(seed: int) -> None:
    """The runs found by bisecting the running sums equal the customer-by-customer comparison, on random months with
    ties, exact threshold hits (amounts of 1 and 5), refunds, customers without orders, in any input order."""
    generator = random.Random(seed)
    amounts = ["1", "5", "0.01", "-3", "0", None, "19.99", "250"]
    rows = month(*[(f"c{generator.randrange(10_000):05d}-{i}", generator.choice(amounts)) for i in range(60)])
    generator.shuffle(rows)
    grading = generator.choice([DEFAULT_CUSTOMER_GRADING, CustomerGrading(Decimal("0.5"), Decimal("0.5"))])
    graded = grade_customers(rows, grading)
    assert {g.customer_id: (g.grade, g.before) for g in graded.customers} == naive_grades(rows, grading)
    assert sum(graded.counts.values()) == len(rows)


def test_grade_shares_are_of_the_a_to_c_contributions() -> None:
    shares = grade_shares(
        [("A", 1, Decimal("600.00")), ("B", 2, Decimal("300.00")), ("A", 1, Decimal("100.00")), ("D", 3, Decimal(-50))]
    )
    assert [(s.grade, s.customers, s.contribution, s.share) for s in shares] == [
        ("A", 2, Decimal("700.00"), Decimal("0.7")),
        ("B", 2, Decimal("300.00"), Decimal("0.3")),
        ("C", 0, Decimal("0.00"), Decimal(0)),
        ("D", 3, Decimal(-50), Decimal("-0.05")),
    ]
    assert [s.share for s in grade_shares([("D", 4, Decimal(0))])] == [None, None, None, None]
