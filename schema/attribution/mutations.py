"""AttributionMutation: save the rules (a new version), confirm a pending order (optionally with other credits),
reattribute a date range. Each calls one service entry point and answers its AttributionError as AttributionErrors."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from schema.attribution.types import (
    AttributionConfirmed,
    AttributionCreditInput,
    AttributionErrors,
    AttributionRules,
    AttributionRulesSaved,
    AttributionRuleVersion,
    ConfirmAttributionResult,
    ReattributeResult,
    Reattribution,
    SaveAttributionRulesResult,
)
from schema.common import JSON, actor_of, parse_id
from schema.context import Info
from schema.permissions import tenant_access
from tenants.attribution import service
from tenants.attribution.errors import AttributionError, AttributionErrorCode
from tenants.tenancy.auth import Role


@strawberry.type
class AttributionMutation:
    @strawberry.mutation(
        extensions=tenant_access(Role.ADMIN),
        description=(
            "Save the attribution rules as a new version effective from a day (the tenant's timezone). Stored credits "
            "do not change (see reattribute). Invalid: every problem at once, nothing stored."
        ),
    )
    async def save_attribution_rules(
        self,
        info: Info,
        rules: Annotated[JSON, strawberry.argument(description="The rules config (attributionRules.current.config).")],
        effective_from: Annotated[date, strawberry.argument(description="The first day the version applies to.")],
    ) -> SaveAttributionRulesResult:
        tenant_id = info.context.tenant_id
        try:
            version = await service.save_rules(tenant_id, actor_of(info), rules, effective_from)
        except AttributionError as error:
            return AttributionErrors.of(error)
        return AttributionRulesSaved(
            version=AttributionRuleVersion.of(version),
            rules=AttributionRules.of(await service.rules_overview(tenant_id)),
        )

    @strawberry.mutation(
        extensions=tenant_access(Role.MANAGER),
        description=(
            "Confirm a large order waiting for a manager (in your teams), optionally with other credits; it counts "
            "from now on. Confirmed into a closed period: that period becomes stale (a re-close posts the delta)."
        ),
    )
    async def confirm_attribution(
        self,
        info: Info,
        event_id: Annotated[strawberry.ID, strawberry.argument(description="pendingAttributions' eventId.")],
        credits: Annotated[
            list[AttributionCreditInput] | None,
            strawberry.argument(
                description="Credits instead of the order's own (shares add up to 1); null: keep them."
            ),
        ] = None,
    ) -> ConfirmAttributionResult:
        principal = info.context.principal
        assert principal is not None  # the permission requires one
        parsed = parse_id(event_id)
        try:
            if parsed is None:
                raise AttributionError.of(AttributionErrorCode.NOT_FOUND, service.NO_SUCH_EVENT, "eventId")
            confirmed = await service.confirm_attribution(
                info.context.tenant_id,
                actor_of(info),
                principal,
                parsed,
                None
                if credits is None
                else [service.CreditInput(credit.staff, credit.team, credit.share) for credit in credits],
            )
        except AttributionError as error:
            return AttributionErrors.of(error)
        return AttributionConfirmed.of(confirmed)

    @strawberry.mutation(
        extensions=tenant_access(Role.ADMIN),
        description=(
            "Derive again, under the rules now in force, the credits the rules gave to events of these days (the "
            "tenant's timezone, both included); sent and manager-set credits stay. Closed periods touched go stale."
        ),
    )
    async def reattribute(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from", description="The first day.")],
        to: Annotated[date, strawberry.argument(description="The last day (included).")],
    ) -> ReattributeResult:
        try:
            result = await service.reattribute(info.context.tenant_id, actor_of(info), from_, to)
        except AttributionError as error:
            return AttributionErrors.of(error)
        return Reattribution.of(result)
