"""GraphQL types of access: the caller's access, a staff record's login, a member's teams, and AccessError.

Refused changes are `AccessError`s (the `Problem` interface with a `code` from the `AccessErrorCode` enum and, for a
team code of a list, its `index`); the mutation results are unions `XSuccess | AccessErrors`.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.errors import ProblemInterface, problem_fields
from tenants.access.errors import AccessError, AccessErrorCode
from tenants.access.repository import StaffLink, TeamRef
from tenants.access.service import MemberTeams, MyAccess
from tenants.errors import Problem
from tenants.tenancy.auth import Role

strawberry.enum(
    AccessErrorCode,
    name="AccessErrorCode",
    description="Why an access change (a login link, a member's teams) is refused; stable, never renamed.",
)


@strawberry.type(name="AccessError", description="A refused access change; nothing was changed.")
class AccessErrorType(ProblemInterface):
    code: AccessErrorCode = strawberry.field(description="What is wrong; branch on this.")
    index: int | None = strawberry.field(description="For a team code of teamCodes: its position (0-based).")

    @classmethod
    def of(cls, problem: Problem[AccessErrorCode]) -> AccessErrorType:
        return cls(**problem_fields(problem), code=problem.code, index=problem.index)


@strawberry.type(description="Why an access change was refused (every problem at once); nothing was changed.")
class AccessErrors:
    errors: list[AccessErrorType] = strawberry.field(description="The problems, at least one.")

    @classmethod
    def of(cls, error: AccessError) -> AccessErrors:
        return cls(errors=[AccessErrorType.of(problem) for problem in error.problems])


def shown_user_id(user_id: int) -> strawberry.ID:
    """Users are shown with the plain id that `me { user { id } }` gives (tenancy's)."""
    return strawberry.ID(str(user_id))


@strawberry.type(description="A team a member manages; its whole subtree is in a manager's scope.")
class ManagedTeam:
    code: str = strawberry.field(description="The team's code.")
    name: str = strawberry.field(description="The team's name.")

    @classmethod
    def of(cls, team: TeamRef) -> ManagedTeam:
        return cls(code=team.code, name=team.name)


@strawberry.type(description="A staff record and its login.")
class StaffLogin:
    staff_code: str = strawberry.field(description="The staff member's code.")
    staff_name: str = strawberry.field(description="The staff member's name.")
    user_id: strawberry.ID | None = strawberry.field(description="The linked login's user id; null: not linked.")

    @classmethod
    def of(cls, staff: StaffLink) -> StaffLogin:
        return cls(
            staff_code=staff.code,
            staff_name=staff.name,
            user_id=shown_user_id(staff.user_id) if staff.user_id is not None else None,
        )


@strawberry.type(description="The login is linked to the staff record (or already was).")
class StaffUserLinked:
    staff: StaffLogin = strawberry.field(description="The staff record with its login.")


@strawberry.type(description="The staff record has no login any more.")
class StaffUserUnlinked:
    staff: StaffLogin = strawberry.field(description="The staff record, now without login.")


@strawberry.type(name="MemberTeams", description="The teams a member manages.")
class MemberTeamsType:
    user_id: strawberry.ID = strawberry.field(description="The member's user id.")
    role: Role = strawberry.field(description="The member's role (teams scope managers only).")
    teams: list[ManagedTeam] = strawberry.field(description="The managed teams, by code.")

    @classmethod
    def of(cls, member: MemberTeams) -> MemberTeamsType:
        return cls(
            user_id=shown_user_id(member.user_id), role=member.role, teams=[ManagedTeam.of(t) for t in member.teams]
        )


@strawberry.type(description="The member's teams were set.")
class MemberTeamsSet:
    member: MemberTeamsType = strawberry.field(description="The member with its teams as stored now.")


@strawberry.type(
    name="MyAccess",
    description=(
        "Who the caller is in its tenant and what it may see: owners, admins and API keys the whole tenant; a manager "
        "the teams it manages and every team below them; a staff login only its own staff record (nothing until "
        "linked)."
    ),
)
class MyAccessType:
    role: Role = strawberry.field(description="The caller's role (an API key acts as ADMIN).")
    user_id: strawberry.ID | None = strawberry.field(description="The caller's user id; null for an API key.")
    whole_tenant: bool = strawberry.field(description="True when every team and staff member is in scope.")
    staff_code: str | None = strawberry.field(description="The caller's own staff record's code, when linked.")
    staff_name: str | None = strawberry.field(description="The caller's own staff record's name, when linked.")
    staff_team_code: str | None = strawberry.field(description="The team of the caller's own staff record.")
    managed_teams: list[ManagedTeam] = strawberry.field(
        description="The teams the caller manages (the roots of a manager's scope), by code."
    )
    scope_team_count: int | None = strawberry.field(
        description="How many teams are in scope (managed teams and all below them); null for the whole tenant."
    )

    @classmethod
    def of(cls, access: MyAccess) -> MyAccessType:
        scope = access.scope
        return cls(
            role=scope.role,
            user_id=shown_user_id(scope.user_id) if scope.user_id is not None else None,
            whole_tenant=scope.whole_tenant,
            staff_code=access.staff.code if access.staff else None,
            staff_name=access.staff.name if access.staff else None,
            staff_team_code=access.staff_team_code,
            managed_teams=[ManagedTeam.of(team) for team in access.managed_teams],
            scope_team_count=len(scope.team_ids) if scope.team_ids is not None else None,
        )


LinkStaffUserResult = Annotated[StaffUserLinked | AccessErrors, strawberry.union("LinkStaffUserResult")]
UnlinkStaffUserResult = Annotated[StaffUserUnlinked | AccessErrors, strawberry.union("UnlinkStaffUserResult")]
SetMemberTeamsResult = Annotated[MemberTeamsSet | AccessErrors, strawberry.union("SetMemberTeamsResult")]
