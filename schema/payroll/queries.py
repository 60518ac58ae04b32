"""Payroll's queries: disputes (scoped, paged), one dispute, and a period's statement approval."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.common import parse_row_id
from schema.context import Info
from schema.pagination import Page, page_request
from schema.payroll.types import Dispute, DisputePage, DisputeState, StatementApproval
from schema.permissions import tenant_access
from tenants.disputes import service as disputes
from tenants.periods import approvals
from tenants.tenancy.auth import Role


@strawberry.type
class PayrollQuery:
    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="Disputes in your scope, newest first: staff see their own, managers their teams' (and every team "
        "below them), admins all.",
    )
    async def disputes(
        self,
        info: Info,
        state: Annotated[DisputeState | None, strawberry.argument(description="Only disputes in this state.")] = None,
        team: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only disputes of this team's staff and of the teams below it."),
        ] = None,
        limit: Annotated[int | None, strawberry.argument(description="Page size (capped by the server).")] = None,
        offset: Annotated[int | None, strawberry.argument(description="How many to skip.")] = None,
    ) -> DisputePage:
        principal = info.context.principal
        assert principal is not None
        page = page_request(info, limit, offset)
        team_id = parse_row_id(team, "Team") if team is not None else None
        if team is not None and team_id is None:
            return Page(items=[], total=0, limit=page.limit, offset=page.offset)
        found = await disputes.list_disputes(
            info.context.tenant_id,
            principal,
            page,
            state=state.value if state is not None else None,
            team_id=team_id,
        )
        return Page.of(found, Dispute.of)

    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="One dispute in your scope (staff: their own); null when there is none such for you.",
    )
    async def dispute(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The dispute.")]
    ) -> Dispute | None:
        principal = info.context.principal
        assert principal is not None
        dispute_id = parse_row_id(id, "Dispute")
        if dispute_id is None:
            return None
        found = await disputes.dispute(info.context.tenant_id, principal, dispute_id)
        return Dispute.of(found) if found is not None else None

    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="Whether the period's statements are approved (locked for payroll); null when the period has no "
        "statements yet.",
    )
    async def statement_approval(
        self,
        info: Info,
        scheme_id: Annotated[strawberry.ID, strawberry.argument(description="The scheme.")],
        period: Annotated[str, strawberry.argument(description="The period's key, e.g. 2026-10.")],
    ) -> StatementApproval | None:
        scheme = parse_row_id(scheme_id, "Scheme")
        if scheme is None:
            return None
        approval = await approvals.read_approval(info.context.tenant_id, scheme, period)
        return StatementApproval.of(approval) if approval is not None else None
