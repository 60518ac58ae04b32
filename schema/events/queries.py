"""GraphQL queries of the events domain: a page of the tenant's events."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.context import Info
from schema.events.types import Event
from schema.pagination import Page, page_request
from schema.permissions import tenant_access
from tenants.events.listing import EventFilter, list_events
from tenants.tenancy.auth import Role, Scope


@strawberry.type
class EventsQuery:
    @strawberry.field(extensions=tenant_access(Role.MANAGER, Scope.EVENTS_READ))
    async def events(
        self,
        info: Info,
        type: str | None = None,
        staff: str | None = None,
        occurred_from: datetime | None = None,
        occurred_to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[Event]:
        found = await list_events(
            info.context.tenant_id,
            EventFilter(type=type, staff_code=staff, occurred_from=occurred_from, occurred_to=occurred_to),
            page_request(info, limit, offset),
        )
        return Page.of(found, Event.of)
