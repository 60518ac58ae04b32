"""GraphQL types of customer grading, alerts and service rules, converted from the domain's records (tenants/grading).

Errors: `GradingErrors` whose items are `Problem`s with the `GradingErrorCode` enum (and, for invalid service rules,
the rule check's `GradingRuleCode` as `ruleCode`), messages in the reader's language.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

import strawberry

from schema.common import JSON, global_id
from schema.errors import ProblemInterface, problem_fields
from schema.periods.types import Job
from tenants.errors import Problem
from tenants.grading.errors import GradingError, GradingErrorCode
from tenants.grading.repository import AlertRow, GradeRow
from tenants.grading.service import AlertPage, GradePage, GradeShare, GradeSummary, GradeTransition
from tenants.rules.followups import ServiceRules as ServiceRulesRecord
from tenants.rules.grading import GradingRuleCode

strawberry.enum(
    GradingErrorCode, name="GradingErrorCode", description="Why a grading, alert or service-rules request failed."
)
strawberry.enum(
    GradingRuleCode,
    name="GradingRuleCode",
    description="Which check of the service rules failed (with code INVALID_RULES; field is the JSON path).",
)


@strawberry.enum(description="A customer's grade for a month (DESIGN.md: A/B/C by contribution rank, D none).")
class CustomerGradeLetter(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


@strawberry.enum(description="Where an alert stands.")
class AlertState(StrEnum):
    OPEN = "open"
    DONE = "done"
    DISMISSED = "dismissed"


@strawberry.type(name="GradingError", description="A refused grading, alert or service-rules request.")
class GradingErrorType(ProblemInterface):
    code: GradingErrorCode = strawberry.field(description="What went wrong; branch on this.")
    rule_code: GradingRuleCode | None = strawberry.field(
        default=None, description="Set when code is INVALID_RULES: which rule check failed; field is its JSON path."
    )

    @classmethod
    def of(cls, problem: Problem[GradingErrorCode]) -> GradingErrorType:
        detail = problem.detail
        return cls(
            **problem_fields(problem),
            code=problem.code,
            rule_code=GradingRuleCode(detail) if detail is not None else None,
        )


@strawberry.type(description="Every problem of a refused request; nothing was changed.")
class GradingErrors:
    errors: list[GradingErrorType] = strawberry.field(description="One per problem, in the order found.")

    @classmethod
    def of(cls, error: GradingError) -> GradingErrors:
        return cls(errors=[GradingErrorType.of(problem) for problem in error.problems])


@strawberry.type(description="One customer's grade for a month, as stored by the month's grading.")
class CustomerGrade:
    customer_id: strawberry.ID = strawberry.field(description="The customer's global id.")
    customer_code: str = strawberry.field(description="The merchant's external code of the customer.")
    customer_name: str = strawberry.field(description="The customer's name (empty when never given).")
    guide_code: str | None = strawberry.field(description="The customer's exclusive guide (staff code), if bound.")
    contribution: Decimal = strawberry.field(
        description="Net order amount of the month (orders + refunds); 0 without orders; may be negative."
    )
    before: Decimal | None = strawberry.field(
        description="Sum of the contributions ranked above this customer; null for a D customer (not ranked)."
    )
    share_before: Decimal | None = strawberry.field(
        description="before / the month's total of positive contributions (A below 0.2, B below 0.6 by default)."
    )
    rank: int | None = strawberry.field(
        description="1-based rank by contribution (ties by customer code); null for a D customer."
    )
    grade: CustomerGradeLetter = strawberry.field(description="This month's grade.")
    previous_grade: CustomerGradeLetter | None = strawberry.field(
        description="The grade stored for the month before; null when that month was not graded or the customer is new."
    )

    @classmethod
    def of(cls, row: GradeRow) -> CustomerGrade:
        return cls(
            customer_id=global_id("Customer", row.customer_id),
            customer_code=row.customer_code,
            customer_name=row.customer_name,
            guide_code=row.guide_code,
            contribution=row.contribution,
            before=row.before,
            share_before=row.share_before,
            rank=row.rank,
            grade=CustomerGradeLetter(row.grade),
            previous_grade=CustomerGradeLetter(row.previous_grade) if row.previous_grade else None,
        )


@strawberry.type(description="A page of customer grades, in rank order then the D customers.")
class CustomerGradePage:
    items: list[CustomerGrade] = strawberry.field(description="At most `first` grades.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page; null when empty.")
    has_next_page: bool = strawberry.field(description="Whether more grades follow.")

    @classmethod
    def of(cls, page: GradePage) -> CustomerGradePage:
        return cls(
            items=[CustomerGrade.of(row) for row in page.rows],
            end_cursor=page.end_cursor,
            has_next_page=page.has_next_page,
        )


@strawberry.type(description="Customers of one grade in a month.")
class CustomerGradeCount:
    grade: CustomerGradeLetter = strawberry.field(description="The grade.")
    customers: int = strawberry.field(description="How many customers have it.")
    contribution: Decimal = strawberry.field(description="Their contributions added up.")
    share: Decimal | None = strawberry.field(
        description="Their contribution / the positive contributions of all grades (in your scope); null when "
        "there are none."
    )

    @classmethod
    def of(cls, share: GradeShare) -> CustomerGradeCount:
        return cls(
            grade=CustomerGradeLetter(share.grade),
            customers=share.customers,
            contribution=share.contribution,
            share=share.share,
        )


@strawberry.type(description="How many customers went from one grade last month to one this month.")
class GradeTransitionCount:
    previous_grade: CustomerGradeLetter | None = strawberry.field(
        description="Last month's grade; null: not graded last month (new customer, or the month was not graded)."
    )
    grade: CustomerGradeLetter = strawberry.field(description="This month's grade.")
    customers: int = strawberry.field(description="How many customers made this move.")

    @classmethod
    def of(cls, transition: GradeTransition) -> GradeTransitionCount:
        return cls(
            previous_grade=CustomerGradeLetter(transition.previous_grade) if transition.previous_grade else None,
            grade=CustomerGradeLetter(transition.grade),
            customers=transition.customers,
        )


@strawberry.type(
    name="GradeSummary",
    description="A graded month: counts and contribution share per grade, and the transition matrix.",
)
class MonthGradeSummary:
    month: str = strawberry.field(description="The month, e.g. 2026-10.")
    starts_at: datetime = strawberry.field(description="The month's first instant in the tenant's timezone.")
    ends_at: datetime = strawberry.field(description="The next month's first instant.")
    a_below: Decimal = strawberry.field(description="The A threshold used (share of the total ranked above).")
    b_below: Decimal = strawberry.field(description="The B threshold used.")
    total: Decimal = strawberry.field(description="The tenant's positive contributions of the month added up.")
    graded_at: datetime = strawberry.field(description="When the month was last graded.")
    grades: list[CustomerGradeCount] = strawberry.field(
        description="A, B, C, D in this order (customers in your scope)."
    )
    transitions: list[GradeTransitionCount] = strawberry.field(
        description="Every (last month's grade, this month's grade) pair that occurs, with its count."
    )

    @classmethod
    def of(cls, summary: GradeSummary) -> MonthGradeSummary:
        month = summary.month
        return cls(
            month=month.month,
            starts_at=month.starts_at,
            ends_at=month.ends_at,
            a_below=month.a_below,
            b_below=month.b_below,
            total=month.total,
            graded_at=month.graded_at,
            grades=[CustomerGradeCount.of(share) for share in summary.grades],
            transitions=[GradeTransitionCount.of(t) for t in summary.transitions],
        )


@strawberry.type(description="A customer whose grade fell to D: someone should visit or call them.")
class CustomerAlert:
    id: strawberry.ID = strawberry.field(description="The alert's global id (updateAlert takes it).")
    month: str = strawberry.field(description="The graded month that raised it.")
    customer_id: strawberry.ID = strawberry.field(description="The customer's global id.")
    customer_code: str = strawberry.field(description="The customer's external code.")
    customer_name: str = strawberry.field(description="The customer's name.")
    kind: str = strawberry.field(
        description="churn_risk (A or B last month, D now) or sleeping (C or D last month, D now)."
    )
    action: str = strawberry.field(description="What to do: visit (churn risk) or call (sleeping).")
    previous_grade: CustomerGradeLetter = strawberry.field(description="Last month's grade.")
    grade: CustomerGradeLetter = strawberry.field(description="This month's grade (D).")
    assignee_code: str | None = strawberry.field(
        description="The customer's exclusive guide (staff code) the alert is assigned to; null: the team's managers."
    )
    team_code: str | None = strawberry.field(description="The team whose managers see the alert.")
    state: AlertState = strawberry.field(description="open, done or dismissed.")
    note: str = strawberry.field(description="What was done or why it was dismissed.")
    created_at: datetime = strawberry.field(description="When the grading raised it.")
    updated_at: datetime = strawberry.field(description="When its state or note last changed.")

    @classmethod
    def of(cls, row: AlertRow) -> CustomerAlert:
        return cls(
            id=global_id("CustomerAlert", row.id),
            month=row.month,
            customer_id=global_id("Customer", row.customer_id),
            customer_code=row.customer_code,
            customer_name=row.customer_name,
            kind=row.kind,
            action=row.action,
            previous_grade=CustomerGradeLetter(row.previous_grade),
            grade=CustomerGradeLetter(row.grade),
            assignee_code=row.assignee_code,
            team_code=row.team_code,
            state=AlertState(row.state),
            note=row.note,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="A page of alerts, newest first.")
class CustomerAlertPage:
    items: list[CustomerAlert] = strawberry.field(description="At most `first` alerts.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page; null when empty.")
    has_next_page: bool = strawberry.field(description="Whether more alerts follow.")

    @classmethod
    def of(cls, page: AlertPage) -> CustomerAlertPage:
        return cls(
            items=[CustomerAlert.of(row) for row in page.rows],
            end_cursor=page.end_cursor,
            has_next_page=page.has_next_page,
        )


@strawberry.type(description="The tenant's service rules: grading thresholds and follow-up rules.")
class ServiceRules:
    a_below: Decimal = strawberry.field(description="Grade A while less than this share of the total ranks above.")
    b_below: Decimal = strawberry.field(description="Grade B while less than this share ranks above; else C.")
    config: JSON = strawberry.field(
        description='The whole config as stored: {"grading": {...}, "follow_up": [{"after", "needs", '
        '"within_hours", "emits"}]}.'
    )

    @classmethod
    def of(cls, rules: ServiceRulesRecord) -> ServiceRules:
        return cls(a_below=rules.grading.a_below, b_below=rules.grading.b_below, config=JSON(rules.as_json()))


@strawberry.type(description="The grading job was queued (or joined, when one for the month was queued already).")
class GradingStarted:
    job: Job = strawberry.field(description="Follow it with job(id).")


@strawberry.type(description="The alert after the change.")
class AlertUpdated:
    alert: CustomerAlert = strawberry.field(description="The alert as stored now.")


@strawberry.type(description="The service rules as saved.")
class ServiceRulesSaved:
    rules: ServiceRules = strawberry.field(description="What is in force from now on.")


GradeCustomersResult = Annotated[GradingStarted | GradingErrors, strawberry.union("GradeCustomersResult")]
UpdateAlertResult = Annotated[AlertUpdated | GradingErrors, strawberry.union("UpdateAlertResult")]
SaveServiceRulesResult = Annotated[ServiceRulesSaved | GradingErrors, strawberry.union("SaveServiceRulesResult")]
CustomerGradesResult = Annotated[CustomerGradePage | GradingErrors, strawberry.union("CustomerGradesResult")]
GradeSummaryResult = Annotated[MonthGradeSummary | GradingErrors, strawberry.union("GradeSummaryResult")]
MyAlertsResult = Annotated[CustomerAlertPage | GradingErrors, strawberry.union("MyAlertsResult")]
