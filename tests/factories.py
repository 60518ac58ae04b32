"""Direct inserts of master data for tests that are not about master data (through the tenant unit of work)."""

from __future__ import annotations

from datetime import datetime

from tenants.db.uow import tenant_unit_of_work
from tenants.staff.models import Customer, Staff, Team
from tenants.tenancy.identity import TenantId


async def add_team(tenant_id: TenantId, code: str, parent_id: int | None = None, name: str | None = None) -> Team:
    async with tenant_unit_of_work(tenant_id):
        return await Team.create(tenant_id=tenant_id, code=code, name=name or code, parent_id=parent_id)


async def add_staff(
    tenant_id: TenantId, code: str, role: str = "guide", team_id: int | None = None, name: str | None = None
) -> Staff:
    async with tenant_unit_of_work(tenant_id):
        return await Staff.create(tenant_id=tenant_id, code=code, name=name or code, role=role, team_id=team_id)


async def add_customer(
    tenant_id: TenantId, code: str, guide_staff_id: int | None = None, bound_since: datetime | None = None
) -> Customer:
    async with tenant_unit_of_work(tenant_id):
        return await Customer.create(
            tenant_id=tenant_id, code=code, name=code, guide_staff_id=guide_staff_id, bound_since=bound_since
        )
