"""Every statement of the exports domain, on the caller's unit of work's connection (service.py opens it once).

The lines are read with a server-side cursor (asyncpg, inside the unit of work's transaction) in batches, so that a
tenant of any size costs one batch of rows in memory at a time. Values only ever travel as bind parameters
(tenants.db.params.BindParams); the access scope adds its own condition (AccessScope.staff_condition).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

import asyncpg
from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.access.scope import AccessScope
from tenants.db.params import BindParams
from tenants.tenancy.identity import TenantId

# Rows per round trip of the cursor: large enough that round trips cost little, small enough to stay a few MB.
BATCH_ROWS = 5_000


@dataclass(frozen=True)
class ExportedPeriod:
    period_id: int
    key: str
    state: str
    revision: int
    closed_at: datetime | None
    approved_revision: int | None  # the revision whose statement an admin approved (locked for payroll), if any


class StatementLine(NamedTuple):
    """One posted ledger line with its staff member and the staff member's team (None: in no team)."""

    team_id: int | None
    team_code: str | None
    team_name: str | None
    staff_id: int
    staff_code: str
    staff_name: str
    revision: int
    kind: str
    rule_key: str
    amount: Decimal
    derivation: str
    # A prior-period adjustment: the period whose approved statement it corrects (paid in this one).
    corrects_period: str | None


async def scheme_and_period(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, key: str
) -> tuple[str, ExportedPeriod | None] | None:
    """The scheme's name and its period with the key, in one statement: None when the tenant has no such scheme,
    (name, None) when the scheme has no such period."""
    rows = await conn.execute_query_dict(
        "SELECT sc.name, p.id, p.key, p.state, p.revision, p.closed_at, p.approved_revision FROM scheme sc "
        "LEFT JOIN period p ON p.tenant_id = sc.tenant_id AND p.scheme_id = sc.id AND p.key = $3 "
        "WHERE sc.tenant_id = $1 AND sc.id = $2",
        [tenant_id, scheme_id, key],
    )
    if not rows:
        return None
    row = rows[0]
    if row["id"] is None:
        return str(row["name"]), None
    period = ExportedPeriod(
        row["id"], row["key"], row["state"], row["revision"], row["closed_at"], row["approved_revision"]
    )
    return str(row["name"]), period


def lines_query(tenant_id: TenantId, period_id: int, scope: AccessScope) -> tuple[str, list[object]]:
    """The statement and its values (the benchmark reads the very same rows as its reference)."""
    binds = BindParams(tenant_id, period_id)
    in_scope = scope.staff_condition(binds, "s")
    # Grouped by team (one sheet each; staff without a team last), then staff, then revision and posting order.
    sql = (
        "SELECT t.id, t.code, t.name, s.id, s.code, s.name, l.revision, l.kind, l.rule_key, l.amount, l.derivation, "
        "c.key "
        "FROM ledger_line l "
        "JOIN staff s ON s.tenant_id = l.tenant_id AND s.id = l.staff_id "
        "LEFT JOIN team t ON t.tenant_id = s.tenant_id AND t.id = s.team_id "
        "LEFT JOIN period c ON c.tenant_id = l.tenant_id AND c.id = l.corrects_period_id "
        f"WHERE l.tenant_id = $1 AND l.period_id = $2 AND {in_scope} "
        "ORDER BY t.code NULLS LAST, t.id, s.code, s.id, l.revision, l.id"
    )
    return sql, binds.values


def _asyncpg(conn: BaseDBAsyncClient) -> asyncpg.Connection:
    """The asyncpg connection of a Tortoise transaction, for a server-side cursor (which Tortoise does not offer)."""
    connection = conn._connection
    assert isinstance(connection, asyncpg.Connection)
    return connection


async def statement_lines(
    conn: BaseDBAsyncClient, tenant_id: TenantId, period_id: int, scope: AccessScope, batch_rows: int = BATCH_ROWS
) -> AsyncIterator[list[StatementLine]]:
    """The period's lines in scope, in batches, through a cursor of the unit of work's transaction."""
    sql, values = lines_query(tenant_id, period_id, scope)
    cursor = await _asyncpg(conn).cursor(sql, *values)
    while True:
        records = await cursor.fetch(batch_rows)
        if not records:
            return
        yield [StatementLine(*record) for record in records]
