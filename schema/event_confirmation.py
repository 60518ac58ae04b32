"""GraphQL: managers confirm large orders so they count.

Too many ids refuse the call whole: the domain's EventError, answered as a GraphQL error with `extensions.code`
TOO_MANY_ITEMS (an EventErrorCode) and a message in the reader's language (schema/request_errors.py).
"""

from __future__ import annotations

import strawberry

from schema.common import actor_of
from schema.context import Info
from schema.permissions import tenant_access
from tenants.events.confirmation import MAX_CONFIRM, confirm_large_orders
from tenants.tenancy.auth import Role


@strawberry.type
class LargeOrdersConfirmed:
    confirmed: list[str]
    not_pending: list[str] = strawberry.field(description="Unknown ids and orders that were not waiting.")


@strawberry.type
class EventConfirmationMutation:
    @strawberry.mutation(
        extensions=tenant_access(Role.MANAGER),
        description=f"At most {MAX_CONFIRM:,} ids per call: more refuse the call whole (TOO_MANY_ITEMS).",
    )
    async def confirm_large_orders(self, info: Info, external_ids: list[str]) -> LargeOrdersConfirmed:
        result = await confirm_large_orders(info.context.tenant_id, actor_of(info), external_ids)
        return LargeOrdersConfirmed(confirmed=result.confirmed, not_pending=result.not_pending)
