"""Every SQL statement of the access domain; each function takes the unit of work's connection.

Tables: `membership_team` (the teams a member manages; migration 0012), `staff.user_id` (a staff record's login) and
reads of `membership`, `team`. The tenant is filtered in every statement as well as by RLS (and it leads every index
used here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.db.codecs import json_value
from tenants.locks import advisory_key
from tenants.tenancy.identity import TenantId


@dataclass(frozen=True, slots=True)
class ScopeRow:
    staff_id: int | None
    team_ids: list[int]


@dataclass(frozen=True, slots=True)
class StaffLink:
    """A staff record and its login (user_id None: not linked)."""

    id: int
    code: str
    name: str
    team_id: int | None
    user_id: int | None


@dataclass(frozen=True, slots=True)
class TeamRef:
    id: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class AccessRow:
    """A login's own staff record (when linked) and the teams it manages (the roots, not their subtrees)."""

    staff: StaffLink | None
    staff_team_code: str | None
    managed_teams: list[TeamRef]


# The subtree of the managed teams: team_parent_idx (tenant_id, parent_id) serves each step; UNION (not ALL) stops on
# a team reached twice.
_SCOPE_SQL = """
WITH RECURSIVE managed(id) AS (
    SELECT mt.team_id FROM membership_team mt WHERE mt.tenant_id = $1 AND mt.user_id = $2 AND $3::boolean
    UNION
    SELECT t.id FROM team t JOIN managed m ON t.tenant_id = $1 AND t.parent_id = m.id
)
SELECT (SELECT s.id FROM staff s WHERE s.tenant_id = $1 AND s.user_id = $2) AS staff_id,
       ARRAY(SELECT id FROM managed ORDER BY id) AS team_ids
"""


async def scope_of_user(conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int, *, with_teams: bool) -> ScopeRow:
    """The login's staff record and (`with_teams`) every team under the teams it manages, in one statement."""
    rows = await conn.execute_query_dict(_SCOPE_SQL, [int(tenant_id), user_id, with_teams])
    row = rows[0]
    return ScopeRow(staff_id=row["staff_id"], team_ids=list(row["team_ids"] or []))


async def lock_access_changes(conn: BaseDBAsyncClient, tenant_id: TenantId) -> None:
    """Access changes of one tenant run one at a time: two links of the same login (or staff member) cannot both pass
    their checks and then collide on the unique index."""
    await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [advisory_key("access", int(tenant_id))])


async def member_role(conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int) -> str | None:
    """The member's role in the tenant; None when the user is not a member of it."""
    rows = await conn.execute_query_dict(
        "SELECT role FROM membership WHERE tenant_id = $1 AND user_id = $2", [int(tenant_id), user_id]
    )
    return str(rows[0]["role"]) if rows else None


def _staff_link(row: dict[str, Any]) -> StaffLink:
    return StaffLink(id=row["id"], code=row["code"], name=row["name"], team_id=row["team_id"], user_id=row["user_id"])


async def staff_by_code(conn: BaseDBAsyncClient, tenant_id: TenantId, code: str) -> StaffLink | None:
    rows = await conn.execute_query_dict(
        "SELECT id, code, name, team_id, user_id FROM staff WHERE tenant_id = $1 AND code = $2", [int(tenant_id), code]
    )
    return _staff_link(rows[0]) if rows else None


async def staff_of_user(conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int) -> StaffLink | None:
    rows = await conn.execute_query_dict(
        "SELECT id, code, name, team_id, user_id FROM staff WHERE tenant_id = $1 AND user_id = $2",
        [int(tenant_id), user_id],
    )
    return _staff_link(rows[0]) if rows else None


async def set_staff_user(conn: BaseDBAsyncClient, tenant_id: TenantId, staff_id: int, user_id: int | None) -> None:
    await conn.execute_query(
        "UPDATE staff SET user_id = $3 WHERE tenant_id = $1 AND id = $2", [int(tenant_id), staff_id, user_id]
    )


async def teams_by_code(conn: BaseDBAsyncClient, tenant_id: TenantId, codes: Sequence[str]) -> dict[str, TeamRef]:
    lookup = sorted(set(codes))
    if not lookup:
        return {}
    rows = await conn.execute_query_dict(
        "SELECT id, code, name FROM team WHERE tenant_id = $1 AND code = ANY($2::text[])", [int(tenant_id), lookup]
    )
    return {row["code"]: TeamRef(id=row["id"], code=row["code"], name=row["name"]) for row in rows}


async def member_teams(conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int) -> list[TeamRef]:
    """The teams the member manages (the roots of its scope), by code."""
    rows = await conn.execute_query_dict(
        "SELECT t.id, t.code, t.name FROM membership_team mt "
        "JOIN team t ON t.tenant_id = mt.tenant_id AND t.id = mt.team_id "
        "WHERE mt.tenant_id = $1 AND mt.user_id = $2 ORDER BY t.code",
        [int(tenant_id), user_id],
    )
    return [TeamRef(id=row["id"], code=row["code"], name=row["name"]) for row in rows]


async def replace_member_teams(
    conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int, team_ids: Sequence[int]
) -> None:
    """The member manages exactly `team_ids` afterwards (rows already there are kept as they are)."""
    ids = sorted(set(team_ids))
    await conn.execute_query(
        "DELETE FROM membership_team WHERE tenant_id = $1 AND user_id = $2 AND NOT (team_id = ANY($3::bigint[]))",
        [int(tenant_id), user_id, ids],
    )
    if ids:
        await conn.execute_query(
            "INSERT INTO membership_team (tenant_id, user_id, team_id) "
            "SELECT $1, $2, unnest($3::bigint[]) ON CONFLICT DO NOTHING",
            [int(tenant_id), user_id, ids],
        )


_ACCESS_SQL = """
SELECT s.id, s.code, s.name, s.team_id, s.user_id, st.code AS team_code,
       (SELECT coalesce(json_agg(json_build_object('id', t.id, 'code', t.code, 'name', t.name) ORDER BY t.code), '[]')
        FROM membership_team mt JOIN team t ON t.tenant_id = mt.tenant_id AND t.id = mt.team_id
        WHERE mt.tenant_id = $1 AND mt.user_id = $2) AS managed
FROM (SELECT 1) AS one
LEFT JOIN staff s ON s.tenant_id = $1 AND s.user_id = $2
LEFT JOIN team st ON st.tenant_id = s.tenant_id AND st.id = s.team_id
"""


async def access_of_user(conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int) -> AccessRow:
    """A login's own staff record (with its team's code) and the teams it manages, in one statement."""
    row = (await conn.execute_query_dict(_ACCESS_SQL, [int(tenant_id), user_id]))[0]
    managed = json_value(row["managed"]) or []
    return AccessRow(
        staff=_staff_link(row) if row["id"] is not None else None,
        staff_team_code=row["team_code"],
        managed_teams=[TeamRef(id=int(t["id"]), code=str(t["code"]), name=str(t["name"])) for t in managed],
    )
