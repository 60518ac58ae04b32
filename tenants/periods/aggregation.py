"""Metric values of every participant of a period, computed by set-based SQL in Postgres.

One statement per close: the participants (staff matching the scheme, active during the window), one scan of the
window's events grouped by the acting staff (every `credit: actor` metric and per-event penalty as a FILTERed
aggregate), one scan of the credited share rows (`credit: credited` metrics: each credited staff gets amount x share)
and, when a filter uses customer grades, one read of the previous month's stored grades (tenants/grading, which
grades that month first when it has none); a second statement scans the
team-pool credits. Events are never loaded into Python; the result has one row per participant.
This module builds (and runs, on the caller's connection) the aggregation statements; every other statement of the
periods domain is in repository.py.

Plans that cannot collapse: the planner's row estimates come from statistics that may be missing (a table filled by
API upserts or an import with autovacuum off or late) or stale (analysed before this tenant's rows arrived). A join
chosen on such estimates, e.g. a nested loop over "one participant", re-runs its inner side once per outer row: with
the event aggregate inside, a full aggregation of the period per staff member (83.7 s instead of 0.1 s for 1,000
staff and 100,000 events). So no event aggregate is ever joined: each runs once over the window, and their rows are
merged with the participants by UNION ALL and GROUP BY staff_id (a hash or a sort, whatever the estimates). What is
read per row is a lookup in a map built once per statement (jsonb: team id -> code, customer id -> grade), never a
join or subquery whose plan follows the estimates; the only per-row subquery left is the re-close's "customer already
counted" probe, one index lookup per late event. tests/periods/test_plan_stability.py holds every scan of `event` to
one loop, on a tenant the statistics have not seen and with nested loops as the only join method.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.db.params import BindParams
from tenants.grading.service import ensure_month_graded
from tenants.rules.calendar import period_containing
from tenants.rules.config import Metric, PerEventPenalty, SchemeConfig, TeamPoolReward
from tenants.rules.money import money
from tenants.tenancy.identity import tenant_id_for_system


@dataclass(frozen=True)
class ParticipantRow:
    staff_id: int
    staff_code: str
    team_code: str | None
    metrics: dict[str, Decimal | None]
    penalty_counts: dict[str, int]
    state: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class PeriodAggregates:
    participants: list[ParticipantRow]
    team_pool_credits: dict[str, dict[str, Decimal]]


def _filter_sql(params: BindParams, events: Sequence[str], filters: dict[str, Any], alias: str = "e") -> str:
    parts = [f"{alias}.type = ANY({params.add(list(events))}::text[])"]
    for key, expected in sorted(filters.items()):
        if key == "customer_grade":
            # Grade of the customer in the calendar month before the event (known when the event happened).
            # A lookup in the map built once (see _customer_grades_cte), not a correlated subquery per event.
            grades = [expected] if isinstance(expected, str) else list(expected)
            parts.append(
                f"(SELECT grades FROM customer_grade_map) ->> {alias}.customer_id::text "
                f"= ANY({params.add(grades)}::text[])"
            )
        elif isinstance(expected, list):
            parts.append(
                f"{alias}.attributes -> {params.add(key)} "
                f"= ANY({params.add([json.dumps(v) for v in expected])}::jsonb[])"
            )
        else:
            parts.append(f"{alias}.attributes @> {params.add(json.dumps({key: expected}))}::jsonb")
    return " AND ".join(parts)


@dataclass(frozen=True)
class _Column:
    """One aggregate column: its SQL expression, name and type (the NULL placeholders of the combining UNION ALL
    need the type: an untyped NULL in a set operation resolves to text)."""

    expression: str
    name: str
    sql_type: str

    def select(self) -> str:
        return f"{self.expression} AS {self.name}"


def _metric_columns(metric: Metric, condition: str, share: str | None, column: str) -> list[_Column]:
    """Exact, additive aggregates (sums unrounded, averages as sum and count) so late events can be added later."""
    weighted = (lambda c: f"{c} * {share}") if share else (lambda c: c)
    match metric.aggregate:
        case "count":
            return [_Column(f"count(*) FILTER (WHERE {condition})", column, "bigint")]
        case "sum_amount":
            return [_Column(f"coalesce(sum({weighted('e.amount')}) FILTER (WHERE {condition}), 0)", column, "numeric")]
        case "sum_value":
            return [_Column(f"coalesce(sum({weighted('e.value')}) FILTER (WHERE {condition}), 0)", column, "numeric")]
        case "avg_value":
            return [
                _Column(
                    f"coalesce(sum(e.value) FILTER (WHERE {condition} AND e.value IS NOT NULL), 0)",
                    f"{column}_s",
                    "numeric",
                ),
                _Column(f"count(e.value) FILTER (WHERE {condition})", f"{column}_n", "bigint"),
            ]
        case "count_distinct_customers":
            return [_Column(f"count(DISTINCT e.customer_id) FILTER (WHERE {condition})", column, "bigint")]
    raise ValueError(f"not an aggregate metric: {metric.key}")


def _seen_before(params: BindParams, metric: Metric, since: str) -> str:
    """For an incremental distinct count: the customer was already counted for this staff member in the period."""
    earlier = _filter_sql(params, metric.events, metric.filter, alias="o")
    return (
        "NOT EXISTS (SELECT 1 FROM event o WHERE o.tenant_id = $3 AND o.staff_id = e.staff_id "
        "AND o.customer_id = e.customer_id AND o.occurred_at >= $1 AND o.occurred_at < $2 "
        f"AND o.status = 'counted' AND o.id <= {since} AND {earlier})"
    )


def supports_incremental(config: SchemeConfig) -> bool:
    """Late events can be added to stored aggregates unless a distinct count runs over credits (shares make
    'already counted' ambiguous) or customer grades are involved (late events may regrade customers)."""
    if any(m.aggregate == "count_distinct_customers" and m.credit == "credited" for m in config.metrics):
        return False
    filters = [m.filter for m in config.metrics] + [
        p.filter for p in config.penalties if isinstance(p, PerEventPenalty)
    ]
    return not any("customer_grade" in f for f in filters)


def _ident(prefix: str, position: int) -> str:
    return f"{prefix}{position}"


def build_query(
    tenant_id: int,
    config: SchemeConfig,
    window_start: datetime,
    window_end: datetime,
    local_start: date,
    local_end: date,
    *,
    since_event_id: int | None = None,
) -> tuple[str, list[Any], list[tuple[str, str]], list[tuple[str, str]]]:
    """The SQL, its parameters, and (column, metric key) / (column, penalty key) maps for reading the rows.

    With `since_event_id`, only events after that id are aggregated (the late events of a re-close).
    Every table is filtered by tenant_id explicitly (index use, and a second wall besides RLS)."""
    params = BindParams(window_start, window_end, tenant_id)
    window = "e.tenant_id = $3 AND e.occurred_at >= $1 AND e.occurred_at < $2 AND e.status = 'counted'"
    since = None
    if since_event_id is not None:
        since = params.add(since_event_id)
        window += f" AND e.id > {since}"
    actor_columns: list[_Column] = []
    credited_columns: list[_Column] = []
    metric_columns: list[tuple[str, str]] = []
    penalty_columns: list[tuple[str, str]] = []
    for position, metric in enumerate(config.metrics):
        if metric.aggregate == "ratio":
            continue
        column = _ident("m", position)
        condition = _filter_sql(params, metric.events, metric.filter)
        if since is not None and metric.aggregate == "count_distinct_customers":
            condition = f"{condition} AND {_seen_before(params, metric, since)}"
        if metric.credit == "credited":
            credited_columns.extend(_metric_columns(metric, condition, "c.share", column))
        else:
            actor_columns.extend(_metric_columns(metric, condition, None, column))
        metric_columns.append((column, metric.key))
    for position, penalty in enumerate(config.penalties):
        if isinstance(penalty, PerEventPenalty):
            column = _ident("p", position)
            condition = _filter_sql(params, penalty.events, penalty.filter)
            actor_columns.append(_Column(f"count(*) FILTER (WHERE {condition})", column, "bigint"))
            penalty_columns.append((column, penalty.key))

    roles = params.add(list(config.participants.roles))
    teams = params.add(list(config.participants.teams))
    start_day, end_day = params.add(local_start), params.add(local_end)
    uses_grades = uses_customer_grades(config)
    ctes = [
        # Team filter: the listed teams and their whole subtree.
        f"""scoped_teams AS (
            SELECT t.id FROM team t
            WHERE t.tenant_id = $3 AND cardinality({teams}::text[]) > 0 AND t.code = ANY({teams}::text[])
            UNION
            SELECT child.id FROM team child
            JOIN scoped_teams parent ON child.tenant_id = $3 AND child.parent_id = parent.id
        )""",
        TEAM_CODE_MAP,
    ]
    if uses_grades:
        ctes.insert(0, _customer_grades_cte(params, config, window_start))
    # The combining UNION ALL: one branch per source, each source's columns typed NULL in the other branches. Every
    # branch runs once (an Append), whatever the planner believes about row counts; GROUP BY staff_id merges them.
    aggregate_columns = actor_columns + credited_columns
    branches = [
        f"""SELECT s.id AS staff_id, s.code AS staff_code,
                   (SELECT codes FROM team_code_map) ->> s.team_id::text AS team_code,
                   true AS participant{_placeholders(aggregate_columns, [])}
            FROM staff s
            WHERE s.tenant_id = $3 AND (cardinality({roles}::text[]) = 0 OR s.role = ANY({roles}::text[]))
              AND (cardinality({teams}::text[]) = 0 OR s.team_id IN (SELECT id FROM scoped_teams))
              AND (s.hired_on IS NULL OR s.hired_on < {end_day}::date)
              AND (s.left_on IS NULL OR s.left_on >= {start_day}::date)
              AND (s.active OR s.left_on IS NOT NULL)"""
    ]
    if actor_columns:
        branches.append(
            f"""SELECT e.staff_id, NULL, NULL, NULL{_placeholders(aggregate_columns, actor_columns)}
            FROM event e WHERE {window} AND e.staff_id IS NOT NULL GROUP BY e.staff_id"""
        )
    if credited_columns:
        branches.append(
            f"""SELECT c.staff_id, NULL, NULL, NULL{_placeholders(aggregate_columns, credited_columns)}
            FROM event e CROSS JOIN LATERAL unnest(e.credit_staff_ids, e.credit_shares) AS c(staff_id, share)
            WHERE {window} GROUP BY c.staff_id"""
        )
    # Each staff member has at most one row per branch: max() of a column is that row's value, exactly.
    select_columns = ["staff_id", "max(staff_code) AS staff_code", "max(team_code) AS team_code"]
    select_columns.extend(f"max({c.name}) AS {c.name}" for c in aggregate_columns)
    sql = (
        "WITH RECURSIVE "
        + ",\n".join(ctes)
        + f"\nSELECT {', '.join(select_columns)} FROM (\n"
        + "\nUNION ALL\n".join(branches)
        + "\n) AS sources GROUP BY staff_id HAVING bool_or(participant) ORDER BY staff_code"
    )
    return sql, params.values, metric_columns, penalty_columns


def _placeholders(columns: list[_Column], present: list[_Column]) -> str:
    """Every column, each after a comma: the aggregate itself where this branch computes it, else a typed NULL."""
    computed = {c.name for c in present}
    return "".join(f", {c.select()}" if c.name in computed else f", NULL::{c.sql_type} AS {c.name}" for c in columns)


# A lookup map (team id -> code) built once per statement: a staff member's or a pool's team code is read from it,
# never by a join or a subquery per row whose plan would follow the estimates.
TEAM_CODE_MAP = """team_code_map AS MATERIALIZED (
            SELECT coalesce(jsonb_object_agg(t.id::text, t.code), '{}'::jsonb) AS codes
            FROM team t WHERE t.tenant_id = $3
        )"""


def grades_month(config: SchemeConfig, window_start: datetime) -> str:
    """The month whose grades a period's `customer_grade` filters read: the calendar month before the period's
    start, in the scheme's timezone (its grades are those stored for that month key, graded in the tenant's
    timezone: tenants/grading)."""
    return period_containing("month", window_start - timedelta(seconds=1), config.timezone)


def _customer_grades_cte(params: BindParams, config: SchemeConfig, window_start: datetime) -> str:
    """The stored grades of the month before the period (tenants/grading: DESIGN.md's ABCD under the tenant's
    thresholds), as one jsonb map (customer id -> grade) that the metric filters read per event: a lookup, never a
    rescan of the grades per event. `aggregate_period` makes sure the month is graded before it runs the statement
    (it grades it on the close's connection when no grades are stored); a customer without a stored grade for the
    month (created after it) matches no grade."""
    month = params.add(grades_month(config, window_start))
    return f"""customer_grade_map AS MATERIALIZED (
            SELECT coalesce(jsonb_object_agg(g.customer_id::text, g.grade), '{{}}'::jsonb) AS grades
            FROM customer_grade g WHERE g.tenant_id = $3 AND g.run = (
                SELECT m.run FROM customer_grade_month m WHERE m.tenant_id = $3 AND m.month = {month})
        )"""


def uses_customer_grades(config: SchemeConfig) -> bool:
    return any("customer_grade" in m.filter for m in config.metrics) or any(
        isinstance(p, PerEventPenalty) and "customer_grade" in p.filter for p in config.penalties
    )


def build_pool_query(
    tenant_id: int, config: SchemeConfig, window_start: datetime, window_end: datetime
) -> tuple[str, list[Any], list[tuple[str, str]]] | None:
    """Team-pool credits per team: one aggregate of the window's pool events, grouped by the team's id (its code
    unique per tenant, read from the team code map)."""
    pool_metrics = {r.metric for r in config.rewards if isinstance(r, TeamPoolReward)}
    if not pool_metrics:
        return None
    params = BindParams(window_start, window_end, tenant_id)
    columns: list[_Column] = []
    mapping: list[tuple[str, str]] = []
    uses_grades = False
    for position, metric in enumerate(config.metrics):
        if metric.key in pool_metrics and metric.aggregate in ("count", "sum_amount", "sum_value"):
            column = _ident("m", position)
            condition = _filter_sql(params, metric.events, metric.filter)
            uses_grades = uses_grades or "customer_grade" in metric.filter
            # An order split between staff and a team brings only the team's share into the pool.
            columns.extend(_metric_columns(metric, condition, "coalesce(e.pool_share, 1)", column))
            mapping.append((column, metric.key))
    if not columns:
        return None
    ctes = [_customer_grades_cte(params, config, window_start)] if uses_grades else []
    ctes.append(TEAM_CODE_MAP)
    ctes.append(
        f"""pool AS (
            SELECT (SELECT codes FROM team_code_map) ->> e.pool_team_id::text AS team_code,
                   {", ".join(c.select() for c in columns)}
            FROM event e
            WHERE e.tenant_id = $3 AND e.occurred_at >= $1 AND e.occurred_at < $2 AND e.status = 'counted'
              AND e.pool_team_id IS NOT NULL
            GROUP BY e.pool_team_id
        )"""
    )
    sql = "WITH " + ",\n".join(ctes) + "\nSELECT * FROM pool WHERE team_code IS NOT NULL"
    return sql, params.values, mapping


State = dict[str, dict[str, Any]]


def _state_of(
    row: dict[str, Any],
    config: SchemeConfig,
    metric_columns: list[tuple[str, str]],
    penalty_columns: list[tuple[str, str]],
) -> State:
    """The exact aggregates of one row, JSON-ready (Decimals as strings)."""
    by_key = {m.key: m for m in config.metrics}
    metrics: dict[str, Any] = {}
    for column, key in metric_columns:
        if by_key[key].aggregate == "avg_value":
            metrics[key] = [str(row[f"{column}_s"] or 0), int(row[f"{column}_n"] or 0)]
        else:
            metrics[key] = str(row[column] or 0)
    return {"m": metrics, "p": {key: int(row[column] or 0) for column, key in penalty_columns}}


def _add_states(old: State, delta: State) -> State:
    metrics: dict[str, Any] = {}
    for key, value in delta["m"].items():
        before = old["m"].get(key)
        if isinstance(value, list):
            base: list[Any] = before if isinstance(before, list) else ["0", 0]
            metrics[key] = [str(Decimal(str(base[0])) + Decimal(str(value[0]))), int(base[1]) + int(value[1])]
        else:
            metrics[key] = str(Decimal(before if isinstance(before, str) else "0") + Decimal(value))
    penalties = {key: int(old["p"].get(key, 0)) + int(count) for key, count in delta["p"].items()}
    return {"m": metrics, "p": penalties}


def metric_values(config: SchemeConfig, state: State) -> dict[str, Decimal | None]:
    """What the engine scores: money to the cent (a credited share is rounded once, on the member's sum)."""
    values: dict[str, Decimal | None] = {}
    for metric in config.metrics:
        raw = state["m"].get(metric.key)
        if raw is None:
            continue
        if metric.aggregate == "avg_value":
            total, count = Decimal(raw[0]), int(raw[1])
            values[metric.key] = total / count if count else None
        elif metric.aggregate == "sum_amount":
            values[metric.key] = money(Decimal(raw))
        else:
            values[metric.key] = Decimal(raw)
    return values


class IncrementalNotPossible(Exception):
    """The stored aggregates cannot simply be extended (participants changed): aggregate the whole period."""


async def aggregate_period(
    conn: BaseDBAsyncClient,
    tenant_id: int,
    config: SchemeConfig,
    window_start: datetime,
    window_end: datetime,
    local_start: date,
    local_end: date,
    *,
    since_event_id: int | None = None,
    previous_states: dict[int, State] | None = None,
) -> PeriodAggregates:
    """All participants' aggregates; with `since_event_id` and `previous_states`, the stored ones plus late events.

    A config filtering on customer grades reads the stored grades of the month before the period; when that month
    has none, it is graded here first, on this connection (tenants/grading/service.py: ensure_month_graded)."""
    if uses_customer_grades(config):
        await ensure_month_graded(conn, tenant_id_for_system(tenant_id), grades_month(config, window_start))
    sql, params, metric_columns, penalty_columns = build_query(
        tenant_id, config, window_start, window_end, local_start, local_end, since_event_id=since_event_id
    )
    rows = await conn.execute_query_dict(sql, params)
    if since_event_id is not None and (
        previous_states is None or {row["staff_id"] for row in rows} != set(previous_states)
    ):
        raise IncrementalNotPossible
    participants = []
    for row in rows:
        state = _state_of(row, config, metric_columns, penalty_columns)
        if since_event_id is not None and previous_states is not None:
            state = _add_states(previous_states[row["staff_id"]], state)
        participants.append(
            ParticipantRow(
                staff_id=row["staff_id"],
                staff_code=row["staff_code"],
                team_code=row["team_code"],
                metrics=metric_values(config, state),
                penalty_counts={key: int(count) for key, count in state["p"].items()},
                state=state,
            )
        )
    pools: dict[str, dict[str, Decimal]] = {}
    pool = build_pool_query(tenant_id, config, window_start, window_end)
    if pool is not None:
        pool_sql, pool_params, mapping = pool
        for row in await conn.execute_query_dict(pool_sql, pool_params):
            state = {"m": {key: str(row[column] or 0) for column, key in mapping}, "p": {}}
            pools[row["team_code"]] = {k: v or Decimal(0) for k, v in metric_values(config, state).items()}
    return PeriodAggregates(participants=participants, team_pool_credits=pools)
