"""Every statement of the disputes domain, on the connection of the caller's unit of work (never opens one).

Reads of people's data take the caller's `AccessScope` and filter with its `staff_condition` (tenants/access/scope.py);
RLS keeps every statement inside the tenant. Dynamic SQL holds only `$n` placeholders (tenants.db.params.BindParams).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from tenants.access.scope import AccessScope
from tenants.db.paging import Page, PageRequest
from tenants.db.params import BindParams
from tenants.disputes.models import Dispute
from tenants.tenancy.identity import TenantId


@dataclass(frozen=True, slots=True)
class DisputedLine:
    """A ledger line as a dispute needs it: whose, where, and its statement's approval."""

    id: int
    staff_id: int
    team_id: int | None
    period_id: int
    period_key: str
    scheme_id: int
    revision: int
    scheme_version_id: int
    rule_key: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class DisputeView:
    id: int
    ledger_line_id: int
    staff_id: int
    staff_code: str
    staff_name: str
    team_id: int | None
    scheme_id: int
    period_key: str  # the statement the disputed line is in
    rule_key: str  # the disputed line's
    line_amount: Decimal
    message: str
    state: str  # open | resolved
    raised_by_user_id: int
    raised_at: datetime
    resolution: str | None
    resolved_by_user_id: int | None
    resolved_at: datetime | None
    adjustment_line_id: int | None
    adjustment_amount: Decimal | None
    adjustment_period_key: str | None  # the statement the adjustment was posted into


async def line_in_scope(
    conn: BaseDBAsyncClient, tenant_id: TenantId, line_id: int, scope: AccessScope
) -> DisputedLine | None:
    """The ledger line when it exists in the tenant and its staff member is in `scope` (else None)."""
    binds = BindParams(int(tenant_id), line_id)
    condition = scope.staff_condition(binds, "s")
    rows = await conn.execute_query_dict(
        "SELECT l.id, l.staff_id, s.team_id, l.period_id, p.key AS period_key, p.scheme_id, l.revision, "
        "l.scheme_version_id, l.rule_key, l.amount FROM ledger_line l "
        "JOIN staff s ON s.tenant_id = l.tenant_id AND s.id = l.staff_id "
        "JOIN period p ON p.tenant_id = l.tenant_id AND p.id = l.period_id "
        f"WHERE l.tenant_id = $1 AND l.id = $2 AND {condition}",
        binds.values,
    )
    if not rows:
        return None
    r = rows[0]
    return DisputedLine(
        r["id"],
        r["staff_id"],
        r["team_id"],
        r["period_id"],
        r["period_key"],
        r["scheme_id"],
        r["revision"],
        r["scheme_version_id"],
        r["rule_key"],
        r["amount"],
    )


async def insert_dispute(
    conn: BaseDBAsyncClient, tenant_id: TenantId, line: DisputedLine, user_id: int, message: str
) -> int | None:
    """The new dispute's id; None when the line already has an open dispute (the transaction is then aborted: the
    caller must give up)."""
    try:
        dispute = await Dispute.create(
            using_db=conn,
            tenant_id=tenant_id,
            ledger_line_id=line.id,
            period_id=line.period_id,
            staff_id=line.staff_id,
            raised_by_user_id=user_id,
            message=message,
        )
    except IntegrityError:
        return None
    return int(dispute.id)


async def has_open_dispute(conn: BaseDBAsyncClient, tenant_id: TenantId, line_id: int) -> bool:
    return await Dispute.filter(tenant_id=tenant_id, ledger_line_id=line_id, state="open").using_db(conn).exists()


async def dispute_for_update(conn: BaseDBAsyncClient, tenant_id: TenantId, dispute_id: int) -> Dispute | None:
    return await Dispute.filter(tenant_id=tenant_id, id=dispute_id).select_for_update().using_db(conn).first()


async def mark_resolved(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    dispute_id: int,
    resolution: str,
    user_id: int | None,
    adjustment_line_id: int | None,
) -> None:
    await conn.execute_query(
        "UPDATE dispute SET state = 'resolved', resolution = $3, resolved_by_user_id = $4, resolved_at = now(), "
        "adjustment_line_id = $5 WHERE tenant_id = $1 AND id = $2 AND state = 'open'",
        [int(tenant_id), dispute_id, resolution, user_id, adjustment_line_id],
    )


_VIEW_COLUMNS: Final = (
    "d.id, d.ledger_line_id, d.staff_id, s.code AS staff_code, s.name AS staff_name, s.team_id, p.scheme_id, "
    "p.key AS period_key, l.rule_key, l.amount AS line_amount, d.message, d.state, d.raised_by_user_id, "
    "d.created_at AS raised_at, d.resolution, d.resolved_by_user_id, d.resolved_at, d.adjustment_line_id, "
    "a.amount AS adjustment_amount, ap.key AS adjustment_period_key"
)
_VIEW_FROM: Final = (
    "FROM dispute d "
    "JOIN staff s ON s.tenant_id = d.tenant_id AND s.id = d.staff_id "
    "JOIN ledger_line l ON l.tenant_id = d.tenant_id AND l.id = d.ledger_line_id "
    "JOIN period p ON p.tenant_id = d.tenant_id AND p.id = d.period_id "
    "LEFT JOIN ledger_line a ON a.tenant_id = d.tenant_id AND a.id = d.adjustment_line_id "
    "LEFT JOIN period ap ON ap.tenant_id = a.tenant_id AND ap.id = a.period_id "
)


def _view(r: dict[str, Any]) -> DisputeView:
    return DisputeView(
        id=r["id"],
        ledger_line_id=r["ledger_line_id"],
        staff_id=r["staff_id"],
        staff_code=r["staff_code"],
        staff_name=r["staff_name"],
        team_id=r["team_id"],
        scheme_id=r["scheme_id"],
        period_key=r["period_key"],
        rule_key=r["rule_key"],
        line_amount=r["line_amount"],
        message=r["message"],
        state=r["state"],
        raised_by_user_id=r["raised_by_user_id"],
        raised_at=r["raised_at"],
        resolution=r["resolution"],
        resolved_by_user_id=r["resolved_by_user_id"],
        resolved_at=r["resolved_at"],
        adjustment_line_id=r["adjustment_line_id"],
        adjustment_amount=r["adjustment_amount"],
        adjustment_period_key=r["adjustment_period_key"],
    )


async def dispute_in_scope(
    conn: BaseDBAsyncClient, tenant_id: TenantId, dispute_id: int, scope: AccessScope
) -> DisputeView | None:
    binds = BindParams(int(tenant_id), dispute_id)
    condition = scope.staff_condition(binds, "s")
    rows = await conn.execute_query_dict(
        f"SELECT {_VIEW_COLUMNS} {_VIEW_FROM} WHERE d.tenant_id = $1 AND d.id = $2 AND {condition}", binds.values
    )
    return _view(rows[0]) if rows else None


async def list_disputes(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    scope: AccessScope,
    page: PageRequest,
    *,
    state: str | None = None,
    team_id: int | None = None,
) -> Page[DisputeView]:
    """The disputes in scope, newest first; `team_id`: of that team's staff and of every team below it."""
    binds = BindParams(int(tenant_id))
    binds.where("d.tenant_id = $1")
    binds.where(scope.staff_condition(binds, "s"))
    binds.where_value("d.state = {}", state)
    subtree = ""
    if team_id is not None:
        subtree = (
            "WITH RECURSIVE subtree AS ("
            f"SELECT id FROM team WHERE tenant_id = $1 AND id = {binds.add(team_id)} "
            "UNION SELECT t.id FROM team t JOIN subtree ON t.parent_id = subtree.id WHERE t.tenant_id = $1) "
        )
        binds.where("s.team_id IN (SELECT id FROM subtree)")
    limit, offset = binds.add(page.limit), binds.add(page.offset)
    rows = await conn.execute_query_dict(
        f"{subtree}SELECT {_VIEW_COLUMNS}, count(*) OVER () AS total {_VIEW_FROM} WHERE {binds.sql} "
        f"ORDER BY d.id DESC LIMIT {limit} OFFSET {offset}",
        binds.values,
    )
    total = int(rows[0]["total"]) if rows else 0
    if not rows and page.offset > 0:
        count = await conn.execute_query_dict(
            f"{subtree}SELECT count(*) AS total {_VIEW_FROM} WHERE {binds.sql}", binds.values[:-2]
        )
        total = int(count[0]["total"])
    return Page(items=[_view(r) for r in rows], total=total, limit=page.limit, offset=page.offset)


async def disputes_of_lines(
    conn: BaseDBAsyncClient, tenant_id: TenantId, line_ids: Iterable[int]
) -> dict[int, list[DisputeView]]:
    """Ledger line id -> its disputes, oldest first (for statements: each line's dispute state and answer).
    The caller has already scoped the lines (a statement it may read); lines without disputes are absent."""
    ids = sorted(set(line_ids))
    if not ids:
        return {}
    rows = await conn.execute_query_dict(
        f"SELECT {_VIEW_COLUMNS} {_VIEW_FROM} WHERE d.tenant_id = $1 AND d.ledger_line_id = ANY($2::bigint[]) "
        "ORDER BY d.id",
        [int(tenant_id), ids],
    )
    found: dict[int, list[DisputeView]] = {}
    for row in rows:
        view = _view(row)
        found.setdefault(view.ledger_line_id, []).append(view)
    return found
