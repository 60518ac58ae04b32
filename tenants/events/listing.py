"""Reading events back (dashboards, integrators checking what arrived): pages of the tenant's events, oldest first,
with the merchant's codes."""

from __future__ import annotations

from tenants.db.paging import Page, PageRequest
from tenants.db.uow import tenant_unit_of_work
from tenants.events import repository
from tenants.events.repository import EventFilter, EventRecord
from tenants.tenancy.identity import TenantId

__all__ = ["EventFilter", "EventRecord", "list_events"]


async def list_events(tenant_id: TenantId, where: EventFilter, page: PageRequest) -> Page[EventRecord]:
    async with tenant_unit_of_work(tenant_id) as conn:
        return await repository.event_page(conn, tenant_id, where, page)
