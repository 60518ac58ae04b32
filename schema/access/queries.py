"""Access queries: who am I (myAccess, every role and API keys) and a member's teams (admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.access.types import MemberTeamsType, MyAccessType
from schema.common import parse_row_id
from schema.context import Info
from schema.permissions import tenant_access
from tenants.access import service
from tenants.access.errors import AccessError
from tenants.tenancy.auth import Role, Scope


@strawberry.type
class AccessQuery:
    @strawberry.field(
        extensions=tenant_access(Role.STAFF, Scope.TENANT_READ),
        description=(
            "Who am I in this tenant: role, own staff record (code, name, team), the teams I manage, and whether I see "
            "the whole tenant. One small answer for the mini-program's first screen."
        ),
    )
    async def my_access(self, info: Info) -> MyAccessType:
        principal = info.context.principal
        assert principal is not None  # the permission requires one
        return MyAccessType.of(await service.my_access(info.context.tenant_id, principal))

    @strawberry.field(
        extensions=tenant_access(Role.ADMIN),
        description="The teams a member manages; null when the user is not a member of this tenant.",
    )
    async def member_teams(
        self, info: Info, user_id: Annotated[strawberry.ID, strawberry.argument(description="The member's user id.")]
    ) -> MemberTeamsType | None:
        try:
            return MemberTeamsType.of(await service.member_teams(info.context.tenant_id, parse_row_id(user_id, "User")))
        except AccessError:
            return None
