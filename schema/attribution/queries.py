"""AttributionQuery: the rules (current and every version), a rules config checked without storing, and the orders
waiting for a manager (paged, scoped to the caller's teams, or their own orders for a staff login)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.attribution.types import AttributionConfigError, AttributionRules, PendingAttribution
from schema.common import JSON
from schema.context import Info
from schema.pagination import Page, page_request
from schema.permissions import tenant_access
from tenants.attribution import service
from tenants.rules.attribution_config import validate_attribution_config
from tenants.tenancy.auth import Role


@strawberry.type
class AttributionQuery:
    @strawberry.field(
        extensions=tenant_access(Role.MANAGER),
        description="The attribution rules: the version in force now and every version.",
    )
    async def attribution_rules(self, info: Info) -> AttributionRules:
        return AttributionRules.of(await service.rules_overview(info.context.tenant_id))

    @strawberry.field(
        extensions=tenant_access(Role.MANAGER),
        description="Every problem of an attribution rules config, without storing anything; [] when it is valid.",
    )
    def validate_attribution_rules(
        self, rules: Annotated[JSON, strawberry.argument(description="The rules config to check.")]
    ) -> list[AttributionConfigError]:
        return [AttributionConfigError.of(problem) for problem in validate_attribution_config(rules)]

    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="Large orders waiting for a manager, oldest first: a manager's teams, a staff member's own.",
    )
    async def pending_attributions(
        self,
        info: Info,
        limit: Annotated[int | None, strawberry.argument(description="Page size (the deployment caps it).")] = None,
        offset: Annotated[int | None, strawberry.argument(description="Orders to skip.")] = None,
    ) -> Page[PendingAttribution]:
        principal = info.context.principal
        assert principal is not None  # the permission requires one
        found = await service.pending_attributions(info.context.tenant_id, principal, page_request(info, limit, offset))
        return Page.of(found, PendingAttribution.of)
