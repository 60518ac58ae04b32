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
        description=(
            f"Count large orders waiting for confirmation. At most {MAX_CONFIRM:,} ids per call: more refuse the call "
            "whole (TOO_MANY_ITEMS). A manager confirms the orders of its teams' staff and teams only; others, unknown "
            "ids and orders not waiting are in notPending."
        ),
    )
    async def confirm_large_orders(self, info: Info, external_ids: list[str]) -> LargeOrdersConfirmed:
        # A manager confirms only orders in its scope (its teams' staff and teams); the others are notPending.
        confirmed = await confirm_large_orders(
            info.context.tenant_id, actor_of(info), external_ids, principal=info.context.principal
        )
        return LargeOrdersConfirmed.of(confirmed)
