"""Access use cases: link a login to its staff record, set the teams a member manages, read a caller's access.

Invariants:
- One login per staff record and one staff record per login (checked here with a clear code, guaranteed by the
  unique index `staff_user_uniq`); a linked login is a member of the tenant (foreign key on membership).
- Every change is audited in the transaction that makes it; a refused change changes nothing and writes no audit row.
- Access changes of a tenant are serialised (an advisory lock), so concurrent links cannot both pass the checks.
- Another tenant's user, staff member or team is UNKNOWN_*, like one that does not exist.

Entry points open one unit of work each; `apply_member_access` runs on the caller's connection instead, so that
inviting a member (tenancy) and giving it its staff record and teams commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.access import repository
from tenants.access.errors import AccessError, AccessErrorCode
from tenants.access.repository import StaffLink, TeamRef
from tenants.access.scope import AccessScope, read_access_scope
from tenants.audit.service import Actor, record
from tenants.db.uow import tenant_unit_of_work
from tenants.errors import Problem
from tenants.i18n import _
from tenants.staff.checks import can_be_code
from tenants.tenancy.auth import Principal, Role
from tenants.tenancy.identity import TenantId

# A manager's scope is the subtree of each team: a handful of roots covers any real organisation.
MAX_MANAGED_TEAMS = 100


@dataclass(frozen=True)
class MemberTeams:
    """The teams a member manages (the roots of a manager's scope), by code."""

    user_id: int
    role: Role
    teams: list[TeamRef]


@dataclass(frozen=True)
class MemberAccess:
    """What `apply_member_access` left: the member's staff record (when linked) and managed teams."""

    user_id: int
    staff: StaffLink | None
    teams: list[TeamRef]


@dataclass(frozen=True)
class MyAccess:
    """Who the caller is inside the tenant: role, own staff record, managed teams, and the resulting scope."""

    scope: AccessScope
    staff: StaffLink | None
    staff_team_code: str | None
    managed_teams: list[TeamRef]


def _unknown_user(field: str = "userId") -> AccessError:
    error: AccessError = AccessError.of(
        AccessErrorCode.UNKNOWN_USER, _("No member of this tenant has this user id."), field
    )
    return error


def _unknown_staff(code: str, field: str = "staffCode") -> AccessError:
    error: AccessError = AccessError.of(
        AccessErrorCode.UNKNOWN_STAFF, _("No staff member has the code {code}.", code=code[:64]), field
    )
    return error


async def _member_role(conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int | None) -> Role:
    role = await repository.member_role(conn, tenant_id, user_id) if user_id is not None else None
    if role is None:
        raise _unknown_user()
    return Role(role)


async def _staff(conn: BaseDBAsyncClient, tenant_id: TenantId, code: str) -> StaffLink:
    staff = await repository.staff_by_code(conn, tenant_id, code) if can_be_code(code) else None
    if staff is None:
        raise _unknown_staff(code)
    return staff


async def _link(
    conn: BaseDBAsyncClient, tenant_id: TenantId, actor: Actor, staff: StaffLink, user_id: int
) -> StaffLink:
    if staff.user_id == user_id:
        return staff  # already so: nothing changes, nothing to audit
    if staff.user_id is not None:
        raise AccessError.of(
            AccessErrorCode.STAFF_ALREADY_LINKED,
            _("Staff member {code} already has another login; unlink it first.", code=staff.code),
            "staffCode",
        )
    other = await repository.staff_of_user(conn, tenant_id, user_id)
    if other is not None:
        raise AccessError.of(
            AccessErrorCode.USER_ALREADY_LINKED,
            _("This login is already linked to staff member {code}; unlink it first.", code=other.code),
            "userId",
        )
    await repository.set_staff_user(conn, tenant_id, staff.id, user_id)
    await record(conn, tenant_id, actor, "staff.link_user", "staff", staff.id, {"user_id": None}, {"user_id": user_id})
    return StaffLink(id=staff.id, code=staff.code, name=staff.name, team_id=staff.team_id, user_id=user_id)


async def link_staff_user(tenant_id: TenantId, actor: Actor, staff_code: str, user_id: int | None) -> StaffLink:
    """Links the login `user_id` (a member of the tenant, any role) to the staff member `staff_code`.

    Linking the same pair again changes nothing. A staff member with another login, or a login linked to another
    staff member, is refused (unlink first). `user_id` None (an id that cannot exist) is UNKNOWN_USER."""
    async with tenant_unit_of_work(tenant_id) as conn:
        await repository.lock_access_changes(conn, tenant_id)
        await _member_role(conn, tenant_id, user_id)
        staff = await _staff(conn, tenant_id, staff_code)
        assert user_id is not None  # _member_role refused None
        return await _link(conn, tenant_id, actor, staff, user_id)


async def unlink_staff_user(tenant_id: TenantId, actor: Actor, staff_code: str) -> StaffLink:
    """Removes the staff member's login link (the login stays a member; a staff login then sees nothing)."""
    async with tenant_unit_of_work(tenant_id) as conn:
        await repository.lock_access_changes(conn, tenant_id)
        staff = await _staff(conn, tenant_id, staff_code)
        if staff.user_id is None:
            raise AccessError.of(
                AccessErrorCode.NOT_LINKED, _("Staff member {code} has no login.", code=staff.code), "staffCode"
            )
        await repository.set_staff_user(conn, tenant_id, staff.id, None)
        await record(
            conn,
            tenant_id,
            actor,
            "staff.unlink_user",
            "staff",
            staff.id,
            {"user_id": staff.user_id},
            {"user_id": None},
        )
        return StaffLink(id=staff.id, code=staff.code, name=staff.name, team_id=staff.team_id, user_id=None)


async def _teams(conn: BaseDBAsyncClient, tenant_id: TenantId, codes: Sequence[str], field: str) -> list[TeamRef]:
    if len(codes) > MAX_MANAGED_TEAMS:
        raise AccessError.of(
            AccessErrorCode.TOO_MANY_TEAMS,
            _("A member manages at most {limit} teams; got {count}.", limit=MAX_MANAGED_TEAMS, count=len(codes)),
            field,
        )
    found = await repository.teams_by_code(conn, tenant_id, [code for code in codes if can_be_code(code)])
    problems = [
        Problem(
            AccessErrorCode.UNKNOWN_TEAM, _("No team has the code {code}.", code=code[:64]), f"{field}[{index}]", index
        )
        for index, code in enumerate(codes)
        if code not in found
    ]
    if problems:
        raise AccessError(problems)
    return sorted({found[code].id: found[code] for code in codes}.values(), key=lambda team: team.code)


async def _set_teams(
    conn: BaseDBAsyncClient, tenant_id: TenantId, actor: Actor, user_id: int, teams: list[TeamRef]
) -> None:
    before = await repository.member_teams(conn, tenant_id, user_id)
    if [team.id for team in before] == [team.id for team in teams]:
        return  # already so: nothing changes, nothing to audit
    await repository.replace_member_teams(conn, tenant_id, user_id, [team.id for team in teams])
    await record(
        conn,
        tenant_id,
        actor,
        "membership.set_teams",
        "membership",
        user_id,
        {"teams": [team.code for team in before]},
        {"teams": [team.code for team in teams]},
    )


async def set_member_teams(
    tenant_id: TenantId, actor: Actor, user_id: int | None, team_codes: Sequence[str]
) -> MemberTeams:
    """The member manages exactly these teams (and everything under them); an empty list removes them all.

    Teams scope managers; for other roles they are kept (they apply if the member becomes a manager) but widen or
    narrow nothing (owners and admins see the whole tenant, staff their own record). An unknown code refuses the
    whole list (each reported with its index); duplicates count once."""
    async with tenant_unit_of_work(tenant_id) as conn:
        await repository.lock_access_changes(conn, tenant_id)
        role = await _member_role(conn, tenant_id, user_id)
        assert user_id is not None
        teams = await _teams(conn, tenant_id, team_codes, "teamCodes")
        await _set_teams(conn, tenant_id, actor, user_id, teams)
        return MemberTeams(user_id=user_id, role=role, teams=teams)


async def apply_member_access(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    actor: Actor,
    user_id: int,
    *,
    team_codes: Sequence[str] | None = None,
    staff_code: str | None = None,
) -> MemberAccess:
    """For inviting a member: on the caller's unit of work (`conn`, of `tenant_id`, in which the membership of
    `user_id` already exists), link it to the staff member `staff_code` and/or set the teams it manages.

    None leaves that part as it is. Raises AccessError (UNKNOWN_STAFF, STAFF_ALREADY_LINKED, USER_ALREADY_LINKED,
    UNKNOWN_TEAM with `field` "teamCodes[i]", TOO_MANY_TEAMS, UNKNOWN_USER): the caller lets it roll its transaction
    back, so the invitation and its access are stored together or not at all. Audited like linkStaffUser and
    setMemberTeams."""
    await repository.lock_access_changes(conn, tenant_id)
    await _member_role(conn, tenant_id, user_id)
    staff: StaffLink | None = None
    if staff_code is not None:
        staff = await _link(conn, tenant_id, actor, await _staff(conn, tenant_id, staff_code), user_id)
    else:
        staff = await repository.staff_of_user(conn, tenant_id, user_id)
    if team_codes is not None:
        await _set_teams(conn, tenant_id, actor, user_id, await _teams(conn, tenant_id, team_codes, "teamCodes"))
    return MemberAccess(user_id=user_id, staff=staff, teams=await repository.member_teams(conn, tenant_id, user_id))


async def member_teams(tenant_id: TenantId, user_id: int | None) -> MemberTeams:
    """The teams a member manages; UNKNOWN_USER for a user who is not a member of the tenant."""
    async with tenant_unit_of_work(tenant_id) as conn:
        role = await _member_role(conn, tenant_id, user_id)
        assert user_id is not None
        return MemberTeams(user_id=user_id, role=role, teams=await repository.member_teams(conn, tenant_id, user_id))


async def access_scope(tenant_id: TenantId, principal: Principal) -> AccessScope:
    """The caller's scope in a unit of work of its own (inside a service, call `read_access_scope` on its conn)."""
    async with tenant_unit_of_work(tenant_id) as conn:
        return await read_access_scope(conn, tenant_id, principal)


async def my_access(tenant_id: TenantId, principal: Principal) -> MyAccess:
    """Who the caller is in the tenant: its scope, its own staff record and the teams it manages."""
    async with tenant_unit_of_work(tenant_id) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        if scope.user_id is None:
            return MyAccess(scope=scope, staff=None, staff_team_code=None, managed_teams=[])
        row = await repository.access_of_user(conn, tenant_id, scope.user_id)
    return MyAccess(scope=scope, staff=row.staff, staff_team_code=row.staff_team_code, managed_teams=row.managed_teams)
