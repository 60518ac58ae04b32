"""Master data listings: teams, staff and customers, one offset page each (`Page[Team]` is `TeamPage` in the SDL)."""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.pagination import Page, page_request
from schema.permissions import tenant_access
from schema.staff.types import Customer, Staff, Team
from tenants.staff import service
from tenants.tenancy.auth import Role, Scope


@strawberry.type
class StaffQuery:
    @strawberry.field(extensions=tenant_access(Role.MANAGER, Scope.STAFF_READ))
    async def teams(
        self,
        info: Info,
        parent: str | None = None,
        search: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[Team]:
        """Teams by code; `parent` keeps that team's direct children; `search` matches code or name."""
        found = await service.list_teams(
            info.context.tenant_id, parent=parent, search=search, page=page_request(info, limit, offset)
        )
        return Page.of(found, Team.of)

    @strawberry.field(extensions=tenant_access(Role.MANAGER, Scope.STAFF_READ))
    async def staff(
        self,
        info: Info,
        team: str | None = None,
        role: str | None = None,
        active: bool | None = None,
        search: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[Staff]:
        """Staff by code; `team` keeps the members of that team and of all teams under it."""
        found = await service.list_staff(
            info.context.tenant_id,
            team=team,
            role=role,
            active=active,
            search=search,
            page=page_request(info, limit, offset),
        )
        return Page.of(found, Staff.of)

    @strawberry.field(extensions=tenant_access(Role.MANAGER, Scope.STAFF_READ))
    async def customers(
        self,
        info: Info,
        guide: str | None = None,
        search: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[Customer]:
        """Customers by code; `guide` keeps the customers bound to that staff member."""
        found = await service.list_customers(
            info.context.tenant_id, guide=guide, search=search, page=page_request(info, limit, offset)
        )
        return Page.of(found, Customer.of)
