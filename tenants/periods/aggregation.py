"""Metric values of every participant of a period, computed by set-based SQL in Postgres.

One statement per close: the participants (staff matching the scheme, active during the window), one scan of the
window's events grouped by the acting staff (every `credit: actor` metric and per-event penalty as a FILTERed
aggregate), one scan of the credited share rows (`credit: credited` metrics: each credited staff gets amount x share),
and one scan of team-pool credits. Events are never loaded into Python; the result has one row per participant.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.schemes.config import Metric, PerEventPenalty, SchemeConfig, TeamPoolReward


@dataclass(frozen=True)
class ParticipantRow:
    staff_id: int
    staff_code: str
    team_code: str | None
    metrics: dict[str, Decimal | None]
    penalty_counts: dict[str, int]


@dataclass(frozen=True)
class PeriodAggregates:
    participants: list[ParticipantRow]
    team_pool_credits: dict[str, dict[str, Decimal]]


class _Params:
    """Collects bind parameters; SQL text only ever contains $n placeholders and our own identifiers."""

    def __init__(self, *initial: Any) -> None:
        self.values: list[Any] = list(initial)

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _filter_sql(params: _Params, events: Sequence[str], filters: dict[str, Any], alias: str = "e") -> str:
    parts = [f"{alias}.type = ANY({params.add(list(events))}::text[])"]
    for key, expected in sorted(filters.items()):
        if key == "customer_grade":
            # Grade of the customer in the calendar month before the event (known when the event happened).
            grades = [expected] if isinstance(expected, str) else list(expected)
            parts.append(
                f"EXISTS (SELECT 1 FROM customer_grades g WHERE g.customer_id = {alias}.customer_id "
                f"AND g.grade = ANY({params.add(grades)}::text[]))"
            )
        elif isinstance(expected, list):
            parts.append(
                f"{alias}.attributes -> {params.add(key)} "
                f"= ANY({params.add([json.dumps(v) for v in expected])}::jsonb[])"
            )
        else:
            parts.append(f"{alias}.attributes @> {params.add(json.dumps({key: expected}))}::jsonb")
    return " AND ".join(parts)


def _metric_expression(metric: Metric, condition: str, share: str | None) -> str:
    weighted = (lambda column: f"{column} * {share}") if share else (lambda column: column)
    match metric.aggregate:
        case "count":
            return f"count(*) FILTER (WHERE {condition})"
        case "sum_amount":
            # Money to the cent: a credited share of an amount is rounded once, on the staff member's sum.
            return f"round(coalesce(sum({weighted('e.amount')}) FILTER (WHERE {condition}), 0), 2)"
        case "sum_value":
            return f"coalesce(sum({weighted('e.value')}) FILTER (WHERE {condition}), 0)"
        case "avg_value":
            return f"avg(e.value) FILTER (WHERE {condition})"
        case "count_distinct_customers":
            return f"count(DISTINCT e.customer_id) FILTER (WHERE {condition})"
    raise ValueError(f"not an aggregate metric: {metric.key}")


def _ident(prefix: str, position: int) -> str:
    return f"{prefix}{position}"


def build_query(
    tenant_id: int,
    config: SchemeConfig,
    window_start: datetime,
    window_end: datetime,
    local_start: date,
    local_end: date,
) -> tuple[str, list[Any], list[tuple[str, str]], list[tuple[str, str]]]:
    """The SQL, its parameters, and (column, metric key) / (column, penalty key) maps for reading the rows.

    Every table is filtered by tenant_id explicitly (index use, and a second wall besides RLS)."""
    params = _Params(window_start, window_end, tenant_id)
    window = "e.tenant_id = $3 AND e.occurred_at >= $1 AND e.occurred_at < $2 AND e.status = 'counted'"
    actor_columns: list[str] = []
    credited_columns: list[str] = []
    metric_columns: list[tuple[str, str]] = []
    penalty_columns: list[tuple[str, str]] = []
    for position, metric in enumerate(config.metrics):
        if metric.aggregate == "ratio":
            continue
        column = _ident("m", position)
        condition = _filter_sql(params, metric.events, metric.filter)
        if metric.credit == "credited":
            credited_columns.append(f"{_metric_expression(metric, condition, 'c.share')} AS {column}")
        else:
            actor_columns.append(f"{_metric_expression(metric, condition, None)} AS {column}")
        metric_columns.append((column, metric.key))
    for position, penalty in enumerate(config.penalties):
        if isinstance(penalty, PerEventPenalty):
            column = _ident("p", position)
            condition = _filter_sql(params, penalty.events, penalty.filter)
            actor_columns.append(f"count(*) FILTER (WHERE {condition}) AS {column}")
            penalty_columns.append((column, penalty.key))

    roles = params.add(list(config.participants.roles))
    teams = params.add(list(config.participants.teams))
    start_day, end_day = params.add(local_start), params.add(local_end)
    uses_grades = any("customer_grade" in m.filter for m in config.metrics) or any(
        isinstance(p, PerEventPenalty) and "customer_grade" in p.filter for p in config.penalties
    )
    ctes = [
        # Team filter: the listed teams and their whole subtree.
        f"""scoped_teams AS (
            SELECT t.id FROM team t
            WHERE t.tenant_id = $3 AND cardinality({teams}::text[]) > 0 AND t.code = ANY({teams}::text[])
            UNION
            SELECT child.id FROM team child
            JOIN scoped_teams parent ON child.tenant_id = $3 AND child.parent_id = parent.id
        )""",
        f"""participants AS (
            SELECT s.id AS staff_id, s.code AS staff_code, t.code AS team_code
            FROM staff s LEFT JOIN team t ON t.tenant_id = s.tenant_id AND t.id = s.team_id
            WHERE s.tenant_id = $3 AND (cardinality({roles}::text[]) = 0 OR s.role = ANY({roles}::text[]))
              AND (cardinality({teams}::text[]) = 0 OR s.team_id IN (SELECT id FROM scoped_teams))
              AND (s.hired_on IS NULL OR s.hired_on < {end_day}::date)
              AND (s.left_on IS NULL OR s.left_on >= {start_day}::date)
              AND (s.active OR s.left_on IS NOT NULL)
        )""",
    ]
    if uses_grades:
        ctes.insert(0, _customer_grades_cte(params, window_start))
    select_columns = ["p.staff_id", "p.staff_code", "p.team_code"]
    joins: list[str] = []
    if actor_columns:
        ctes.append(
            f"""actor AS (
                SELECT e.staff_id, {", ".join(actor_columns)}
                FROM event e WHERE {window} AND e.staff_id IS NOT NULL GROUP BY e.staff_id
            )"""
        )
        joins.append("LEFT JOIN actor a ON a.staff_id = p.staff_id")
    if credited_columns:
        ctes.append(
            f"""credited AS (
                SELECT c.staff_id, {", ".join(credited_columns)}
                FROM event e CROSS JOIN LATERAL unnest(e.credit_staff_ids, e.credit_shares) AS c(staff_id, share)
                WHERE {window} GROUP BY c.staff_id
            )"""
        )
        joins.append("LEFT JOIN credited cr ON cr.staff_id = p.staff_id")
    credited_keys = {m.key for m in config.metrics if m.credit == "credited"}
    for column, key in metric_columns:
        source = "cr" if key in credited_keys else "a"
        select_columns.append(f"{source}.{column} AS {column}")
    select_columns.extend(f"a.{column} AS {column}" for column, _ in penalty_columns)
    sql = (
        "WITH RECURSIVE "
        + ",\n".join(ctes)
        + f"\nSELECT {', '.join(select_columns)} FROM participants p {' '.join(joins)} ORDER BY p.staff_code"
    )
    return sql, params.values, metric_columns, penalty_columns


def _customer_grades_cte(params: _Params, window_start: datetime) -> str:
    """DESIGN.md grading of the month before the period: A while less than 20% of the total ranks above, B below
    60%, else C; known customers without positive contribution are D."""
    month_start = params.add(window_start)
    return f"""month AS (
            SELECT date_trunc('month', {month_start}::timestamptz - interval '1 day') AS starts,
                   date_trunc('month', {month_start}::timestamptz) AS ends
        ),
        contributions AS (
            SELECT e.customer_id, sum(e.amount) AS amount FROM event e, month
            WHERE e.tenant_id = $3 AND e.customer_id IS NOT NULL AND e.type IN ('order', 'refund')
              AND e.status = 'counted'
              AND e.occurred_at >= month.starts AND e.occurred_at < month.ends
            GROUP BY e.customer_id HAVING sum(e.amount) > 0
        ),
        ranked AS (
            SELECT c.customer_id, coalesce(sum(c.amount) OVER (ORDER BY c.amount DESC, cu.code
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before,
                   sum(c.amount) OVER () AS total
            FROM contributions c JOIN customer cu ON cu.tenant_id = $3 AND cu.id = c.customer_id
        ),
        customer_grades AS (
            SELECT customer_id, CASE WHEN before < total * 0.2 THEN 'A' WHEN before < total * 0.6 THEN 'B' ELSE 'C' END
                   AS grade FROM ranked
            UNION ALL
            SELECT cu.id, 'D' FROM customer cu
            WHERE cu.tenant_id = $3 AND cu.id NOT IN (SELECT customer_id FROM contributions)
        )"""


def _pool_query(tenant_id: int, config: SchemeConfig) -> tuple[str, list[Any], list[tuple[str, str]]] | None:
    pool_metrics = {r.metric for r in config.rewards if isinstance(r, TeamPoolReward)}
    if not pool_metrics:
        return None
    params = _Params(tenant_id)
    columns: list[str] = []
    mapping: list[tuple[str, str]] = []
    for position, metric in enumerate(config.metrics):
        if metric.key in pool_metrics and metric.aggregate in ("count", "sum_amount", "sum_value"):
            column = _ident("m", position)
            condition = _filter_sql(params, metric.events, metric.filter)
            columns.append(f"{_metric_expression(metric, condition, None)} AS {column}")
            mapping.append((column, metric.key))
    if not columns:
        return None
    return (
        "SELECT t.code AS team_code, "
        + ", ".join(columns)
        + f" FROM event e JOIN team t ON t.tenant_id = e.tenant_id AND t.id = e.pool_team_id "
        f"WHERE e.occurred_at >= ${len(params.values) + 1} AND e.occurred_at < ${len(params.values) + 2} "
        "AND e.status = 'counted' AND e.pool_team_id IS NOT NULL GROUP BY t.code",
        params.values,
        mapping,
    )


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(value)


async def aggregate_period(
    conn: BaseDBAsyncClient,
    tenant_id: int,
    config: SchemeConfig,
    window_start: datetime,
    window_end: datetime,
    local_start: date,
    local_end: date,
) -> PeriodAggregates:
    sql, params, metric_columns, penalty_columns = build_query(
        tenant_id, config, window_start, window_end, local_start, local_end
    )
    rows = await conn.execute_query_dict(sql, params)
    participants = [
        ParticipantRow(
            staff_id=row["staff_id"],
            staff_code=row["staff_code"],
            team_code=row["team_code"],
            metrics={key: _decimal(row[column]) for column, key in metric_columns},
            penalty_counts={key: int(row[column] or 0) for column, key in penalty_columns},
        )
        for row in rows
    ]
    pools: dict[str, dict[str, Decimal]] = {}
    pool = _pool_query(tenant_id, config)
    if pool is not None:
        pool_sql, pool_params, mapping = pool
        for row in await conn.execute_query_dict(pool_sql, [*pool_params, window_start, window_end]):
            pools[row["team_code"]] = {key: _decimal(row[column]) or Decimal(0) for column, key in mapping}
    return PeriodAggregates(participants=participants, team_pool_credits=pools)
