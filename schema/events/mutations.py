"""GraphQL mutations of the events domain: recordEvents (the integration contract) and confirmLargeOrders.

A batch over MAX_BATCH events, or over MAX_CONFIRM order ids, is refused whole by the service: an EventError, answered
as a GraphQL error with `extensions.code` TOO_MANY_ITEMS and a message in the reader's language
(schema/request_errors.py). `occurredAt` must fall in the deployment's range (settings.event_time_min/max).
"""

from __future__ import annotations

import strawberry

from schema.common import actor_of
from schema.context import Info
from schema.events.types import EventInput, LargeOrdersConfirmed, RecordEventsResult, as_contract
from schema.permissions import tenant_access
from tenants.events.confirmation import MAX_CONFIRM, confirm_large_orders
from tenants.events.service import record_events
from tenants.tenancy.auth import Role, Scope


@strawberry.type
class EventsMutation:
    @strawberry.mutation(extensions=tenant_access(Role.ADMIN, Scope.EVENTS_WRITE))
    async def record_events(self, info: Info, events: list[EventInput]) -> RecordEventsResult:
        settings = info.context.settings
        result = await record_events(
            info.context.tenant_id,
            events,
            as_contract,
            event_time_min=settings.event_time_min,
            event_time_max=settings.event_time_max,
        )
        return RecordEventsResult.of(result)


@strawberry.type
class EventConfirmationMutation:
    @strawberry.mutation(
        extensions=tenant_access(Role.MANAGER),
        description=f"At most {MAX_CONFIRM:,} ids per call: more refuse the call whole (TOO_MANY_ITEMS).",
    )
    async def confirm_large_orders(self, info: Info, external_ids: list[str]) -> LargeOrdersConfirmed:
        return LargeOrdersConfirmed.of(await confirm_large_orders(info.context.tenant_id, actor_of(info), external_ids))
