"""Access changes (admins only, never API keys): link a login to its staff record, unlink it, set a member's teams.
Each calls one service entry point (audited there) and answers its AccessError as AccessErrors."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.access.types import (
    AccessErrors,
    LinkStaffUserResult,
    MemberTeamsSet,
    MemberTeamsType,
    SetMemberTeamsResult,
    StaffLogin,
    StaffUserLinked,
    StaffUserUnlinked,
    UnlinkStaffUserResult,
)
from schema.common import actor_of, parse_row_id
from schema.context import Info
from schema.permissions import tenant_access
from tenants.access import service
from tenants.access.errors import AccessError
from tenants.tenancy.auth import Role


@strawberry.type
class AccessMutation:
    @strawberry.mutation(
        extensions=tenant_access(Role.ADMIN),
        description=(
            "Link a login (a member of this tenant) to a staff record: a STAFF login then sees that staff member's "
            "scorecards, statements and rank, and nothing else. One login per staff member and one staff member per "
            "login (STAFF_ALREADY_LINKED / USER_ALREADY_LINKED: unlink first). Linking the same pair again is a no-op."
        ),
    )
    async def link_staff_user(
        self,
        info: Info,
        staff_code: Annotated[str, strawberry.argument(description="The staff member's code.")],
        user_id: Annotated[strawberry.ID, strawberry.argument(description="The login's user id (as in me.user.id).")],
    ) -> LinkStaffUserResult:
        try:
            staff = await service.link_staff_user(
                info.context.tenant_id, actor_of(info), staff_code, parse_row_id(user_id, "User")
            )
        except AccessError as error:
            return AccessErrors.of(error)
        return StaffUserLinked(staff=StaffLogin.of(staff))

    @strawberry.mutation(
        extensions=tenant_access(Role.ADMIN),
        description="Remove a staff record's login link (NOT_LINKED when it has none); the login stays a member.",
    )
    async def unlink_staff_user(
        self, info: Info, staff_code: Annotated[str, strawberry.argument(description="The staff member's code.")]
    ) -> UnlinkStaffUserResult:
        try:
            staff = await service.unlink_staff_user(info.context.tenant_id, actor_of(info), staff_code)
        except AccessError as error:
            return AccessErrors.of(error)
        return StaffUserUnlinked(staff=StaffLogin.of(staff))

    @strawberry.mutation(
        extensions=tenant_access(Role.ADMIN),
        description=(
            f"Set the teams a member manages (at most {service.MAX_MANAGED_TEAMS}; [] removes them all): a manager "
            "sees and acts on those teams and every team below them. Kept for other roles, where they change nothing. "
            "An unknown code refuses the whole list (UNKNOWN_TEAM with its index); duplicates count once."
        ),
    )
    async def set_member_teams(
        self,
        info: Info,
        user_id: Annotated[strawberry.ID, strawberry.argument(description="The member's user id (as in me.user.id).")],
        team_codes: Annotated[list[str], strawberry.argument(description="Codes of the teams the member manages.")],
    ) -> SetMemberTeamsResult:
        try:
            member = await service.set_member_teams(
                info.context.tenant_id, actor_of(info), parse_row_id(user_id, "User"), team_codes
            )
        except AccessError as error:
            return AccessErrors.of(error)
        return MemberTeamsSet(member=MemberTeamsType.of(member))
