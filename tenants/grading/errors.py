"""Expected failures of customer grading, alerts and service rules; the GraphQL layer maps them to typed errors.

A `GradingError` is the one error model's `DomainError`: `Problem`s with a `GradingErrorCode`, a translatable message
and the argument (or JSON path) they are about. Invalid service rules are reported whole: one problem per JSON path,
code INVALID_RULES and, as the detail, the rule check's own `GradingRuleCode`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from tenants.errors import DomainError, Problem
from tenants.rules.grading import RuleProblem


class GradingErrorCode(StrEnum):
    """Stable codes; never rename one."""

    INVALID_MONTH = "INVALID_MONTH"  # not a month key such as 2026-10, or a year out of range
    MONTH_NOT_OVER = "MONTH_NOT_OVER"  # a month is graded once it has ended in the tenant's timezone
    NOT_GRADED = "NOT_GRADED"  # the month has no stored grades yet
    INVALID_RULES = "INVALID_RULES"  # see the detail (GradingRuleCode) and field (a JSON path in the rules)
    NOT_FOUND = "NOT_FOUND"  # also another tenant's alert, or one outside the caller's scope
    INVALID_STATE = "INVALID_STATE"  # an alert's state is open, done or dismissed
    INVALID_NOTE = "INVALID_NOTE"  # too long, or text Postgres cannot store
    INVALID_PAGE = "INVALID_PAGE"  # a cursor this listing did not make
    INVALID_GRADE = "INVALID_GRADE"


class GradingError(DomainError[GradingErrorCode]):
    @classmethod
    def invalid_rules(cls, problems: Iterable[RuleProblem]) -> GradingError:
        return cls(
            Problem(GradingErrorCode.INVALID_RULES, problem.message, problem.field, detail=problem.code)
            for problem in problems
        )
