"""GraphQL types of attribution: rule versions, pending orders and their credits, mutation results, errors.

Errors: mutations return `XResult = Success | AttributionErrors`. Each `AttributionError` implements the `Problem`
interface (field, a message in the reader's language) with `code` (AttributionErrorCode) and, for an invalid rules
config, `configCode` (AttributionConfigErrorCode) with `field` = the JSON path inside the rules, like schemes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from schema.common import JSON
from schema.errors import ProblemInterface, problem_fields
from tenants.attribution.errors import AttributionError as AttributionDomainError
from tenants.attribution.errors import AttributionErrorCode
from tenants.attribution.repository import CreditRecord, PendingRecord, RuleVersion
from tenants.attribution.service import Confirmed, Reattributed, RulesOverview
from tenants.errors import Problem
from tenants.rules.attribution_config import AttributionConfigErrorCode, AttributionConfigProblem

strawberry.enum(
    AttributionErrorCode,
    name="AttributionErrorCode",
    description="Why an attribution change was refused; stable, never renamed.",
)
strawberry.enum(
    AttributionConfigErrorCode,
    name="AttributionConfigErrorCode",
    description="Which rule of an attribution rules config failed; stable, never renamed.",
)


@strawberry.type(name="AttributionError", description="A refused attribution change; nothing was changed.")
class AttributionErrorType(ProblemInterface):
    code: AttributionErrorCode = strawberry.field(description="What went wrong.")
    config_code: AttributionConfigErrorCode | None = strawberry.field(
        default=None,
        description="Set when code is INVALID_CONFIG: which config rule failed; field is its JSON path in the rules.",
    )

    @classmethod
    def of(cls, problem: Problem[AttributionErrorCode]) -> AttributionErrorType:
        detail = problem.detail
        config_code = AttributionConfigErrorCode(detail) if detail is not None else None
        return cls(**problem_fields(problem), code=problem.code, config_code=config_code)


@strawberry.type(description="Every problem of a refused attribution change.")
class AttributionErrors:
    errors: list[AttributionErrorType] = strawberry.field(description="One per problem, in the order found.")

    @classmethod
    def of(cls, error: AttributionDomainError) -> AttributionErrors:
        return cls(errors=[AttributionErrorType.of(problem) for problem in error.problems])


@strawberry.type(description="One problem of an attribution rules config (validateAttributionRules).")
class AttributionConfigError(ProblemInterface):
    field: str = strawberry.field(description='JSON path inside the rules, e.g. "o2o.splits[1].share"; "" = the root.')
    code: AttributionConfigErrorCode = strawberry.field(description="Which config rule failed.")

    @classmethod
    def of(cls, problem: AttributionConfigProblem) -> AttributionConfigError:
        return cls(**{**problem_fields(problem), "field": problem.field or ""}, code=problem.code)


@strawberry.type(description="One version of the tenant's attribution rules; versions never change once saved.")
class AttributionRuleVersion:
    id: strawberry.ID = strawberry.field(description="The version's id.")
    number: int = strawberry.field(description="1, 2, ... in the order saved.")
    effective_from: date = strawberry.field(description="The first day it applies to, in the tenant's timezone.")
    effective_at: datetime = strawberry.field(description="The first instant it applies to (effectiveFrom's start).")
    config: JSON = strawberry.field(
        description="The rules: exclusive_guide, o2o, large_order_threshold, create_unknown_customers (defaults shown)."
    )
    created_by_user_id: strawberry.ID | None = strawberry.field(description="Who saved it (a user), if a user did.")
    created_at: datetime = strawberry.field(description="When it was saved.")

    @classmethod
    def of(cls, version: RuleVersion) -> AttributionRuleVersion:
        return cls(
            id=strawberry.ID(str(version.id)),
            number=version.number,
            effective_from=version.effective_from,
            effective_at=version.effective_at,
            config=JSON(version.config),
            created_by_user_id=None
            if version.created_by_user_id is None
            else strawberry.ID(str(version.created_by_user_id)),
            created_at=version.created_at,
        )


@strawberry.type(description="The tenant's attribution rules: the version in force now and every version.")
class AttributionRules:
    current: AttributionRuleVersion | None = strawberry.field(
        description="The version in force now; null when none is effective yet."
    )
    versions: list[AttributionRuleVersion] = strawberry.field(description="Every version, by number.")
    legacy_settings: bool = strawberry.field(
        description="True when no version was ever saved: ingestion still reads the tenant's unversioned settings."
    )

    @classmethod
    def of(cls, overview: RulesOverview) -> AttributionRules:
        return cls(
            current=None if overview.current is None else AttributionRuleVersion.of(overview.current),
            versions=[AttributionRuleVersion.of(version) for version in overview.versions],
            legacy_settings=overview.legacy_settings,
        )


@strawberry.type(description="A share of an order credited to a staff member or to a team's pool.")
class AttributionCredit:
    staff_code: str | None = strawberry.field(description="The staff member's code (null for a team pool).")
    team_code: str | None = strawberry.field(description="The team whose pool gets this share (null for staff).")
    share: Decimal | None = strawberry.field(description="The share (0..1); null: the whole amount (a team pool).")

    @classmethod
    def of(cls, credit: CreditRecord) -> AttributionCredit:
        return cls(staff_code=credit.staff_code, team_code=credit.team_code, share=credit.share)


@strawberry.type(description="A large order waiting for a manager's confirmation before it counts.")
class PendingAttribution:
    event_id: strawberry.ID = strawberry.field(description="The event's id (confirmAttribution's eventId).")
    external_id: str = strawberry.field(description="The merchant's externalId of the order.")
    occurred_at: datetime = strawberry.field(description="When the order happened.")
    amount: Decimal | None = strawberry.field(description="The order's amount.")
    staff_code: str | None = strawberry.field(description="The actor's staff code.")
    customer_code: str | None = strawberry.field(description="The customer's code.")
    team_code: str | None = strawberry.field(description="The order's team code.")
    attributes: JSON = strawberry.field(description="The order's attributes as sent.")
    credits: list[AttributionCredit] = strawberry.field(description="Who it is credited to now (rules or as sent).")

    @classmethod
    def of(cls, record: PendingRecord) -> PendingAttribution:
        return cls(
            event_id=strawberry.ID(str(record.id)),
            external_id=record.external_id,
            occurred_at=record.occurred_at,
            amount=record.amount,
            staff_code=record.staff_code,
            customer_code=record.customer_code,
            team_code=record.team_code,
            attributes=JSON(record.attributes),
            credits=[AttributionCredit.of(credit) for credit in record.credits],
        )


@strawberry.input(description="A credit a manager gives: exactly one of staff and team, and a share.")
class AttributionCreditInput:
    staff: str | None = strawberry.field(default=None, description="A staff code.")
    team: str | None = strawberry.field(default=None, description="A team code (that team's pool).")
    share: str = strawberry.field(description='A decimal string above 0 and at most 1, e.g. "0.3" (6 decimals max).')


@strawberry.type(description="The rules were saved as a new version.")
class AttributionRulesSaved:
    version: AttributionRuleVersion = strawberry.field(description="The version just saved.")
    rules: AttributionRules = strawberry.field(description="The rules now (current and every version).")


@strawberry.type(description="The order counts from now on.")
class AttributionConfirmed:
    event_id: strawberry.ID = strawberry.field(description="The confirmed order's event id.")
    external_id: str = strawberry.field(description="Its externalId.")
    credits_edited: bool = strawberry.field(description="Whether the manager's credits replaced the order's own.")
    refunds_confirmed: int = strawberry.field(description="Refunds of the order that waited with it and count now.")

    @classmethod
    def of(cls, confirmed: Confirmed) -> AttributionConfirmed:
        return cls(
            event_id=strawberry.ID(str(confirmed.event_id)),
            external_id=confirmed.external_id,
            credits_edited=confirmed.credits_edited,
            refunds_confirmed=confirmed.refunds_confirmed,
        )


@strawberry.type(description="What a reattribution changed (closed periods it touched are now stale).")
class Reattribution:
    events_examined: int = strawberry.field(description="Events in the range whose credits the rules resolved.")
    events_changed: int = strawberry.field(description="Of those, the ones whose credits changed.")
    refunds_changed: int = strawberry.field(description="Refunds that follow a changed order, or in the range.")

    @classmethod
    def of(cls, result: Reattributed) -> Reattribution:
        return cls(
            events_examined=result.events_examined,
            events_changed=result.events_changed,
            refunds_changed=result.refunds_changed,
        )


SaveAttributionRulesResult = Annotated[
    AttributionRulesSaved | AttributionErrors, strawberry.union("SaveAttributionRulesResult")
]
ConfirmAttributionResult = Annotated[
    AttributionConfirmed | AttributionErrors, strawberry.union("ConfirmAttributionResult")
]
ReattributeResult = Annotated[Reattribution | AttributionErrors, strawberry.union("ReattributeResult")]
