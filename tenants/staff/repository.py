"""Every SQL statement of master data. Functions take the connection of the caller's unit of work (never open one).

Writes are set-based: a batch costs a handful of statements whatever its size (`INSERT ... SELECT FROM unnest(...)
ON CONFLICT (tenant_id, code) DO UPDATE`, reporting per code whether the row was inserted). The audit's images of a
batch's rows (`team_images`, `staff_images`, `customer_images`) are one statement each whatever the number of codes;
with `lock` they take the rows FOR UPDATE, in code order, so nothing changes them between that read and the write.
Listings are offset pages:
one statement for the page and its total (a window count), a second only for a page past the end. Code lookups go
through tenants.db.codes.ids_by_code.

Every statement also filters on tenant_id although RLS would hide other tenants' rows anyway: the application scopes
by tenant and RLS is the second wall (DESIGN: tenant isolation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.db.paging import Page, PageRequest
from tenants.db.params import BindParams
from tenants.staff.records import CustomerRecord, StaffRecord, TeamRecord
from tenants.tenancy.identity import TenantId

R = TypeVar("R")


@dataclass(frozen=True)
class Written:
    """A row an upsert wrote: its code, and whether it was created (else updated)."""

    code: str
    inserted: bool


@dataclass(frozen=True)
class TeamRow:
    code: str
    name: str
    kind: str
    parent_code: str | None


@dataclass(frozen=True)
class StaffRow:
    code: str
    name: str
    role: str
    team_id: int | None
    active: bool
    hired_on: date | None
    left_on: date | None


@dataclass(frozen=True)
class CustomerRow:
    code: str
    name: str
    guide_id: int | None
    # None: kept while the guide is unchanged, else the time of the write (see upsert_customers).
    bound_since: datetime | None


async def _rows(conn: BaseDBAsyncClient, sql: str, values: list[Any]) -> list[dict[str, Any]]:
    # execute_query_dict always fetches; execute_query drops the rows of an INSERT ... RETURNING.
    rows: list[dict[str, Any]] = await conn.execute_query_dict(sql, values)
    return rows


def _written(rows: Iterable[dict[str, Any]]) -> list[Written]:
    return [Written(code=row["code"], inserted=row["inserted"]) for row in rows]


# --- teams ------------------------------------------------------------------------------------------------------------


async def lock_team_tree(conn: BaseDBAsyncClient, tenant_id: TenantId) -> None:
    """Team batches of one tenant take turns until commit: cycle checks read the stored tree, and two concurrent batches
    could each pass them and together close a cycle."""
    await conn.execute_query(
        "SELECT pg_advisory_xact_lock(hashtextextended('kaohe:team-tree:' || $1::bigint, 0))", [int(tenant_id)]
    )


async def stored_team_parents(
    conn: BaseDBAsyncClient, tenant_id: TenantId, codes: Sequence[str]
) -> dict[str, str | None]:
    """The stored teams with these codes and all their ancestors, each with its parent's code: enough of the tree to
    see every cycle a batch naming these teams (as items or parents) could close."""
    rows = await _rows(
        conn,
        """
        WITH RECURSIVE up AS (
            SELECT id, parent_id FROM team WHERE tenant_id = $1 AND code = ANY($2::text[])
            UNION
            SELECT t.id, t.parent_id FROM team t JOIN up ON t.tenant_id = $1 AND t.id = up.parent_id
        )
        SELECT t.code, p.code AS parent_code
        FROM up JOIN team t ON t.tenant_id = $1 AND t.id = up.id
        LEFT JOIN team p ON p.tenant_id = $1 AND p.id = up.parent_id
        """,
        [int(tenant_id), list(codes)],
    )
    return {row["code"]: row["parent_code"] for row in rows}


async def upsert_teams(conn: BaseDBAsyncClient, tenant_id: TenantId, teams: Sequence[TeamRow]) -> list[Written]:
    """Each row replaces the team with its code; parents may be other rows of the same call."""
    if not teams:
        return []
    # Two statements instead of a topological insert: new rows first (parents unset), then every row's parent by
    # code, which can now point at rows created a moment ago.
    rows = await _rows(
        conn,
        """
        INSERT INTO team AS t (tenant_id, code, name, kind, parent_id, created_at, updated_at)
        SELECT $1, i.code, i.name, i.kind, NULL, now(), now()
        FROM unnest($2::text[], $3::text[], $4::text[]) AS i(code, name, kind)
        ON CONFLICT (tenant_id, code) DO UPDATE
            SET name = EXCLUDED.name, kind = EXCLUDED.kind, updated_at = EXCLUDED.updated_at
        RETURNING t.code, (t.xmax = 0) AS inserted
        """,
        [int(tenant_id), [team.code for team in teams], [team.name for team in teams], [team.kind for team in teams]],
    )
    await conn.execute_query(
        """
        UPDATE team AS t SET parent_id = p.id
        FROM unnest($2::text[], $3::text[]) AS i(code, parent_code)
        LEFT JOIN team p ON p.tenant_id = $1 AND p.code = i.parent_code
        WHERE t.tenant_id = $1 AND t.code = i.code AND t.parent_id IS DISTINCT FROM p.id
        """,
        [int(tenant_id), [team.code for team in teams], [team.parent_code for team in teams]],
    )
    return _written(rows)


# --- staff ------------------------------------------------------------------------------------------------------------


async def upsert_staff(conn: BaseDBAsyncClient, tenant_id: TenantId, staff: Sequence[StaffRow]) -> list[Written]:
    """Each row replaces the staff member with its code; `user_id` (not master data) is never touched."""
    if not staff:
        return []
    rows = await _rows(
        conn,
        """
        INSERT INTO staff AS s
            (tenant_id, code, name, role, team_id, active, hired_on, left_on, created_at, updated_at)
        SELECT $1, i.code, i.name, i.role, i.team_id, i.active, i.hired_on, i.left_on, now(), now()
        FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::boolean[], $7::date[], $8::date[])
            AS i(code, name, role, team_id, active, hired_on, left_on)
        ON CONFLICT (tenant_id, code) DO UPDATE
            SET name = EXCLUDED.name, role = EXCLUDED.role, team_id = EXCLUDED.team_id,
                active = EXCLUDED.active, hired_on = EXCLUDED.hired_on, left_on = EXCLUDED.left_on,
                updated_at = EXCLUDED.updated_at
        RETURNING s.code, (s.xmax = 0) AS inserted
        """,
        [
            int(tenant_id),
            [member.code for member in staff],
            [member.name for member in staff],
            [member.role for member in staff],
            [member.team_id for member in staff],
            [member.active for member in staff],
            [member.hired_on for member in staff],
            [member.left_on for member in staff],
        ],
    )
    return _written(rows)


# --- customers --------------------------------------------------------------------------------------------------------


async def upsert_customers(
    conn: BaseDBAsyncClient, tenant_id: TenantId, customers: Sequence[CustomerRow]
) -> list[Written]:
    """Each row replaces the customer with its code. bound_since: the given time; else the stored one when the guide is
    unchanged (re-sending the same binding must not move it, or the protection window would restart on every sync);
    else now; none without a guide."""
    if not customers:
        return []
    rows = await _rows(
        conn,
        """
        INSERT INTO customer AS c (tenant_id, code, name, guide_staff_id, bound_since, created_at, updated_at)
        SELECT $1, i.code, i.name, i.guide_id,
               CASE WHEN i.guide_id IS NULL THEN NULL
                    WHEN i.bound_since IS NOT NULL THEN i.bound_since
                    WHEN old.guide_staff_id = i.guide_id THEN coalesce(old.bound_since, now())
                    ELSE now() END,
               now(), now()
        FROM unnest($2::text[], $3::text[], $4::bigint[], $5::timestamptz[])
            AS i(code, name, guide_id, bound_since)
        LEFT JOIN customer old ON old.tenant_id = $1 AND old.code = i.code
        ON CONFLICT (tenant_id, code) DO UPDATE
            SET name = EXCLUDED.name, guide_staff_id = EXCLUDED.guide_staff_id,
                bound_since = EXCLUDED.bound_since, updated_at = EXCLUDED.updated_at
        RETURNING c.code, (c.xmax = 0) AS inserted
        """,
        [
            int(tenant_id),
            [customer.code for customer in customers],
            [customer.name for customer in customers],
            [customer.guide_id for customer in customers],
            [customer.bound_since for customer in customers],
        ],
    )
    return _written(rows)


# --- audit images -----------------------------------------------------------------------------------------------------
#
# The business fields of each row as the audit log shows them: codes instead of ids (an id means nothing to a reader
# of the log), no tenant_id, no timestamps (the entry has its own time).

Image = dict[str, Any]


async def _images(
    conn: BaseDBAsyncClient, sql: str, tenant_id: TenantId, codes: Sequence[str], lock_of: str | None
) -> dict[str, Image]:
    if not codes:
        return {}
    # ORDER BY before FOR UPDATE: rows are locked in code order, so two batches never wait for each other in a cycle.
    locking = f" ORDER BY 1 FOR UPDATE OF {lock_of}" if lock_of else ""
    rows = await _rows(conn, sql + locking, [int(tenant_id), list(codes)])
    return {row["code"]: dict(row) for row in rows}


async def team_images(
    conn: BaseDBAsyncClient, tenant_id: TenantId, codes: Sequence[str], *, lock: bool = False
) -> dict[str, Image]:
    """The stored teams among `codes` (code, name, kind, parent_code); absent codes are absent from the result."""
    return await _images(
        conn,
        """
        SELECT t.code, t.name, t.kind, p.code AS parent_code
        FROM team t LEFT JOIN team p ON p.tenant_id = t.tenant_id AND p.id = t.parent_id
        WHERE t.tenant_id = $1 AND t.code = ANY($2::text[])
        """,
        tenant_id,
        codes,
        "t" if lock else None,
    )


async def staff_images(
    conn: BaseDBAsyncClient, tenant_id: TenantId, codes: Sequence[str], *, lock: bool = False
) -> dict[str, Image]:
    """The stored staff among `codes` (code, name, role, team_code, active, hired_on, left_on)."""
    return await _images(
        conn,
        """
        SELECT s.code, s.name, s.role, t.code AS team_code, s.active, s.hired_on, s.left_on
        FROM staff s LEFT JOIN team t ON t.tenant_id = s.tenant_id AND t.id = s.team_id
        WHERE s.tenant_id = $1 AND s.code = ANY($2::text[])
        """,
        tenant_id,
        codes,
        "s" if lock else None,
    )


async def customer_images(
    conn: BaseDBAsyncClient, tenant_id: TenantId, codes: Sequence[str], *, lock: bool = False
) -> dict[str, Image]:
    """The stored customers among `codes` (code, name, guide_code, bound_since, created_from_event)."""
    return await _images(
        conn,
        """
        SELECT c.code, c.name, g.code AS guide_code, c.bound_since, c.created_from_event
        FROM customer c LEFT JOIN staff g ON g.tenant_id = c.tenant_id AND g.id = c.guide_staff_id
        WHERE c.tenant_id = $1 AND c.code = ANY($2::text[])
        """,
        tenant_id,
        codes,
        "c" if lock else None,
    )


# --- listings ---------------------------------------------------------------------------------------------------------


def _search(where: BindParams, alias: str, search: str | None) -> None:
    """Code or name contains `search` (case-insensitive; blank: no condition)."""
    if search is not None and search.strip():
        pattern = where.add(_like(search.strip()))
        where.where(f"({alias}.code ILIKE {pattern} OR {alias}.name ILIKE {pattern})")


def _like(search: str) -> str:
    """A substring ILIKE pattern with the user's wildcards taken literally."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def _page(
    conn: BaseDBAsyncClient,
    where: BindParams,
    *,
    select: str,
    from_sql: str,
    order: str,
    page: PageRequest,
    record: Callable[[dict[str, Any]], R],
    with_sql: str = "",
) -> Page[R]:
    """One query for the page and its total (a window count); a second one only when the page is past the end."""
    condition = where.sql
    count_values = list(where.values)
    limit, offset = where.add(page.limit), where.add(page.offset)
    rows = await _rows(
        conn,
        f"{with_sql}SELECT {select}, count(*) OVER () AS total {from_sql} WHERE {condition} "
        f"ORDER BY {order} LIMIT {limit} OFFSET {offset}",
        where.values,
    )
    if rows:
        total = int(rows[0]["total"])
    elif page.offset == 0:
        total = 0
    else:
        count = await _rows(conn, f"{with_sql}SELECT count(*) AS total {from_sql} WHERE {condition}", count_values)
        total = int(count[0]["total"])
    return Page(items=[record(row) for row in rows], total=total, limit=page.limit, offset=page.offset)


async def teams_page(
    conn: BaseDBAsyncClient, tenant_id: TenantId, *, parent: str | None, search: str | None, page: PageRequest
) -> Page[TeamRecord]:
    """Teams ordered by code; `parent` keeps the direct children of that team."""
    where = BindParams(int(tenant_id))
    where.where("t.tenant_id = $1")
    where.where_value("p.code = {}", parent)
    _search(where, "t", search)
    return await _page(
        conn,
        where,
        select="t.id, t.code, t.name, t.kind, p.code AS parent_code, t.created_at, t.updated_at",
        from_sql="FROM team t LEFT JOIN team p ON p.tenant_id = t.tenant_id AND p.id = t.parent_id",
        order="t.code",
        page=page,
        record=_team,
    )


def _team(row: dict[str, Any]) -> TeamRecord:
    return TeamRecord(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        kind=row["kind"],
        parent_code=row["parent_code"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def staff_page(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    *,
    team: str | None,
    role: str | None,
    active: bool | None,
    search: str | None,
    page: PageRequest,
) -> Page[StaffRecord]:
    """Staff ordered by code; `team` keeps the members of that team and of every team under it."""
    where = BindParams(int(tenant_id))
    where.where("s.tenant_id = $1")
    subtree = ""
    if team is not None:
        team_code = where.add(team)
        subtree = (
            "WITH RECURSIVE subtree AS ("
            f" SELECT id FROM team WHERE tenant_id = $1 AND code = {team_code}"
            " UNION"
            " SELECT c.id FROM team c JOIN subtree ON c.tenant_id = $1 AND c.parent_id = subtree.id) "
        )
        where.where("s.team_id IN (SELECT id FROM subtree)")
    where.where_value("s.role = {}", role)
    where.where_value("s.active = {}", active)
    _search(where, "s", search)
    return await _page(
        conn,
        where,
        select="s.id, s.code, s.name, s.role, t.code AS team_code, s.active, s.hired_on, s.left_on, s.created_at,"
        " s.updated_at",
        from_sql="FROM staff s LEFT JOIN team t ON t.tenant_id = s.tenant_id AND t.id = s.team_id",
        order="s.code",
        page=page,
        record=_staff,
        with_sql=subtree,
    )


def _staff(row: dict[str, Any]) -> StaffRecord:
    return StaffRecord(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        role=row["role"],
        team_code=row["team_code"],
        active=row["active"],
        hired_on=row["hired_on"],
        left_on=row["left_on"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def customers_page(
    conn: BaseDBAsyncClient, tenant_id: TenantId, *, guide: str | None, search: str | None, page: PageRequest
) -> Page[CustomerRecord]:
    """Customers ordered by code; `guide` keeps the customers bound to that staff member."""
    where = BindParams(int(tenant_id))
    where.where("c.tenant_id = $1")
    where.where_value("g.code = {}", guide)
    _search(where, "c", search)
    return await _page(
        conn,
        where,
        select="c.id, c.code, c.name, g.code AS guide_code, c.bound_since, c.created_at, c.updated_at",
        from_sql="FROM customer c LEFT JOIN staff g ON g.tenant_id = c.tenant_id AND g.id = c.guide_staff_id",
        order="c.code",
        page=page,
        record=_customer,
    )


def _customer(row: dict[str, Any]) -> CustomerRecord:
    return CustomerRecord(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        guide_code=row["guide_code"],
        bound_since=row["bound_since"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
