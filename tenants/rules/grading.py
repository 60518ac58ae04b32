"""Customer grading (ABCD, DESIGN.md "Customer grading"): thresholds, their validation, the grades and the alerts.

A customer's contribution is the net order amount (orders + refunds) of the calendar month. Customers with a positive
contribution are ranked descending, ties by external code; ``before`` is the sum of the contributions ranked above.
Grade A while ``before`` is below ``a_below`` of the month's total, B below ``b_below``, else C; a known customer
without positive contribution (none, zero or negative after refunds) is D. The comparison is exact
(``before < total * a_below`` in Decimals): a customer whose ``before`` is exactly 20% of the total is B.

The month's rows come from one set-based aggregation (tenants/grading/repository.py); `grade_customers` ranks and
grades them here, without I/O, and the result is written back in one statement. DESIGN.md's alerts: A or B before and
D now is a churn risk (visit the customer); C or D before and D now is a sleeping customer (call them): a customer who
stays D is a sleeping one to call again that month (one alert per customer and month, tenants/grading). A customer
without a grade the month before (new, or that month was not graded) raises none.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from itertools import accumulate, compress, islice
from operator import eq, ge
from typing import Final, NamedTuple

from tenants.errors import Problem
from tenants.i18n import _

__all__ = [
    "DEFAULT_CUSTOMER_GRADING",
    "AlertKind",
    "CustomerContribution",
    "CustomerGrading",
    "GradeShare",
    "GradedCustomer",
    "GradingRuleCode",
    "alert_for",
    "grade_customers",
    "grade_shares",
    "parse_customer_grading",
]

GRADES: Final = ("A", "B", "C", "D")
THRESHOLD_DECIMALS: Final = 6


@dataclass(frozen=True, slots=True)
class CustomerGrading:
    """Shares of the month's total contribution (0 < a_below <= b_below <= 1)."""

    a_below: Decimal = Decimal("0.2")
    b_below: Decimal = Decimal("0.6")

    def __post_init__(self) -> None:
        if not Decimal(0) < self.a_below <= self.b_below <= Decimal(1):
            raise ValueError(f"customer grading thresholds must satisfy 0 < A <= B <= 1, not {self}")

    def as_json(self) -> dict[str, str]:
        return {"a_below": str(self.a_below), "b_below": str(self.b_below)}


# DESIGN.md's values: A below 20% of the total ranked above, B below 60%.
DEFAULT_CUSTOMER_GRADING: Final = CustomerGrading()


class GradingRuleCode(StrEnum):
    """Stable codes of the service rules' problems (grading thresholds, follow-up rules); never rename one."""

    INVALID_TYPE = "INVALID_TYPE"  # not an object / list / number / text where one is expected
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    REQUIRED = "REQUIRED"
    THRESHOLD_OUT_OF_RANGE = "THRESHOLD_OUT_OF_RANGE"  # each threshold above 0 and at most 1
    THRESHOLDS_NOT_ASCENDING = "THRESHOLDS_NOT_ASCENDING"  # a_below <= b_below
    TOO_MANY_DECIMALS = "TOO_MANY_DECIMALS"
    INVALID_EVENT_TYPE = "INVALID_EVENT_TYPE"
    HOURS_OUT_OF_RANGE = "HOURS_OUT_OF_RANGE"
    SAME_EVENT_TYPE = "SAME_EVENT_TYPE"  # a rule whose `needs` or `emits` is its own `after`
    DUPLICATE_RULE = "DUPLICATE_RULE"  # two rules for the same (after, needs)
    TOO_MANY_RULES = "TOO_MANY_RULES"


RuleProblem = Problem[GradingRuleCode]


def _number(value: object) -> Decimal | None:
    """A finite Decimal from a JSON number or numeric text; None for anything else (bools are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def parse_customer_grading(raw: object, path: str = "grading") -> tuple[CustomerGrading | None, list[RuleProblem]]:
    """The thresholds from `{"a_below": 0.2, "b_below": 0.6}` (either may be left out: DESIGN.md's value), or every
    problem found, each with its JSON path and code."""
    if raw is None:
        return DEFAULT_CUSTOMER_GRADING, []
    if not isinstance(raw, Mapping):
        return None, [
            Problem(GradingRuleCode.INVALID_TYPE, _("The grading thresholds are an object: a_below, b_below."), path)
        ]
    problems: list[RuleProblem] = []
    for key in raw:
        if key not in ("a_below", "b_below"):
            problems.append(
                Problem(
                    GradingRuleCode.UNKNOWN_FIELD,
                    _("Unknown field; the grading thresholds are a_below and b_below."),
                    f"{path}.{str(key)[:64]}",
                )
            )
    values: dict[str, Decimal] = {}
    defaults = DEFAULT_CUSTOMER_GRADING.as_json()
    for key in ("a_below", "b_below"):
        field = f"{path}.{key}"
        number = _number(raw.get(key, defaults[key]))
        if number is None:
            problems.append(
                Problem(GradingRuleCode.INVALID_TYPE, _("A threshold is a number such as 0.2 (20%)."), field)
            )
        elif not Decimal(0) < number <= Decimal(1):
            problems.append(
                Problem(
                    GradingRuleCode.THRESHOLD_OUT_OF_RANGE,
                    _("A threshold is a share of the month's total: above 0 and at most 1 (e.g. 0.2 for 20%)."),
                    field,
                )
            )
        elif number.as_tuple().exponent < -THRESHOLD_DECIMALS:  # type: ignore[operator]  # finite: checked above
            problems.append(
                Problem(
                    GradingRuleCode.TOO_MANY_DECIMALS,
                    _("A threshold has at most {decimals} decimals.", decimals=THRESHOLD_DECIMALS),
                    field,
                )
            )
        else:
            values[key] = number
    if len(values) == 2 and values["a_below"] > values["b_below"]:
        problems.append(
            Problem(
                GradingRuleCode.THRESHOLDS_NOT_ASCENDING,
                _("a_below (the A threshold) may not be above b_below (the B threshold)."),
                f"{path}.b_below",
            )
        )
    if problems:
        return None, problems
    return CustomerGrading(a_below=values["a_below"], b_below=values["b_below"]), []


class CustomerContribution(NamedTuple):
    """One known customer's month: its net order amount (None: no orders or refunds) and last month's grade. A
    plain tuple (the aggregation's rows are handed over as they come, 200,000 of them for a large merchant)."""

    customer_id: int
    code: str
    contribution: Decimal | None
    previous_grade: str | None


class GradedCustomer(NamedTuple):
    customer_id: int
    contribution: Decimal  # 0 when the customer had no orders
    before: Decimal | None  # the sum of the contributions ranked above (ranked customers only)
    rank: int | None  # 1-based among the customers with a positive contribution
    grade: str
    previous_grade: str | None


NO_CONTRIBUTION: Final = Decimal("0.00")  # a D customer without orders or refunds in the month


@dataclass(frozen=True, slots=True)
class GradedMonth:
    """The month graded, by column: the ranked customers in rank order with the sum ranked above each, then the D
    customers. Grades only fall along the ranking (``before`` grows with the rank), so they are runs: ranks 1 to
    ``a_count`` are A, up to ``b_count`` B, the rest of the ranked C (`grade_runs`). A writer of 200,000 customers
    lays out these columns without a tuple per customer; `customers` builds the tuples for smaller readers."""

    ranked: list[CustomerContribution]  # contribution > 0, descending, ties by code
    befores: list[Decimal]  # befores[i]: the sum of ranked[:i]'s contributions
    unranked: list[CustomerContribution]  # the D customers, in the aggregation's order
    total: Decimal  # the sum of the positive contributions
    a_count: int  # ranked customers graded A
    b_count: int  # ranked customers graded A or B

    @property
    def counts(self) -> dict[str, int]:
        """Customers per grade, A to D."""
        return {
            "A": self.a_count,
            "B": self.b_count - self.a_count,
            "C": len(self.ranked) - self.b_count,
            "D": len(self.unranked),
        }

    def grade_runs(self) -> list[tuple[str, int, int]]:
        """(grade, start, stop): ``ranked[start:stop]`` have that grade; A, B and C in rank order."""
        return [("A", 0, self.a_count), ("B", self.a_count, self.b_count), ("C", self.b_count, len(self.ranked))]

    @property
    def customers(self) -> list[GradedCustomer]:
        """Every customer as a tuple: the ranked in rank order, then the D customers."""
        graded: list[GradedCustomer] = []
        for grade, start, stop in self.grade_runs():
            for index in range(start, stop):
                customer_id, _code, contribution, previous_grade = self.ranked[index]
                assert contribution is not None  # ranked: positive
                before = self.befores[index]
                graded.append(GradedCustomer(customer_id, contribution, before, index + 1, grade, previous_grade))
        return graded + self.d_customers

    @property
    def d_customers(self) -> list[GradedCustomer]:
        """The D customers (the only ones a change can alert on)."""
        return [
            GradedCustomer(row[0], NO_CONTRIBUTION if row[2] is None else row[2], None, None, "D", row[3])
            for row in self.unranked
        ]

    def share_before(self, customer: GradedCustomer) -> Decimal | None:
        """before / total: the cumulative share ranked above the customer (None for a D customer)."""
        return None if customer.before is None else customer.before / self.total


def _in_ranking_order(contributions: Sequence[Decimal], codes: Sequence[str]) -> bool:
    """Whether the rows already come by descending contribution, ties by code (the aggregation orders them so;
    checking costs two comparisons per row in C, sorting a key per row)."""
    if not all(map(ge, contributions, islice(contributions, 1, None))):
        return False
    return all(
        codes[index] < codes[index + 1]
        for index in compress(range(len(contributions) - 1), map(eq, contributions, islice(contributions, 1, None)))
    )


def _ranking_key(row: CustomerContribution) -> tuple[Decimal, str]:
    assert row[2] is not None
    return (-row[2], row[1])


def grade_customers(
    rows: Iterable[CustomerContribution], grading: CustomerGrading = DEFAULT_CUSTOMER_GRADING
) -> GradedMonth:
    """Every customer's grade for the month (DESIGN.md), from (customer_id, code, contribution, previous_grade) rows
    in any order.

    ``befores`` are the running sums of the ranked contributions. Every ranked contribution is positive, so they
    strictly increase, and "before < total * a_below" holds exactly for the first ``bisect_left(befores, total *
    a_below)`` ranks: the A run (the same for B). Exact: Decimal sums and comparisons, no rounding."""
    ranked: list[CustomerContribution] = []
    unranked: list[CustomerContribution] = []
    for row in rows:
        contribution = row[2]
        (ranked if contribution is not None and contribution > 0 else unranked).append(row)
    contributions = [row[2] for row in ranked if row[2] is not None]  # every one: ranked ones are positive
    if not _in_ranking_order(contributions, [row[1] for row in ranked]):
        ranked.sort(key=_ranking_key)  # descending contribution, ties by external code
        contributions = [row[2] for row in ranked if row[2] is not None]
    befores = list(accumulate(contributions, initial=Decimal(0)))
    total = befores.pop()
    a_count = bisect_left(befores, total * grading.a_below)
    b_count = bisect_left(befores, total * grading.b_below)
    return GradedMonth(ranked, befores, unranked, total, a_count, b_count)


class AlertKind(StrEnum):
    CHURN_RISK = "churn_risk"  # A or B last month, D now: visit the customer
    SLEEPING = "sleeping"  # C or D last month, D now: call the customer


ALERT_ACTIONS: Final[Mapping[AlertKind, str]] = {AlertKind.CHURN_RISK: "visit", AlertKind.SLEEPING: "call"}


def alert_for(previous_grade: str | None, grade: str) -> AlertKind | None:
    """The alert a month's grade raises, if any: A/B -> D churn risk, C/D -> D sleeping (DESIGN.md)."""
    if grade != "D" or previous_grade is None:
        return None
    if previous_grade in ("A", "B"):
        return AlertKind.CHURN_RISK
    if previous_grade in ("C", "D"):
        return AlertKind.SLEEPING
    return None


@dataclass(frozen=True)
class GradeShare:
    grade: str
    customers: int
    contribution: Decimal
    share: Decimal | None  # of the positive contributions counted; None when there are none


def grade_shares(counts: Iterable[tuple[str, int, Decimal]]) -> list[GradeShare]:
    """Per grade, A to D: the customers and contribution of the (grade, customers, contribution) counts, and the
    grade's share of the A to C contributions (D customers contribute nothing positive)."""
    by_grade: dict[str, tuple[int, Decimal]] = {}
    for grade, customers, contribution in counts:
        count, amount = by_grade.get(grade, (0, Decimal(0)))
        by_grade[grade] = (count + customers, amount + contribution)
    positive = sum((amount for grade, (_, amount) in by_grade.items() if grade != "D"), Decimal(0))
    return [
        GradeShare(
            grade,
            by_grade.get(grade, (0, Decimal(0)))[0],
            by_grade.get(grade, (0, Decimal("0.00")))[1],
            # normalize(): exponents from the division (0.00 / 1000.00 is 0E+2) are no business of the reader's
            (by_grade.get(grade, (0, Decimal(0)))[1] / positive).normalize() if positive > 0 else None,
        )
        for grade in GRADES
    ]
