"""Every SQL statement of the scorecards read domain; each function takes the unit of work's connection.

Invariants:
- Each function is ONE statement whatever the number of rows, metrics or rules (issue 8 item 10): ranks within the
  team, participant counts, nets and the page's cursor are computed inside it (window functions, correlated sums on
  ledger_line_staff_idx), never by a query per row. The readers of whole periods (pages, one card, the team summary)
  run in a unit of work planned without nested loops (`tenant_unit_of_work(..., hash_joins_only=True)`, service.py).
- Ranks are those of the whole revision (every participant), computed before any filter: filtering a page by team,
  grade or name never renumbers anybody.
- Every read of people's data is narrowed by the caller's `AccessScope` (`staff_condition`), and the tenant is bound in
  every statement as well as enforced by RLS.
- SQL text holds only `$n` placeholders from `BindParams`; jsonb comes back as text and is decoded with `json_value`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.access.scope import AccessScope
from tenants.db.codecs import json_value
from tenants.db.params import BindParams
from tenants.tenancy.identity import TenantId


class CardOrder(StrEnum):
    """The orders of a scorecard listing; each ends with the staff code, so that it is total (a stable keyset)."""

    TOTAL_DESC = "TOTAL_DESC"
    TOTAL_ASC = "TOTAL_ASC"
    RANK = "RANK"
    NAME = "NAME"
    CODE = "CODE"


# order -> (ORDER BY, the keyset condition after a cursor (sort value, code) as a format string of two placeholders)
_ORDERS: dict[CardOrder, tuple[str, str]] = {
    CardOrder.TOTAL_DESC: ("v.total DESC, v.staff_code", "(v.total < {0} OR (v.total = {0} AND v.staff_code > {1}))"),
    CardOrder.TOTAL_ASC: ("v.total, v.staff_code", "(v.total, v.staff_code) > ({0}, {1})"),
    CardOrder.RANK: ("v.rank, v.staff_code", "(v.rank, v.staff_code) > ({0}, {1})"),
    CardOrder.NAME: ("v.staff_name, v.staff_code", "(v.staff_name, v.staff_code) > ({0}, {1})"),
    CardOrder.CODE: ("v.staff_code", "v.staff_code > {1}"),
}


def sort_value(order: CardOrder, row: CardRow) -> Any:
    """The value a cursor keeps for `row` under `order` (with the staff code)."""
    if order in (CardOrder.TOTAL_DESC, CardOrder.TOTAL_ASC):
        return row.total
    if order == CardOrder.RANK:
        return row.rank
    if order == CardOrder.NAME:
        return row.staff_name
    return None


# --- periods -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeriodRow:
    id: int
    scheme_id: int
    scheme_name: str
    key: str
    state: str
    revision: int
    starts_at: datetime
    ends_at: datetime
    closed_at: datetime | None
    provisional_at: datetime | None
    version_id: int | None  # the version of the revision's scorecards (else the period's)
    config: Any  # that version's config (raw JSON), None without a version
    tenant_timezone: str | None = None  # read with the period where it saves the request a statement


_PERIOD_COLUMNS = (
    "p.id, p.scheme_id, sc.name AS scheme_name, p.key, p.state, p.revision, p.starts_at, p.ends_at, p.closed_at, "
    "p.provisional_at, v.id AS version_id, v.config"
)


def _period_row(row: dict[str, Any]) -> PeriodRow:
    return PeriodRow(
        id=row["id"],
        scheme_id=row["scheme_id"],
        scheme_name=row["scheme_name"],
        key=row["key"],
        state=row["state"],
        revision=row["revision"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        closed_at=row["closed_at"],
        provisional_at=row["provisional_at"],
        version_id=row["version_id"],
        config=json_value(row["config"]),
        tenant_timezone=row.get("tenant_timezone"),
    )


async def period_context(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, key: str) -> PeriodRow | None:
    """The period with the version of its latest revision's scorecards (what labels, targets and progress read), and
    the tenant's timezone (the API shows times in it: read here, the request needs no statement of its own for it)."""
    rows = await conn.execute_query_dict(
        f"SELECT {_PERIOD_COLUMNS}, (SELECT t.timezone FROM tenant t WHERE t.id = $1) AS tenant_timezone "
        "FROM period p JOIN scheme sc ON sc.tenant_id = p.tenant_id AND sc.id = p.scheme_id "
        "LEFT JOIN LATERAL (SELECT c.scheme_version_id FROM scorecard c WHERE c.tenant_id = p.tenant_id "
        "  AND c.period_id = p.id AND c.revision = p.revision LIMIT 1) cv ON TRUE "
        "LEFT JOIN scheme_version v ON v.tenant_id = p.tenant_id AND v.id = coalesce(cv.scheme_version_id, "
        "  p.scheme_version_id) "
        "WHERE p.tenant_id = $1 AND p.scheme_id = $2 AND p.key = $3",
        [int(tenant_id), scheme_id, key],
    )
    return _period_row(rows[0]) if rows else None


# --- staff ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StaffRow:
    id: int
    code: str
    name: str
    role: str
    team_id: int | None
    team_code: str | None
    team_name: str | None


async def staff_in_scope(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scope: AccessScope, *, code: str | None = None
) -> StaffRow | None:
    """The staff member with `code` (None: the caller's own record) when the scope allows them."""
    binds = BindParams(int(tenant_id))
    if code is None:
        if scope.staff_id is None:
            return None
        condition = f"s.id = {binds.add(scope.staff_id)}"
    else:
        condition = f"s.code = {binds.add(code)} AND {scope.staff_condition(binds, 's')}"
    rows = await conn.execute_query_dict(
        "SELECT s.id, s.code, s.name, s.role, s.team_id, t.code AS team_code, t.name AS team_name FROM staff s "
        "LEFT JOIN team t ON t.tenant_id = s.tenant_id AND t.id = s.team_id "
        f"WHERE s.tenant_id = $1 AND {condition}",
        binds.values,
    )
    if not rows:
        return None
    row = rows[0]
    return StaffRow(
        row["id"], row["code"], row["name"], row["role"], row["team_id"], row["team_code"], row["team_name"]
    )


# --- scorecards ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CardRow:
    staff_id: int
    staff_code: str
    staff_name: str
    team_id: int | None
    team_code: str | None
    team_name: str | None
    revision: int
    provisional: bool
    computed_at: datetime
    total: Decimal
    grade: str | None
    rank: int  # among every participant of the revision
    team_rank: int  # among the participants of the same team (staff without a team: among those)
    participants: int
    team_participants: int
    metrics: list[dict[str, Any]]  # stored form (tenants/periods/stored.py); [] when not asked for
    flags: list[dict[str, Any]]
    net: Decimal  # every line posted into the period for the staff member, all revisions


# Every card of the revision, ranked before any filter (the ranks are the period's, not the page's). Narrow on
# purpose: the window functions sort every participant, so only what ranking, filters and orders need travels through
# them; the wide columns (metrics, flags, team names) are joined for the returned rows only (_DETAILS).
_RANKED = """
ranked AS (
    SELECT c.staff_id AS id, s.code AS staff_code, s.name AS staff_name, s.team_id, c.total, c.grade, c.rank,
           rank() OVER (PARTITION BY s.team_id ORDER BY c.total DESC) AS team_rank,
           count(*) OVER (PARTITION BY s.team_id) AS team_participants
    FROM scorecard c
    JOIN staff s ON s.tenant_id = c.tenant_id AND s.id = c.staff_id
    WHERE c.tenant_id = $1 AND c.period_id = $2 AND c.revision = $3
)"""

# The columns of a returned row `q` (a row of `ranked`), with its card's details joined as `c` and its team as `t`.
_ROW_COLUMNS = (
    "q.id, q.staff_code, q.staff_name, q.team_id, t.code AS team_code, t.name AS team_name, c.revision, "
    "c.provisional, c.computed_at, q.total, q.grade, q.rank, q.team_rank, q.team_participants, {details}"
    "(SELECT count(*) FROM scorecard n WHERE n.tenant_id = $1 AND n.period_id = $2 AND n.revision = $3) "
    "AS participants, "
    "(SELECT coalesce(sum(l.amount), 0) FROM ledger_line l WHERE l.tenant_id = $1 AND l.period_id = $2 "
    "AND l.staff_id = q.id) AS net"
)
_ROW_JOINS = (
    "LEFT JOIN scorecard c ON c.tenant_id = $1 AND c.period_id = $2 AND c.revision = $3 AND c.staff_id = q.id "
    "LEFT JOIN team t ON t.tenant_id = $1 AND t.id = q.team_id"
)


def _row_columns(with_details: bool) -> str:
    return _ROW_COLUMNS.format(details="c.metrics, c.flags, " if with_details else "")


# The subtree of a team given by code (the team itself and every team below it).
_SUBTREE = """
subtree(id) AS (
    SELECT t.id FROM team t WHERE t.tenant_id = $1 AND t.code = {code}
    UNION
    SELECT t.id FROM team t JOIN subtree st ON t.tenant_id = $1 AND t.parent_id = st.id
)"""


def _card_row(row: dict[str, Any]) -> CardRow:
    return CardRow(
        staff_id=row["id"],
        staff_code=row["staff_code"],
        staff_name=row["staff_name"],
        team_id=row["team_id"],
        team_code=row["team_code"],
        team_name=row["team_name"],
        revision=row["revision"],
        provisional=row["provisional"],
        computed_at=row["computed_at"],
        total=row["total"],
        grade=row["grade"],
        rank=row["rank"],
        team_rank=row["team_rank"],
        participants=row["participants"],
        team_participants=row["team_participants"],
        metrics=json_value(row["metrics"]) if row.get("metrics") is not None else [],
        flags=json_value(row["flags"]) if row.get("flags") is not None else [],
        net=row["net"],
    )


async def one_card(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    period: PeriodRow,
    *,
    staff_id: int,
) -> CardRow | None:
    """One staff member's card of the period's latest revision, with ranks and net (the caller checked the scope)."""
    binds = BindParams(int(tenant_id), period.id, period.revision)
    me = binds.add(staff_id)
    rows = await conn.execute_query_dict(
        f"WITH {_RANKED} SELECT {_row_columns(True)} FROM (SELECT * FROM ranked WHERE id = {me}) q {_ROW_JOINS}",
        binds.values,
    )
    return _card_row(rows[0]) if rows else None


@dataclass(frozen=True, slots=True)
class CardFilter:
    team_code: str | None = None  # the team's subtree
    grade: str | None = None
    search: str | None = None  # in the name or the code, case-insensitive, literal (no wildcards)


@dataclass(frozen=True, slots=True)
class CardPage:
    rows: list[CardRow]  # at most `limit`
    has_next: bool
    total_count: int  # rows matching the scope and filters
    me: CardRow | None  # the caller's own row when asked for (leaderboard), wherever it is


def _like_literal(text: str) -> str:
    """`text` as a LIKE pattern matching itself anywhere (backslash is the escape character)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def card_page(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    period: PeriodRow,
    scope: AccessScope,
    *,
    filters: CardFilter,
    order: CardOrder,
    after: tuple[Any, str] | None,
    limit: int,
    with_details: bool,
    me: int | None = None,
    apply_scope: bool = True,
) -> CardPage:
    """A keyset page of the period's latest scorecards in scope, with the number of matches; with `me`, that staff
    member's row as well, outside the filters and the page (a leaderboard always shows the reader's own row)."""
    binds = BindParams(int(tenant_id), period.id, period.revision)
    ctes = [_RANKED]
    conditions = [scope.staff_condition(binds, "r") if apply_scope else "TRUE"]
    if filters.team_code is not None:
        ctes.insert(0, _SUBTREE.format(code=binds.add(filters.team_code)))
        conditions.append("r.team_id IN (SELECT id FROM subtree)")
    if filters.grade is not None:
        conditions.append(f"r.grade = {binds.add(filters.grade)}")
    if filters.search:
        pattern = binds.add(_like_literal(filters.search))
        conditions.append(f"(r.staff_name ILIKE {pattern} OR r.staff_code ILIKE {pattern})")
    ctes.append(f"visible AS (SELECT r.* FROM ranked r WHERE {' AND '.join(conditions)})")
    order_by, keyset = _ORDERS[order]
    cursor_condition = "TRUE"
    if after is not None:
        value, code = after
        if order == CardOrder.CODE:
            value_placeholder = ""
        else:
            cast = {CardOrder.TOTAL_DESC: "numeric", CardOrder.TOTAL_ASC: "numeric", CardOrder.RANK: "int"}
            value_placeholder = f"{binds.add(value)}::{cast.get(order, 'text')}"
        cursor_condition = keyset.format(value_placeholder, binds.add(code))
    page_sql = (
        f"SELECT v.*, FALSE AS extra, row_number() OVER (ORDER BY {order_by}) AS position "
        f"FROM visible v WHERE {cursor_condition} "
        f"ORDER BY {order_by} LIMIT {binds.add(limit + 1)}"
    )
    if me is not None:
        mine = binds.add(me)
        page_sql = (
            f"(SELECT * FROM ({page_sql}) page) UNION ALL "
            f"(SELECT r.*, TRUE AS extra, 0::bigint AS position FROM ranked r WHERE r.id = {mine})"
        )
    prefix = "WITH RECURSIVE " if filters.team_code is not None else "WITH "
    # The count's row always comes back, so an empty page still says how many rows match; the page's rows (at most
    # limit + 2) get their details joined here, after the ranking and the LIMIT.
    sql = (
        f"{prefix}{', '.join(ctes)} "
        f"SELECT {_row_columns(with_details)}, q.extra, q.position, n.total_count "
        "FROM (SELECT count(*) AS total_count FROM visible) n "
        f"LEFT JOIN ({page_sql}) q ON TRUE {_ROW_JOINS} ORDER BY q.extra, q.position"
    )
    rows = await conn.execute_query_dict(sql, binds.values)
    total_count = int(rows[0]["total_count"])
    found = [row for row in rows if row["id"] is not None]
    page_rows = [row for row in found if not row["extra"]]
    mine_rows = [row for row in found if row["extra"]]
    return CardPage(
        rows=[_card_row(row) for row in page_rows[:limit]],
        has_next=len(page_rows) > limit,
        total_count=total_count,
        me=_card_row(mine_rows[0]) if mine_rows else None,
    )


# --- statements ----------------------------------------------------------------------------------------------------


# The approval columns of a period (migration 0014; tenants/periods/approvals.py gives them meaning).
APPROVAL_COLUMNS = (
    "approved_at",
    "approved_by_user_id",
    "approved_revision",
    "reopened_at",
    "reopened_by_user_id",
    "reopen_reason",
)


@dataclass(frozen=True, slots=True)
class StatementPeriodRow:
    period: PeriodRow
    card_total: Decimal | None  # the staff member's card of the latest revision, when there is one
    card_metrics: list[dict[str, Any]]
    card_state: Any  # the stored exact aggregates of that card ({"m": ..., "p": ...}) or None
    card_team_code: str | None
    approval: dict[str, Any]  # the period's approval columns (tenants/periods/approvals.py reads them)


async def statement_periods(
    conn: BaseDBAsyncClient, tenant_id: TenantId, key: str, staff_id: int, scheme_id: int | None
) -> list[StatementPeriodRow]:
    """Every period with this key (of one scheme, or of every scheme) with the staff member's latest card."""
    binds = BindParams(int(tenant_id), key, staff_id)
    scheme_condition = "TRUE" if scheme_id is None else f"p.scheme_id = {binds.add(scheme_id)}"
    rows = await conn.execute_query_dict(
        f"SELECT {_PERIOD_COLUMNS}, c.total AS card_total, c.metrics AS card_metrics, c.state AS card_state, "
        f"t.code AS card_team_code, {', '.join(f'p.{column}' for column in APPROVAL_COLUMNS)} FROM period p "
        "JOIN scheme sc ON sc.tenant_id = p.tenant_id AND sc.id = p.scheme_id "
        "LEFT JOIN scorecard c ON c.tenant_id = p.tenant_id AND c.period_id = p.id AND c.revision = p.revision "
        "  AND c.staff_id = $3 "
        "LEFT JOIN LATERAL (SELECT c2.scheme_version_id FROM scorecard c2 WHERE c2.tenant_id = p.tenant_id "
        "  AND c2.period_id = p.id AND c2.revision = p.revision LIMIT 1) cv ON TRUE "
        "LEFT JOIN scheme_version v ON v.tenant_id = p.tenant_id AND v.id = coalesce(c.scheme_version_id, "
        "  cv.scheme_version_id, p.scheme_version_id) "
        "LEFT JOIN staff s ON s.tenant_id = p.tenant_id AND s.id = $3 "
        "LEFT JOIN team t ON t.tenant_id = s.tenant_id AND t.id = s.team_id "
        f"WHERE p.tenant_id = $1 AND p.key = $2 AND {scheme_condition} ORDER BY sc.name, p.scheme_id",
        binds.values,
    )
    return [
        StatementPeriodRow(
            period=_period_row(row),
            card_total=row["card_total"],
            card_metrics=json_value(row["card_metrics"]) if row["card_metrics"] is not None else [],
            card_state=json_value(row["card_state"]) if row["card_state"] is not None else None,
            card_team_code=row["card_team_code"],
            approval={column: row[column] for column in APPROVAL_COLUMNS},
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class LineRow:
    id: int
    period_id: int
    revision: int
    rule_key: str
    kind: str
    amount: Decimal
    derivation: str
    scheme_version_id: int
    posted_at: datetime
    corrects_period_key: str | None = None  # a prior-period adjustment: the period it corrects ("更正 2026-10")
    corrects_revision: int | None = None
    dispute_id: int | None = None  # the adjustment a manager posted answering this dispute


async def statement_lines(
    conn: BaseDBAsyncClient, tenant_id: TenantId, period_ids: Sequence[int], staff_id: int
) -> list[LineRow]:
    """Every line posted into these periods for the staff member (all revisions), oldest first."""
    if not period_ids:
        return []
    rows = await conn.execute_query_dict(
        "SELECT l.id, l.period_id, l.revision, l.rule_key, l.kind, l.amount, l.derivation, l.scheme_version_id, "
        "l.posted_at, cp.key AS corrects_period_key, l.corrects_revision, l.dispute_id FROM ledger_line l "
        "LEFT JOIN period cp ON cp.tenant_id = l.tenant_id AND cp.id = l.corrects_period_id "
        "WHERE l.tenant_id = $1 AND l.staff_id = $2 AND l.period_id = ANY($3::bigint[]) "
        "ORDER BY l.period_id, l.revision, l.id",
        [int(tenant_id), staff_id, list(period_ids)],
    )
    return [
        LineRow(
            row["id"],
            row["period_id"],
            row["revision"],
            row["rule_key"],
            row["kind"],
            row["amount"],
            row["derivation"],
            row["scheme_version_id"],
            row["posted_at"],
            row["corrects_period_key"],
            row["corrects_revision"],
            row["dispute_id"],
        )
        for row in rows
    ]


# --- schemes and history of one staff member -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemeRow:
    id: int
    name: str
    description: str
    versions: list[dict[str, Any]]  # published: id, number, effective_from (ISO date), config
    has_cards: bool  # the staff member has a scorecard in some period of it


@dataclass(frozen=True, slots=True)
class MySchemesRow:
    role: str | None
    team_codes: list[str]  # the staff member's team and every team above it
    schemes: list[SchemeRow]


async def schemes_of_staff(conn: BaseDBAsyncClient, tenant_id: TenantId, staff_id: int) -> MySchemesRow:
    """Every active scheme with its published versions, whether the staff member has scorecards in it, and the staff
    member's role and team ancestry (to match a version's participants)."""
    rows = await conn.execute_query_dict(
        """
        WITH RECURSIVE me AS (SELECT s.role, s.team_id FROM staff s WHERE s.tenant_id = $1 AND s.id = $2),
        up(id, parent_id, code) AS (
            SELECT t.id, t.parent_id, t.code FROM team t JOIN me ON t.tenant_id = $1 AND t.id = me.team_id
            UNION
            SELECT t.id, t.parent_id, t.code FROM team t JOIN up ON t.tenant_id = $1 AND t.id = up.parent_id
        )
        SELECT (SELECT role FROM me) AS role, ARRAY(SELECT code FROM up) AS team_codes,
               coalesce((SELECT json_agg(json_build_object(
                   'id', sc.id, 'name', sc.name, 'description', sc.description,
                   'has_cards', EXISTS (SELECT 1 FROM period p JOIN scorecard c ON c.tenant_id = p.tenant_id
                                        AND c.period_id = p.id AND c.revision = p.revision AND c.staff_id = $2
                                        WHERE p.tenant_id = $1 AND p.scheme_id = sc.id),
                   'versions', coalesce((SELECT json_agg(json_build_object(
                        'id', v.id, 'number', v.number, 'effective_from', v.effective_from, 'config', v.config)
                        ORDER BY v.number)
                        FROM scheme_version v WHERE v.tenant_id = $1 AND v.scheme_id = sc.id
                        AND v.status = 'published'), '[]'::json)
               ) ORDER BY sc.name, sc.id) FROM scheme sc WHERE sc.tenant_id = $1 AND sc.active), '[]'::json) AS schemes
        """,
        [int(tenant_id), staff_id],
    )
    row = rows[0]
    schemes = [
        SchemeRow(
            id=int(item["id"]),
            name=str(item["name"]),
            description=str(item["description"] or ""),
            versions=list(item["versions"] or []),
            has_cards=bool(item["has_cards"]),
        )
        for item in json_value(row["schemes"]) or []
    ]
    return MySchemesRow(role=row["role"], team_codes=list(row["team_codes"] or []), schemes=schemes)


@dataclass(frozen=True, slots=True)
class MyPeriodRow:
    period: PeriodRow
    total: Decimal | None
    grade: str | None
    rank: int | None
    provisional: bool | None
    net: Decimal


async def my_periods(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    staff_id: int,
    *,
    scheme_keys: Sequence[tuple[int, str]] = (),
    last_closed_of: Sequence[int] = (),
    closed_of_scheme: int | None = None,
    last: int = 0,
) -> list[MyPeriodRow]:
    """Periods with the staff member's card (when any) and net: the given (scheme, key) pairs, the last closed period
    of each scheme of `last_closed_of`, and/or the `last` closed periods of `closed_of_scheme` (newest first)."""
    binds = BindParams(int(tenant_id), staff_id)
    selections = []
    if scheme_keys:
        ids = binds.add([scheme for scheme, _ in scheme_keys])
        keys = binds.add([key for _, key in scheme_keys])
        selections.append(
            f"SELECT p.id FROM period p JOIN unnest({ids}::bigint[], {keys}::text[]) AS k(scheme_id, key) "
            "ON p.scheme_id = k.scheme_id AND p.key = k.key WHERE p.tenant_id = $1"
        )
    if last_closed_of:
        selections.append(
            "SELECT DISTINCT ON (p.scheme_id) p.id FROM period p WHERE p.tenant_id = $1 AND p.revision > 0 "
            f"AND p.scheme_id = ANY({binds.add(list(last_closed_of))}::bigint[]) "
            "ORDER BY p.scheme_id, p.starts_at DESC"
        )
    if closed_of_scheme is not None:
        selections.append(
            "(SELECT p.id FROM period p JOIN scorecard c ON c.tenant_id = p.tenant_id AND c.period_id = p.id "
            "AND c.revision = p.revision AND c.staff_id = $2 "
            f"WHERE p.tenant_id = $1 AND p.scheme_id = {binds.add(closed_of_scheme)} AND p.revision > 0 "
            f"ORDER BY p.starts_at DESC LIMIT {binds.add(last)})"
        )
    if not selections:
        return []
    rows = await conn.execute_query_dict(
        f"WITH chosen AS ({' UNION '.join(f'({selection})' for selection in selections)}) "
        f"SELECT {_PERIOD_COLUMNS}, c.total, c.grade, c.rank, c.provisional, "
        "(SELECT coalesce(sum(l.amount), 0) FROM ledger_line l WHERE l.tenant_id = $1 AND l.period_id = p.id "
        "AND l.staff_id = $2) AS net "
        "FROM period p JOIN chosen ON chosen.id = p.id "
        "JOIN scheme sc ON sc.tenant_id = p.tenant_id AND sc.id = p.scheme_id "
        "LEFT JOIN scorecard c ON c.tenant_id = p.tenant_id AND c.period_id = p.id AND c.revision = p.revision "
        "AND c.staff_id = $2 "
        "LEFT JOIN scheme_version v ON v.tenant_id = p.tenant_id AND v.id = coalesce(c.scheme_version_id, "
        "p.scheme_version_id) "
        "WHERE p.tenant_id = $1 ORDER BY p.starts_at DESC, p.scheme_id",
        binds.values,
    )
    return [
        MyPeriodRow(_period_row(row), row["total"], row["grade"], row["rank"], row["provisional"], row["net"])
        for row in rows
    ]


# --- team summary --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SummaryRow:
    participants: int
    average: Decimal | None
    minimum: Decimal | None
    maximum: Decimal | None
    buckets: list[tuple[Decimal, int]]  # (bucket start, count), only non-empty buckets
    grades: list[tuple[str | None, int]]
    by_kind: list[tuple[str, Decimal]]
    by_team: list[tuple[str | None, str | None, Decimal, int]]  # team code, name, payout, participants
    top: list[CardRow]
    bottom: list[CardRow]


# Why the team summary runs without nested loops (the unit of work's `hash_joins_only`, which service.py asks for):
# right after a close nothing has analysed `scorecard` or `ledger_line` (autovacuum off or late, and no close runs
# ANALYZE): the planner estimates one row for the cards, the lines and every CTE, and for a join of two of them (cards
# with staff, cards with teams, lines with the cards in view, the five best with their cards) a nested loop costs
# the same as a hash join, so it picks one that rescans a whole set per row of the other, and keeps the join
# condition as a filter even where an index would take it (15,992,000 rows removed by a join filter at 2,000 staff,
# 33 s at 20,000). Rewriting the joins does not hold: a LATERAL join is flattened back into a plain join, and the
# cards-with-staff join of `_RANKED` still picks an unparameterised rescan. Without nested loops every join is a hash
# or merge join reading each input once, which is linear whatever the estimates (the statement has no correlated
# subquery over a big set to fall back on nested lookups).


def build_team_summary_query(
    tenant_id: TenantId, period: PeriodRow, scope: AccessScope, team_code: str | None, bucket_width: Decimal
) -> tuple[str, list[Any]]:
    """The statement of `team_summary` and its bind values (apart, so that its plan can be examined); run it in a
    unit of work with `hash_joins_only` (tenants/db/uow.py), as `team_summary` is.

    Every set is read once (tests/scorecards/test_plan_stability.py): the period's lines are summed per staff member
    and kind in one pass (`paid`, materialised: read by the nets and by the amounts per kind), the team filter is an
    array built once, and the per-team figures read `visible` alone (its rows carry their net)."""
    binds = BindParams(int(tenant_id), period.id, period.revision)
    ctes = [_RANKED]
    conditions = [scope.staff_condition(binds, "r")]
    if team_code is not None:
        ctes.insert(0, _SUBTREE.format(code=binds.add(team_code)))
        # An array computed once (an init plan), not `IN (SELECT ...)`: that would be a semi-join of the cards with
        # the subtree, rescanned per card when the planner believes in one card.
        conditions.append("r.team_id = ANY(ARRAY(SELECT id FROM subtree))")
    width = binds.add(bucket_width)
    # The period's lines summed per staff member and kind in one pass (its rows are few: staff x kinds).
    ctes.append(
        "paid AS MATERIALIZED (SELECT l.staff_id, l.kind, sum(l.amount) AS amount FROM ledger_line l "
        "WHERE l.tenant_id = $1 AND l.period_id = $2 GROUP BY l.staff_id, l.kind)"
    )
    ctes.append(
        "visible AS (SELECT r.*, t.code AS team_code, t.name AS team_name, coalesce(n.amount, 0) AS net FROM ranked r "
        "LEFT JOIN team t ON t.tenant_id = $1 AND t.id = r.team_id "
        "LEFT JOIN (SELECT p.staff_id, sum(p.amount) AS amount FROM paid p GROUP BY p.staff_id) n ON n.staff_id = r.id "
        f"WHERE {' AND '.join(conditions)})"
    )
    row_json = (
        "json_build_object('id', x.id, 'staff_code', x.staff_code, 'staff_name', x.staff_name, 'team_id', x.team_id, "
        "'team_code', x.team_code, 'team_name', x.team_name, 'revision', x.revision, 'provisional', x.provisional, "
        "'computed_at', x.computed_at, 'total', x.total::text, 'grade', x.grade, 'rank', x.rank, "
        "'team_rank', x.team_rank, 'participants', (SELECT count(*) FROM scorecard n WHERE n.tenant_id = $1 "
        "AND n.period_id = $2 AND n.revision = $3), "
        "'team_participants', x.team_participants, "
        "'net', x.net::text)"
    )
    prefix = "WITH RECURSIVE " if team_code is not None else "WITH "
    sql = f"""{prefix}{", ".join(ctes)}
    SELECT (SELECT count(*) FROM visible) AS participants,
           (SELECT avg(total) FROM visible) AS average,
           (SELECT min(total) FROM visible) AS minimum,
           (SELECT max(total) FROM visible) AS maximum,
           (SELECT json_agg(json_build_object('start', (b.start)::text, 'count', b.n) ORDER BY b.start) FROM
              (SELECT floor(total / {width}::numeric) * {width}::numeric AS start, count(*) AS n FROM visible
               GROUP BY 1) b) AS buckets,
           (SELECT json_agg(json_build_object('grade', g.grade, 'count', g.n) ORDER BY g.grade NULLS LAST) FROM
              (SELECT grade, count(*) AS n FROM visible GROUP BY grade) g) AS grades,
           (SELECT json_agg(json_build_object('kind', k.kind, 'amount', k.amount::text) ORDER BY k.kind) FROM
              (SELECT p.kind, sum(p.amount) AS amount FROM paid p WHERE p.staff_id IN (SELECT id FROM visible)
               GROUP BY p.kind) k) AS by_kind,
           (SELECT json_agg(json_build_object('code', tt.team_code, 'name', tt.team_name, 'amount', tt.amount::text,
                   'participants', tt.n) ORDER BY tt.team_code NULLS LAST) FROM
              (SELECT v.team_code, v.team_name, count(*) AS n, sum(v.net) AS amount
               FROM visible v GROUP BY v.team_code, v.team_name) tt) AS by_team,
           (SELECT json_agg({row_json} ORDER BY x.total DESC, x.staff_code) FROM
              (SELECT v.*, c.revision, c.provisional, c.computed_at FROM
                 (SELECT * FROM visible ORDER BY total DESC, staff_code LIMIT 5) v
               LEFT JOIN scorecard c ON c.tenant_id = $1 AND c.period_id = $2 AND c.revision = $3
                 AND c.staff_id = v.id) x) AS top,
           (SELECT json_agg({row_json} ORDER BY x.total, x.staff_code) FROM
              (SELECT v.*, c.revision, c.provisional, c.computed_at FROM
                 (SELECT * FROM visible ORDER BY total, staff_code LIMIT 5) v
               LEFT JOIN scorecard c ON c.tenant_id = $1 AND c.period_id = $2 AND c.revision = $3
                 AND c.staff_id = v.id) x) AS bottom
    """
    return sql, binds.values


async def team_summary(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    period: PeriodRow,
    scope: AccessScope,
    team_code: str | None,
    bucket_width: Decimal,
) -> SummaryRow:
    """Counts, distribution, grades, payouts and the top and bottom five of the cards in scope, in one statement
    (`build_team_summary_query`), on a connection whose unit of work plans without nested loops (hash_joins_only:
    its transaction has them off already, so no SET / RESET round trips here)."""
    sql, values = build_team_summary_query(tenant_id, period, scope, team_code, bucket_width)
    rows = await conn.execute_query_dict(sql, values)
    row = rows[0]

    def cards(raw: Any) -> list[CardRow]:
        return [
            CardRow(
                staff_id=int(item["id"]),
                staff_code=item["staff_code"],
                staff_name=item["staff_name"],
                team_id=item["team_id"],
                team_code=item["team_code"],
                team_name=item["team_name"],
                revision=int(item["revision"]),
                provisional=bool(item["provisional"]),
                computed_at=datetime.fromisoformat(item["computed_at"]),
                total=Decimal(item["total"]),
                grade=item["grade"],
                rank=int(item["rank"]),
                team_rank=int(item["team_rank"]),
                participants=int(item["participants"]),
                team_participants=int(item["team_participants"]),
                metrics=[],
                flags=[],
                net=Decimal(item["net"]),
            )
            for item in json_value(raw) or []
        ]

    return SummaryRow(
        participants=int(row["participants"]),
        average=row["average"],
        minimum=row["minimum"],
        maximum=row["maximum"],
        buckets=[(Decimal(b["start"]), int(b["count"])) for b in json_value(row["buckets"]) or []],
        grades=[(g["grade"], int(g["count"])) for g in json_value(row["grades"]) or []],
        by_kind=[(k["kind"], Decimal(k["amount"])) for k in json_value(row["by_kind"]) or []],
        by_team=[
            (t["code"], t["name"], Decimal(t["amount"]), int(t["participants"]))
            for t in json_value(row["by_team"]) or []
        ],
        top=cards(row["top"]),
        bottom=cards(row["bottom"]),
    )


# --- lines of many cards (the per-request loader of Scorecard.lines) -----------------------------------------------


@dataclass(frozen=True, slots=True)
class CardLineRow:
    staff_id: int
    period_key: str
    scheme_id: int
    line: LineRow
    config: Any  # the line's version config on the first line of each version (None on the others)


async def lines_of_cards(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scope: AccessScope, keys: Sequence[tuple[int, int]]
) -> list[CardLineRow]:
    """Every line of the (period id, staff id) pairs in scope, in one statement whatever the number of pairs."""
    if not keys:
        return []
    binds = BindParams(int(tenant_id), [period for period, _ in keys], [staff for _, staff in keys])
    rows = await conn.execute_query_dict(
        "SELECT l.staff_id, p.key AS period_key, p.scheme_id, l.id, l.period_id, l.revision, l.rule_key, l.kind, "
        "l.amount, l.derivation, l.scheme_version_id, l.posted_at, "
        "CASE WHEN row_number() OVER (PARTITION BY l.scheme_version_id ORDER BY l.id) = 1 THEN v.config END AS config "
        "FROM ledger_line l "
        "JOIN unnest($2::bigint[], $3::bigint[]) AS k(period_id, staff_id) "
        "  ON l.period_id = k.period_id AND l.staff_id = k.staff_id "
        "JOIN period p ON p.tenant_id = l.tenant_id AND p.id = l.period_id "
        "JOIN staff s ON s.tenant_id = l.tenant_id AND s.id = l.staff_id "
        "LEFT JOIN scheme_version v ON v.tenant_id = l.tenant_id AND v.id = l.scheme_version_id "
        f"WHERE l.tenant_id = $1 AND {scope.staff_condition(binds, 's')} "
        "ORDER BY l.period_id, l.staff_id, l.revision, l.id",
        binds.values,
    )
    return [
        CardLineRow(
            staff_id=row["staff_id"],
            period_key=row["period_key"],
            scheme_id=row["scheme_id"],
            line=LineRow(
                row["id"],
                row["period_id"],
                row["revision"],
                row["rule_key"],
                row["kind"],
                row["amount"],
                row["derivation"],
                row["scheme_version_id"],
                row["posted_at"],
            ),
            config=json_value(row["config"]) if row["config"] is not None else None,
        )
        for row in rows
    ]
