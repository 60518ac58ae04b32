"""Master data upserts: teams, staff and customers in batches keyed by the merchant's codes (tenants/staff/)."""

from __future__ import annotations

import strawberry

from schema.common import actor_of
from schema.context import Info
from schema.permissions import tenant_access
from schema.staff.types import CustomerInput, StaffInput, TeamInput, UpsertResult
from tenants.staff import service
from tenants.staff.checks import MAX_BATCH
from tenants.tenancy.auth import Role, Scope

_UPSERT_NOTE = (
    f"At most {MAX_BATCH:,} items: a larger batch is refused whole (TOO_MANY_ITEMS). Each item replaces the stored "
    "record with the same code (omitted optional fields take their defaults); refused items are reported in `errors` "
    "and do not stop the valid ones (text with a NUL or an unpaired surrogate, in any field, is INVALID_TEXT)."
)


@strawberry.type
class StaffMutation:
    @strawberry.mutation(extensions=tenant_access(Role.ADMIN, Scope.STAFF_WRITE), description=_UPSERT_NOTE)
    async def upsert_teams(self, info: Info, teams: list[TeamInput]) -> UpsertResult:
        items = [team.item() for team in teams]
        return UpsertResult.of(await service.upsert_teams(info.context.tenant_id, actor_of(info), items))

    @strawberry.mutation(extensions=tenant_access(Role.ADMIN, Scope.STAFF_WRITE), description=_UPSERT_NOTE)
    async def upsert_staff(self, info: Info, staff: list[StaffInput]) -> UpsertResult:
        items = [member.item() for member in staff]
        return UpsertResult.of(await service.upsert_staff(info.context.tenant_id, actor_of(info), items))

    @strawberry.mutation(extensions=tenant_access(Role.ADMIN, Scope.STAFF_WRITE), description=_UPSERT_NOTE)
    async def upsert_customers(self, info: Info, customers: list[CustomerInput]) -> UpsertResult:
        items = [customer.item() for customer in customers]
        return UpsertResult.of(await service.upsert_customers(info.context.tenant_id, actor_of(info), items))
