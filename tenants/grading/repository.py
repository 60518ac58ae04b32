"""Every SQL statement of customer grading and alerts; each function takes the unit of work's connection.

The month's input is ONE set-based statement (`month_contributions`): the tenant's customers, the month's counted
orders and refunds, and last month's stored grades, merged by UNION ALL and GROUP BY customer (no join whose method
follows the planner's estimates, see tenants/periods/aggregation.py), one row per customer. Grades are written back
in one statement from a staging table filled by COPY (COPY cannot write a table under row level security; INSERT ...
SELECT from the staging table goes through the tenant policy). Every statement filters by tenant_id besides RLS.
A month's rows are those of its current grading run (`customer_grade_month.run`, migration 0018): readers select
them with `month_run`, one range of the (run, position, tenant_id) key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, cast

import asyncpg
from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.access.scope import AccessScope
from tenants.db.codecs import json_value
from tenants.db.params import BindParams
from tenants.locks import advisory_key
from tenants.rules.grading import NO_CONTRIBUTION, CustomerContribution, GradedMonth
from tenants.tenancy.identity import TenantId


def month_run(tenant: str, month: str) -> str:
    """SQL: the current grading run of a tenant's month (NULL when not graded), from the placeholders given."""
    return f"(SELECT m.run FROM customer_grade_month m WHERE m.tenant_id = {tenant} AND m.month = {month})"


def _asyncpg(conn: BaseDBAsyncClient) -> asyncpg.Connection:
    """The asyncpg connection of the Tortoise transaction, for COPY (which Tortoise does not offer)."""
    connection = conn._connection
    assert isinstance(connection, asyncpg.Connection)
    return connection


async def tenant_timezone(conn: BaseDBAsyncClient, tenant_id: TenantId) -> str:
    rows = await conn.execute_query_dict("SELECT timezone FROM tenant WHERE id = $1", [tenant_id])
    return str(rows[0]["timezone"]) if rows else "Asia/Shanghai"


async def tenant_timezones(conn: BaseDBAsyncClient) -> list[tuple[int, str]]:
    """Every tenant's id and timezone (a platform unit of work: the monthly cron)."""
    rows = await conn.execute_query_dict("SELECT id, timezone FROM tenant ORDER BY id")
    return [(int(row["id"]), str(row["timezone"])) for row in rows]


async def lock_month(conn: BaseDBAsyncClient, tenant_id: TenantId, month: str) -> None:
    """One grading of a tenant's month at a time (the monthly job, an admin's request and a close may meet)."""
    await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [advisory_key("grading", tenant_id, month)])


async def commit_without_waiting(conn: BaseDBAsyncClient) -> None:
    """This transaction's commit returns before its WAL is flushed (transaction-local; still atomic)."""
    await conn.execute_query("SET LOCAL synchronous_commit = off")


async def service_rules(conn: BaseDBAsyncClient, tenant_id: TenantId) -> Any:
    rows = await conn.execute_query_dict("SELECT config FROM service_rules WHERE tenant_id = $1", [tenant_id])
    return json_value(rows[0]["config"]) if rows else None


async def save_service_rules(conn: BaseDBAsyncClient, tenant_id: TenantId, config_json: str) -> None:
    await conn.execute_query(
        "INSERT INTO service_rules (tenant_id, config) VALUES ($1, $2::jsonb) "
        "ON CONFLICT (tenant_id) DO UPDATE SET config = EXCLUDED.config, updated_at = now()",
        [tenant_id, config_json],
    )


_CONTRIBUTIONS = f"""
SELECT customer_id, max(code) AS code, sum(amount) AS contribution, max(previous) AS previous_grade
FROM (
    SELECT cu.id AS customer_id, cu.code, NULL::numeric AS amount, NULL::text AS previous
    FROM customer cu WHERE cu.tenant_id = $1
    UNION ALL
    SELECT e.customer_id, NULL, e.amount, NULL FROM event e
    WHERE e.tenant_id = $1 AND e.customer_id IS NOT NULL AND e.type IN ('order', 'refund') AND e.status = 'counted'
      AND e.occurred_at >= $2 AND e.occurred_at < $3
    UNION ALL
    SELECT g.customer_id, NULL, NULL, g.grade FROM customer_grade g
    WHERE g.tenant_id = $1 AND g.run = {month_run("$1", "$4")}
) AS month_rows
GROUP BY customer_id
"""


async def month_contributions(
    conn: BaseDBAsyncClient, tenant_id: TenantId, starts: datetime, ends: datetime, previous_month: str
) -> list[CustomerContribution]:
    """Every customer the tenant has (a merchant that imports last month's history after its customers is graded
    like one that sent them live): net order amount of [starts, ends) (None: no orders or refunds) and the stored
    grade of `previous_month`. In ranking order (contribution descending, ties by code in code point order, as the
    pure rules compare text), which the rules check instead of sorting again. The rows are asyncpg's records, which
    index and unpack as the rules' (customer_id, code, contribution, previous_grade) tuples."""
    rows = await _asyncpg(conn).fetch(
        f"SELECT customer_id, code, contribution, previous_grade FROM ({_CONTRIBUTIONS}) AS c WHERE code IS NOT NULL "
        'ORDER BY contribution DESC NULLS LAST, code COLLATE "C"',
        tenant_id,
        starts,
        ends,
        previous_month,
    )
    return cast("list[CustomerContribution]", rows)


_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS customer_grade_stage (
    position integer, customer_id bigint, contribution numeric, before_amount numeric, rank integer, grade text,
    previous_grade text
) ON COMMIT DELETE ROWS
"""


COPY_CHUNK_ROWS: Final = 20_000


async def _grade_lines(graded: GradedMonth) -> AsyncIterator[bytes]:
    """The staging table's rows in COPY's text format, 20,000 a chunk: the database parses one chunk while the next is
    laid out. Every value is an integer, a Decimal, a grade letter or NULL (\\N): nothing to escape."""
    lines: list[str] = []
    append = lines.append
    null = "\\N"
    ranked, befores = graded.ranked, graded.befores
    for grade, start, stop in graded.grade_runs():
        for index in range(start, stop):
            customer_id, _code, contribution, previous = ranked[index]
            rank = index + 1  # also the listing position: the ranked customers come first, in rank order
            before = befores[index]
            append(f"{rank}\t{customer_id}\t{contribution}\t{before}\t{rank}\t{grade}\t{previous or null}\n")
            if len(lines) == COPY_CHUNK_ROWS:
                yield "".join(lines).encode()
                lines.clear()
    position = len(ranked)
    for customer_id, _code, contribution, previous in graded.unranked:
        position += 1
        amount = NO_CONTRIBUTION if contribution is None else contribution
        append(f"{position}\t{customer_id}\t{amount}\t{null}\t{null}\tD\t{previous or null}\n")
        if len(lines) == COPY_CHUNK_ROWS:
            yield "".join(lines).encode()
            lines.clear()
    if lines:
        yield "".join(lines).encode()


async def replace_month(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    month: str,
    starts: datetime,
    ends: datetime,
    a_below: Decimal,
    b_below: Decimal,
    graded: GradedMonth,
) -> None:
    """The month's summary row and grades, replacing any stored before (a month graded again).

    Each grading is a new run (migration 0018): the summary row names it, the rows are keyed by it, and a month
    graded again deletes its previous run's rows in the same transaction."""
    connection = _asyncpg(conn)
    previous_run = await connection.fetchval(
        "SELECT run FROM customer_grade_month WHERE tenant_id = $1 AND month = $2", tenant_id, month
    )
    run = await connection.fetchval(
        "INSERT INTO customer_grade_month (tenant_id, month, starts_at, ends_at, a_below, b_below, total, customers, "
        "run) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nextval('customer_grading_run_seq')) "
        "ON CONFLICT (tenant_id, month) DO UPDATE SET starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at, "
        "a_below = EXCLUDED.a_below, b_below = EXCLUDED.b_below, total = EXCLUDED.total, "
        "customers = EXCLUDED.customers, graded_at = now(), run = EXCLUDED.run, "
        "gradings = customer_grade_month.gradings + 1 RETURNING run",
        tenant_id,
        month,
        starts,
        ends,
        a_below,
        b_below,
        graded.total,
        len(graded.ranked) + len(graded.unranked),
    )
    await connection.execute(_STAGE)
    # COPY's text format: asyncpg's binary records encode each Decimal in Python, three times slower at 200,000 rows
    await connection.copy_to_table("customer_grade_stage", schema_name="pg_temp", source=_grade_lines(graded))
    if previous_run is not None:
        await connection.execute(
            "DELETE FROM customer_grade WHERE run = $1 AND tenant_id = $2", previous_run, tenant_id
        )
    await connection.execute(
        # share_before = before / total (GradedMonth.share_before), computed here rather than per row in Python
        "INSERT INTO customer_grade (run, position, tenant_id, month, customer_id, contribution, before_amount, "
        "share_before, rank, grade, previous_grade) SELECT $4, position, $1, $2, customer_id, contribution, "
        "before_amount, before_amount / $3::numeric, rank, grade, previous_grade FROM customer_grade_stage",
        tenant_id,
        month,
        graded.total if graded.total > 0 else None,
        run,
    )


async def month_is_graded(conn: BaseDBAsyncClient, tenant_id: TenantId, month: str) -> bool:
    rows = await conn.execute_query_dict(
        "SELECT 1 FROM customer_grade_month WHERE tenant_id = $1 AND month = $2", [tenant_id, month]
    )
    return bool(rows)


@dataclass(frozen=True)
class AlertTarget:
    customer_id: int
    assignee_staff_id: int | None
    team_id: int | None


async def alert_targets(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    customer_ids: Sequence[int],
    previous_month: str,
    previous_starts: datetime,
    ends: datetime,
) -> list[AlertTarget]:
    """Who follows each customer up: its exclusive guide (while the guide is active) and the guide's team; else the
    team of the staff member of its latest order before `ends` since `previous_starts` (a customer graded A-C last
    month ordered then), whose managers see the alert; else (a customer D for months, no order in that window) the
    team its alert of `previous_month` went to."""
    if not customer_ids:
        return []
    rows = await conn.execute_query_dict(
        """
        WITH alerted AS (SELECT unnest($2::bigint[]) AS customer_id),
        latest AS (
            SELECT DISTINCT ON (e.customer_id) e.customer_id, e.staff_id FROM event e
            WHERE e.tenant_id = $1 AND e.customer_id = ANY($2::bigint[]) AND e.type = 'order'
              AND e.staff_id IS NOT NULL AND e.occurred_at >= $3 AND e.occurred_at < $4
            ORDER BY e.customer_id, e.occurred_at DESC, e.id DESC
        )
        SELECT a.customer_id,
               CASE WHEN g.active THEN g.id END AS assignee_staff_id,
               CASE WHEN g.active THEN g.team_id ELSE coalesce(s.team_id, p.team_id) END AS team_id
        FROM alerted a
        JOIN customer cu ON cu.tenant_id = $1 AND cu.id = a.customer_id
        LEFT JOIN staff g ON g.tenant_id = $1 AND g.id = cu.guide_staff_id
        LEFT JOIN latest l ON l.customer_id = a.customer_id
        LEFT JOIN staff s ON s.tenant_id = $1 AND s.id = l.staff_id
        LEFT JOIN customer_alert p ON p.tenant_id = $1 AND p.month = $5 AND p.customer_id = a.customer_id
        """,
        [tenant_id, list(customer_ids), previous_starts, ends, previous_month],
    )
    return [AlertTarget(row["customer_id"], row["assignee_staff_id"], row["team_id"]) for row in rows]


async def insert_alerts(
    conn: BaseDBAsyncClient, tenant_id: TenantId, month: str, alerts: Iterable[tuple[Any, ...]]
) -> int:
    """(customer_id, kind, action, previous_grade, grade, assignee_staff_id, team_id) rows; a customer alerted for
    this month already keeps its alert (grading a month again raises nothing new). Returns how many were new."""
    columns = list(zip(*alerts, strict=True)) if alerts else []
    if not columns:
        return 0
    rows = await conn.execute_query_dict(
        """
        INSERT INTO customer_alert (tenant_id, month, customer_id, kind, action, previous_grade, grade,
                                    assignee_staff_id, team_id)
        SELECT $1, $2, * FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[],
                                     $9::bigint[])
        ON CONFLICT (tenant_id, month, customer_id) DO NOTHING
        RETURNING id
        """,
        [tenant_id, month, *[list(column) for column in columns]],
    )
    return len(rows)


# --- reads ----------------------------------------------------------------------------------------------------------


def customer_scope_condition(scope: AccessScope, binds: BindParams, customer: str = "cu") -> str:
    """Customers in a caller's scope: the whole tenant; a manager, the customers whose exclusive guide is in the
    teams they manage (or is themselves); staff, their own exclusive customers. Customers without a guide belong to
    no team: only the whole-tenant roles see them."""
    if scope.whole_tenant:
        return "TRUE"
    guide_in_scope = scope.staff_condition(binds, "gs")
    if guide_in_scope == "FALSE":
        return "FALSE"
    return (
        f"EXISTS (SELECT 1 FROM staff gs WHERE gs.tenant_id = {customer}.tenant_id "
        f"AND gs.id = {customer}.guide_staff_id AND {guide_in_scope})"
    )


def team_subtree_condition(binds: BindParams, team_code: str, customer: str = "cu") -> str:
    """Customers whose exclusive guide belongs to the team `team_code` or a team below it."""
    code = binds.add(team_code)
    return f"""EXISTS (
        WITH RECURSIVE subtree AS (
            SELECT t.id FROM team t WHERE t.tenant_id = {customer}.tenant_id AND t.code = {code}
            UNION SELECT c.id FROM team c JOIN subtree p ON c.tenant_id = {customer}.tenant_id AND c.parent_id = p.id
        )
        SELECT 1 FROM staff gt WHERE gt.tenant_id = {customer}.tenant_id AND gt.id = {customer}.guide_staff_id
          AND gt.team_id IN (SELECT id FROM subtree))"""


@dataclass(frozen=True)
class GradeRow:
    position: int  # listing order within the month: ranked customers by rank, then the D customers
    customer_id: int
    customer_code: str
    customer_name: str
    guide_code: str | None
    contribution: Decimal
    before: Decimal | None
    share_before: Decimal | None
    rank: int | None
    grade: str
    previous_grade: str | None


async def list_grades(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    scope: AccessScope,
    month: str,
    *,
    grade: str | None,
    team_code: str | None,
    first: int,
    after: int | None,
) -> list[GradeRow]:
    """Up to `first` rows after the cursor (the caller asks one more to know whether there is a next page)."""
    binds = BindParams(tenant_id, month)
    binds.where(customer_scope_condition(scope, binds))
    binds.where_value("g.grade = {}", grade)
    if team_code is not None:
        binds.where(team_subtree_condition(binds, team_code))
    binds.where_value("g.position > {}", after)
    limit = binds.add(first)
    rows = await conn.execute_query_dict(
        f"""
        SELECT g.position, g.customer_id, cu.code AS customer_code, cu.name AS customer_name, gd.code AS guide_code,
               g.contribution, g.before_amount, g.share_before, g.rank, g.grade, g.previous_grade
        FROM customer_grade g
        JOIN customer cu ON cu.tenant_id = g.tenant_id AND cu.id = g.customer_id
        LEFT JOIN staff gd ON gd.tenant_id = cu.tenant_id AND gd.id = cu.guide_staff_id
        WHERE g.tenant_id = $1 AND g.run = {month_run("$1", "$2")} AND {binds.sql}
        ORDER BY g.position
        LIMIT {limit}
        """,
        binds.values,
    )
    return [
        GradeRow(
            position=row["position"],
            customer_id=row["customer_id"],
            customer_code=row["customer_code"],
            customer_name=row["customer_name"],
            guide_code=row["guide_code"],
            contribution=row["contribution"],
            before=row["before_amount"],
            share_before=row["share_before"],
            rank=row["rank"],
            grade=row["grade"],
            previous_grade=row["previous_grade"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class MonthRecord:
    month: str
    starts_at: datetime
    ends_at: datetime
    a_below: Decimal
    b_below: Decimal
    total: Decimal
    customers: int
    graded_at: datetime


async def month_record(conn: BaseDBAsyncClient, tenant_id: TenantId, month: str) -> MonthRecord | None:
    rows = await conn.execute_query_dict(
        "SELECT month, starts_at, ends_at, a_below, b_below, total, customers, graded_at FROM customer_grade_month "
        "WHERE tenant_id = $1 AND month = $2",
        [tenant_id, month],
    )
    return MonthRecord(**rows[0]) if rows else None


async def grade_counts(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scope: AccessScope, month: str
) -> list[tuple[str | None, str, int, Decimal]]:
    """(previous grade, grade, customers, their contribution) for the month's customers in scope."""
    binds = BindParams(tenant_id, month)
    condition = customer_scope_condition(scope, binds)
    rows = await conn.execute_query_dict(
        f"""
        SELECT g.previous_grade, g.grade, count(*) AS customers, sum(g.contribution) AS contribution
        FROM customer_grade g JOIN customer cu ON cu.tenant_id = g.tenant_id AND cu.id = g.customer_id
        WHERE g.tenant_id = $1 AND g.run = {month_run("$1", "$2")} AND {condition}
        GROUP BY g.previous_grade, g.grade
        """,
        binds.values,
    )
    return [(row["previous_grade"], row["grade"], int(row["customers"]), row["contribution"]) for row in rows]


@dataclass(frozen=True)
class AlertRow:
    id: int
    month: str
    customer_id: int
    customer_code: str
    customer_name: str
    kind: str
    action: str
    previous_grade: str
    grade: str
    assignee_code: str | None
    team_code: str | None
    state: str
    note: str
    created_at: datetime
    updated_at: datetime


def alert_scope_condition(scope: AccessScope, binds: BindParams, alert: str = "a") -> str:
    """Alerts a caller works on: the whole tenant, all; a manager, those of the teams they manage and their own;
    staff, those assigned to them."""
    if scope.whole_tenant:
        return "TRUE"
    conditions = []
    if scope.team_ids:
        conditions.append(f"{alert}.team_id = ANY({binds.add(sorted(scope.team_ids))}::bigint[])")
    if scope.staff_id is not None:
        conditions.append(f"{alert}.assignee_staff_id = {binds.add(scope.staff_id)}")
    return f"({' OR '.join(conditions)})" if conditions else "FALSE"


_ALERT_SELECT = """
SELECT a.id, a.month, a.customer_id, cu.code AS customer_code, cu.name AS customer_name, a.kind, a.action,
       a.previous_grade, a.grade, s.code AS assignee_code, t.code AS team_code, a.state, a.note, a.created_at,
       a.updated_at
FROM customer_alert a
JOIN customer cu ON cu.tenant_id = a.tenant_id AND cu.id = a.customer_id
LEFT JOIN staff s ON s.tenant_id = a.tenant_id AND s.id = a.assignee_staff_id
LEFT JOIN team t ON t.tenant_id = a.tenant_id AND t.id = a.team_id
"""


async def list_alerts(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    scope: AccessScope,
    *,
    state: str | None,
    first: int,
    after_id: int | None,
) -> list[AlertRow]:
    """Newest first, up to `first` after the alert `after_id`."""
    binds = BindParams(tenant_id)
    binds.where(alert_scope_condition(scope, binds))
    binds.where_value("a.state = {}", state)
    binds.where_value("a.id < {}", after_id)
    limit = binds.add(first)
    rows = await conn.execute_query_dict(
        f"{_ALERT_SELECT} WHERE a.tenant_id = $1 AND {binds.sql} ORDER BY a.id DESC LIMIT {limit}", binds.values
    )
    return [AlertRow(**row) for row in rows]


async def alert_in_scope(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scope: AccessScope, alert_id: int, *, for_update: bool = False
) -> AlertRow | None:
    binds = BindParams(tenant_id, alert_id)
    condition = alert_scope_condition(scope, binds)
    lock = " FOR UPDATE OF a" if for_update else ""
    rows = await conn.execute_query_dict(
        f"{_ALERT_SELECT} WHERE a.tenant_id = $1 AND a.id = $2 AND {condition}{lock}", binds.values
    )
    return AlertRow(**rows[0]) if rows else None


async def update_alert(conn: BaseDBAsyncClient, tenant_id: TenantId, alert_id: int, state: str, note: str) -> None:
    await conn.execute_query(
        "UPDATE customer_alert SET state = $3, note = $4, updated_at = now() WHERE tenant_id = $1 AND id = $2",
        [tenant_id, alert_id, state, note],
    )


async def grades_of_month_map(conn: BaseDBAsyncClient, tenant_id: TenantId, month: str) -> dict[int, str]:
    """customer id -> grade (tests and small tenants; the close reads the stored grades in its own SQL)."""
    rows = await conn.execute_query_dict(
        f"SELECT customer_id, grade FROM customer_grade WHERE tenant_id = $1 AND run = {month_run('$1', '$2')}",
        [tenant_id, month],
    )
    return {row["customer_id"]: row["grade"] for row in rows}
