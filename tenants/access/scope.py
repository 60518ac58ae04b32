"""The access scope of a caller inside its tenant: which staff members' data it may see (issue 8 item 5).

Invariant: every read of people's data (scorecards, statements, ranks, staff, disputes...) goes through an
`AccessScope`, and the scope is never wider than the caller's membership:
- owner, admin, and API keys of the tenant: the whole tenant (`team_ids is None`);
- manager: the staff of the teams they manage and of every team below them (`membership_team` + the team tree), and
  their own staff record when they have one;
- staff: only their own staff record (`staff.user_id` link). A staff login that is not linked sees nothing.
RLS still keeps every statement inside the tenant; the scope narrows within it. Being outside the scope reads as
"not found", like another tenant's data.

`read_access_scope` costs one statement (none for an API key or a principal with nothing to read); repositories turn a
scope into a WHERE condition with `staff_condition` (same semantics as `allows_staff`, which checks one row in memory).
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.access import repository
from tenants.db.params import BindParams
from tenants.tenancy.auth import ApiKeyPrincipal, Principal, Role
from tenants.tenancy.identity import TenantId

__all__ = ["AccessScope", "read_access_scope"]

_WHOLE_TENANT_ROLES = frozenset({Role.OWNER, Role.ADMIN})


@dataclass(frozen=True)
class AccessScope:
    """What one caller may see. `team_ids is None` means the whole tenant."""

    role: Role  # API keys act with the tenant-wide reach of an admin (their scopes limit what, not whom)
    user_id: int | None  # None for an API key
    staff_id: int | None  # the login's own staff record (staff.user_id), when linked
    team_ids: frozenset[int] | None  # None: whole tenant; a manager: the managed subtrees; staff: empty
    api_key_id: int | None = None

    @property
    def whole_tenant(self) -> bool:
        return self.team_ids is None

    @property
    def own_data_only(self) -> bool:
        """A staff login: only its own staff record, whatever it asks for."""
        return self.role == Role.STAFF

    def allows_staff(self, staff_id: int, team_id: int | None) -> bool:
        """Whether the staff member `staff_id` (of team `team_id`) is inside this scope."""
        if self.team_ids is None:
            return True
        if self.staff_id is not None and staff_id == self.staff_id:
            return True
        return team_id is not None and team_id in self.team_ids

    def allows_team(self, team_id: int) -> bool:
        """Whether the team is inside this scope (a manager's subtree; staff see no team as a whole)."""
        return self.team_ids is None or team_id in self.team_ids

    def staff_condition(self, binds: BindParams, staff: str = "s") -> str:
        """An SQL condition on the `staff` table aliased `staff` keeping the rows in this scope (its values added to
        `binds`); "TRUE" for the whole tenant, "FALSE" when nothing is in scope."""
        if self.team_ids is None:
            return "TRUE"
        conditions = []
        if self.team_ids:
            conditions.append(f"{staff}.team_id = ANY({binds.add(sorted(self.team_ids))}::bigint[])")
        if self.staff_id is not None:
            conditions.append(f"{staff}.id = {binds.add(self.staff_id)}")
        return f"({' OR '.join(conditions)})" if conditions else "FALSE"

    def team_condition(self, binds: BindParams, team: str = "t") -> str:
        """An SQL condition on the `team` table aliased `team` keeping the teams in this scope."""
        if self.team_ids is None:
            return "TRUE"
        if not self.team_ids:
            return "FALSE"
        return f"{team}.id = ANY({binds.add(sorted(self.team_ids))}::bigint[])"


async def read_access_scope(conn: BaseDBAsyncClient, tenant_id: TenantId, principal: Principal) -> AccessScope:
    """The scope of `principal` (already authenticated as a member or API key of `tenant_id`), read on `conn` (a unit
    of work of that tenant) in one statement: the login's staff record and the subtree of the teams it manages."""
    if isinstance(principal, ApiKeyPrincipal):
        return AccessScope(role=Role.ADMIN, user_id=None, staff_id=None, team_ids=None, api_key_id=principal.api_key_id)
    if principal.role is None or principal.tenant_id != tenant_id:
        # Signed in to no tenant, or to another one: nothing of this tenant is in scope.
        return AccessScope(role=Role.STAFF, user_id=principal.user_id, staff_id=None, team_ids=frozenset())
    role = principal.role
    linked = await repository.scope_of_user(conn, tenant_id, principal.user_id, with_teams=role == Role.MANAGER)
    if role in _WHOLE_TENANT_ROLES:
        team_ids: frozenset[int] | None = None
    elif role == Role.MANAGER:
        team_ids = frozenset(linked.team_ids)
    else:
        team_ids = frozenset()
    return AccessScope(role=role, user_id=principal.user_id, staff_id=linked.staff_id, team_ids=team_ids)
