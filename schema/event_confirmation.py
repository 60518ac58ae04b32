"""GraphQL: managers confirm large orders so they count."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

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
    @strawberry.mutation(extensions=tenant_access(Role.MANAGER))
    async def confirm_large_orders(self, info: Info, external_ids: list[str]) -> LargeOrdersConfirmed:
        if len(external_ids) > MAX_CONFIRM:
            raise GraphQLError(f"At most {MAX_CONFIRM} ids per call.", extensions={"code": "TOO_MANY_ITEMS"})
        result = await confirm_large_orders(info.context.tenant_id, actor_of(info), external_ids)
        return LargeOrdersConfirmed(confirmed=result.confirmed, not_pending=result.not_pending)
