"""Every statement of live updates: which scorecards a close or a refresh changed, and whose they are.

A scorecard's digest is 64 bits of the md5 of what a reader sees of it (total, grade, rank, metric values, flags):
jsonb prints canonically, so equal scorecards have equal digests. Functions take the caller's unit of work's
connection (service.py opens it).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.tenancy.identity import TenantId

_DIGEST = (
    "('x' || left(md5(concat_ws('|', c.total::text, coalesce(c.grade, ''), c.rank::text, c.metrics::text, "
    "c.flags::text)), 16))::bit(64)::bigint"
)


async def scheme_exists(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int) -> bool:
    rows = await conn.execute_query_dict(
        "SELECT 1 FROM scheme WHERE tenant_id = $1 AND id = $2", [tenant_id, scheme_id]
    )
    return bool(rows)


class PeriodRef(NamedTuple):
    id: int
    revision: int


async def find_period(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, key: str) -> PeriodRef | None:
    rows = await conn.execute_query(
        "SELECT id, revision FROM period WHERE tenant_id = $1 AND scheme_id = $2 AND key = $3",
        [tenant_id, scheme_id, key],
    )
    return PeriodRef(int(rows[1][0][0]), int(rows[1][0][1])) if rows[1] else None


async def scorecard_digests(conn: BaseDBAsyncClient, tenant_id: TenantId, period: int, revision: int) -> dict[int, int]:
    """staff id -> digest of their scorecard of that revision (0: the provisional ones)."""
    rows = await conn.execute_query(
        f"SELECT c.staff_id, {_DIGEST} AS digest FROM scorecard c "
        "WHERE c.tenant_id = $1 AND c.period_id = $2 AND c.revision = $3",
        [tenant_id, period, revision],
    )
    return {row[0]: row[1] for row in rows[1]}


async def changed_by_reclose(conn: BaseDBAsyncClient, tenant_id: TenantId, period: int, revision: int) -> set[int]:
    """Staff whose scorecard differs between `revision` and the one before, or who got lines in `revision`."""
    rows = await conn.execute_query(
        f"""
        WITH now AS (SELECT c.staff_id, {_DIGEST} AS digest FROM scorecard c
                     WHERE c.tenant_id = $1 AND c.period_id = $2 AND c.revision = $3),
             before AS (SELECT c.staff_id, {_DIGEST} AS digest FROM scorecard c
                        WHERE c.tenant_id = $1 AND c.period_id = $2 AND c.revision = $3 - 1)
        SELECT coalesce(now.staff_id, before.staff_id) FROM now FULL JOIN before USING (staff_id)
        WHERE now.digest IS DISTINCT FROM before.digest
        UNION
        SELECT staff_id FROM ledger_line WHERE tenant_id = $1 AND period_id = $2 AND revision = $3
        """,
        [tenant_id, period, revision],
    )
    return {row[0] for row in rows[1]}


async def teams_of_staff(conn: BaseDBAsyncClient, tenant_id: TenantId, staff_ids: Collection[int]) -> set[int]:
    if not staff_ids:
        return set()
    rows = await conn.execute_query(
        "SELECT DISTINCT team_id FROM staff WHERE tenant_id = $1 AND id = ANY($2::bigint[]) AND team_id IS NOT NULL",
        [tenant_id, list(staff_ids)],
    )
    return {row[0] for row in rows[1]}


async def staff_paid_corrections(
    conn: BaseDBAsyncClient, tenant_id: TenantId, paid_in: int, corrected: int, revision: int
) -> set[int]:
    """Staff who got prior-period adjustment lines in the statement of `paid_in` for `revision` of `corrected`."""
    rows = await conn.execute_query(
        "SELECT DISTINCT staff_id FROM ledger_line WHERE tenant_id = $1 AND period_id = $2 "
        "AND corrects_period_id = $3 AND corrects_revision = $4",
        [tenant_id, paid_in, corrected, revision],
    )
    return {row[0] for row in rows[1]}
