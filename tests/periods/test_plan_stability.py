"""The close's statements cannot collapse into a re-aggregation per participant, whatever the statistics say.

A tenant onboarded through the API (upserts, the NDJSON import) has rows the planner's statistics have never seen:
the tables were never analysed (autovacuum off or late), or analysed before this tenant's rows arrived, so the planner
believes the tenant has about one staff member and one event. The old statement then joined the participants to the
event aggregate by a nested loop and re-ran the aggregate once per participant (83.7 s instead of 0.1 s for 1,000
staff and 100,000 events). Here every node that scans `event` must run once (EXPLAIN ANALYZE loops <= 1, at least one
loop), both with the plan the planner picks on such statistics (this tenant's rows stay below the bulk-write ANALYZE
threshold, tenants/statistics.py) and with nested loops as the only join method, which is what a planner that
believes in one participant picks, so the check does not depend on what other tests did to the shared statistics.

The results stay exactly what they were: the golden test below computes the o2o template's aggregates (credited
shares, refunds, averages, customer grades from the previous month, per-event penalties, team pools) by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.periods.aggregation import aggregate_period, build_pool_query, build_query
from tenants.periods.resolution import ResolvedPeriod, resolve_period
from tenants.schemes import service as schemes
from tenants.schemes.templates import get_template
from tenants.tenancy import service
from tenants.tenancy.auth import Scope
from tenants.tenancy.identity import TenantId
from tests.conftest import GraphQL, TenantFactory
from tests.staff import upsert

PERIOD = "2026-10"


def o2o_config() -> dict[str, Any]:
    """The o2o template plus a team pool over a customer-grade-filtered metric (grades inside the pool statement)."""
    config = get_template("o2o_operations_service").config
    config["metrics"].append(
        {
            "key": "key_sales",
            "aggregate": "sum_amount",
            "events": ["order"],
            "credit": "credited",
            "filter": {"customer_grade": ["A"]},
        }
    )
    config["rewards"].append(
        {"key": "key_pool", "type": "team_pool", "metric": "key_sales", "steps": [{"min": 1, "amount": 1}]}
    )
    return config


def month_events() -> Iterator[dict[str, Any]]:
    """September grades the customers (total 1,000: c1 500 -> A, c2 300 -> B, c3 200 -> C; c4 nothing and c5 refunded
    to 0 -> D); October is the closed period."""
    september = "2026-09-10T12:00:00+08:00"
    grading: list[dict[str, Any]] = [
        {"externalId": "sep-1", "type": "order", "occurredAt": september, "staff": "ops1", "customer": "c1",
         "amount": "500"},
        {"externalId": "sep-2", "type": "order", "occurredAt": september, "staff": "ops1", "customer": "c2",
         "amount": "300"},
        {"externalId": "sep-3", "type": "order", "occurredAt": september, "staff": "cs1", "customer": "c3",
         "amount": "200"},
        {"externalId": "sep-4", "type": "order", "occurredAt": september, "staff": "cs1", "customer": "c5",
         "amount": "100"},
        {"externalId": "sep-5", "type": "refund", "occurredAt": september, "staff": "cs1", "customer": "c5",
         "amount": "-100", "attributes": {"order": "sep-4"}},
    ]  # fmt: skip
    october = "2026-10-12T12:00:00+08:00"
    closed: list[dict[str, Any]] = [
        {"externalId": "o1", "type": "order", "occurredAt": october, "staff": "ops1", "customer": "c1",
         "amount": "1000", "credits": [{"staff": "ops1", "share": "0.3"}, {"staff": "cs1", "share": "0.7"}]},
        {"externalId": "o2", "type": "order", "occurredAt": october, "staff": "cs1", "customer": "c2", "amount": "200"},
        {"externalId": "o3", "type": "order", "occurredAt": october, "staff": "cs1", "customer": "c3", "amount": "50"},
        {"externalId": "o4", "type": "order", "occurredAt": october, "staff": "cs1", "customer": "c1", "amount": "10"},
        {"externalId": "o5", "type": "order", "occurredAt": october, "staff": "cs2", "customer": "c4", "amount": "70"},
        {"externalId": "r1", "type": "refund", "occurredAt": october, "staff": "cs1", "amount": "-20",
         "attributes": {"order": "o2"}},
        {"externalId": "g1", "type": "order", "occurredAt": october, "staff": "g1", "customer": "c1", "amount": "999"},
        {"externalId": "p1", "type": "order", "occurredAt": october, "team": "s1", "customer": "c1", "amount": "400"},
        {"externalId": "p2", "type": "order", "occurredAt": october, "team": "s2", "customer": "c3", "amount": "100"},
        {"externalId": "l1", "type": "lead_assigned", "occurredAt": october, "staff": "cs2"},
        {"externalId": "l2", "type": "lead_assigned", "occurredAt": october, "staff": "cs2"},
        {"externalId": "l3", "type": "lead_converted", "occurredAt": october, "staff": "cs2"},
        {"externalId": "ch1", "type": "chat_session", "occurredAt": october, "staff": "cs1", "value": "30"},
        {"externalId": "ch2", "type": "chat_session", "occurredAt": october, "staff": "cs1", "value": "90"},
        {"externalId": "t1", "type": "reply_timeout", "occurredAt": october, "staff": "cs2"},
        {"externalId": "k1", "type": "complaint", "occurredAt": october, "staff": "cs1",
         "attributes": {"severity": "major"}},
        {"externalId": "k2", "type": "complaint", "occurredAt": october, "staff": "cs2",
         "attributes": {"severity": "minor"}},
    ]  # fmt: skip
    yield from grading + closed


@dataclass(frozen=True)
class Onboarded:
    tenant_id: TenantId
    scheme_id: int


async def onboard(make_tenant: TenantFactory, gql: GraphQL, client: httpx.AsyncClient) -> Onboarded:
    """A merchant's data the way it arrives: master data by the GraphQL upserts, events by the NDJSON import, and
    no ANALYZE by anyone (every table gets fewer rows than tenants/statistics.py's bulk-write threshold)."""
    tenant = await make_tenant()
    key = (
        await service.create_api_key(tenant.tenant_id, "onboarding", [Scope.STAFF_WRITE, Scope.EVENTS_WRITE], None)
    ).plaintext
    await upsert(gql, "teams", [{"code": "s1", "name": "Store 1"}, {"code": "s2", "name": "Store 2"}], key)
    staff = [("ops1", "operations", "s1"), ("cs1", "customer_service", "s1"), ("cs2", "customer_service", "s2")]
    staff.append(("g1", "guide", "s2"))
    result = await upsert(
        gql, "staff", [{"code": c, "name": c, "role": role, "team": team} for c, role, team in staff], key
    )
    assert result["created"] == len(staff), result
    await upsert(gql, "customers", [{"code": f"c{i}"} for i in range(1, 6)], key)
    body = "\n".join(json.dumps(event) for event in month_events())
    response = await client.post("/import/events", content=body, headers={"authorization": f"Bearer {key}"})
    answer = response.json()
    assert response.status_code == 200 and answer["accepted"] == answer["items"], answer
    scheme = await schemes.create_scheme(tenant.tenant_id, SYSTEM, "o2o")
    draft = await schemes.save_draft(tenant.tenant_id, SYSTEM, scheme.id, o2o_config())
    await schemes.publish_version(tenant.tenant_id, SYSTEM, draft.id, date(2026, 9, 1))
    return Onboarded(tenant.tenant_id, scheme.id)


async def resolved(onboarded: Onboarded) -> ResolvedPeriod:
    async with tenant_unit_of_work(onboarded.tenant_id) as conn:
        return await resolve_period(conn, onboarded.tenant_id, onboarded.scheme_id, PERIOD)


async def test_the_aggregates_of_a_period_are_exact(
    make_tenant: TenantFactory, gql: GraphQL, client: httpx.AsyncClient
) -> None:
    onboarded = await onboard(make_tenant, gql, client)
    period = await resolved(onboarded)
    async with tenant_unit_of_work(onboarded.tenant_id) as conn:
        aggregates = await aggregate_period(
            conn,
            onboarded.tenant_id,
            period.config,
            period.starts_at,
            period.ends_at,
            period.local_start,
            period.local_end,
        )
    rows = {p.staff_code: (p.team_code, p.metrics, p.penalty_counts) for p in aggregates.participants}
    assert [p.staff_code for p in aggregates.participants] == ["cs1", "cs2", "ops1"]  # g1 is no participant
    zero = Decimal("0.00")
    assert rows["cs1"] == (
        "s1",
        {
            # 70% of o1, o2, o3, o4, minus r1 (credited like o2)
            "credited_sales": Decimal("940.00"),
            "leads": 0,
            "converted_leads": 0,
            "first_response_seconds": Decimal(60),
            "key_customers_served": 2,  # c2 (B) and c1 (A); c3 is C
            "key_sales": Decimal("710.00"),  # 70% of o1 and o4, both for c1 (A)
        },
        {"reply_timeout": 0, "service_complaint": 1},
    )
    assert rows["cs2"] == (
        "s2",
        {
            "credited_sales": Decimal("70.00"),
            "leads": 2,
            "converted_leads": 1,
            "first_response_seconds": None,
            "key_customers_served": 0,  # c4 is D
            "key_sales": zero,
        },
        {"reply_timeout": 1, "service_complaint": 0},  # a minor complaint is no service complaint
    )
    assert rows["ops1"] == (
        "s1",
        {
            "credited_sales": Decimal("300.00"),
            "leads": 0,
            "converted_leads": 0,
            "first_response_seconds": None,
            "key_customers_served": 1,  # c1 (A)
            "key_sales": Decimal("300.00"),
        },
        {"reply_timeout": 0, "service_complaint": 0},
    )
    assert aggregates.team_pool_credits == {
        "s1": {"credited_sales": Decimal("400.00"), "key_sales": Decimal("400.00")},  # p1 is for c1 (A)
        "s2": {"credited_sales": Decimal("100.00"), "key_sales": zero},  # p2 is for c3 (C)
    }


NESTED_LOOPS_ONLY = ("enable_hashjoin", "enable_mergejoin", "enable_material", "enable_memoize")


def event_scans(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of the plan (CTEs, init plans and subplans included) that reads the `event` table."""
    if plan.get("Relation Name") == "event":
        yield plan
    for child in plan.get("Plans", []):
        yield from event_scans(child)


async def explain(
    app_conn: asyncpg.Connection, tenant_id: TenantId, sql: str, params: list[Any], planner_off: tuple[str, ...]
) -> dict[str, Any]:
    async with app_conn.transaction():
        await app_conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
        for setting in planner_off:
            await app_conn.execute(f"SET LOCAL {setting} = off")
        document = await app_conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *params)
    plan: dict[str, Any] = json.loads(document)[0]["Plan"]
    return plan


@pytest.mark.parametrize("planner_off", [(), NESTED_LOOPS_ONLY], ids=["as planned", "nested loops only"])
async def test_every_event_scan_of_the_close_runs_once(
    make_tenant: TenantFactory,
    gql: GraphQL,
    client: httpx.AsyncClient,
    app_conn: asyncpg.Connection,
    planner_off: tuple[str, ...],
) -> None:
    onboarded = await onboard(make_tenant, gql, client)
    period = await resolved(onboarded)
    metrics_sql, metrics_params, _, _ = build_query(
        onboarded.tenant_id, period.config, period.starts_at, period.ends_at, period.local_start, period.local_end
    )
    pool = build_pool_query(onboarded.tenant_id, period.config, period.starts_at, period.ends_at)
    assert pool is not None
    for name, sql, params in [("metrics", metrics_sql, metrics_params), ("team pools", pool[0], pool[1])]:
        plan = await explain(app_conn, onboarded.tenant_id, sql, params, planner_off)
        loops = [(node["Node Type"], node["Actual Loops"]) for node in event_scans(plan)]
        assert loops, f"{name}: no scan of event in the plan"
        # 0 loops: a branch the plan never needed to run; more than 1: the events are read again per outer row.
        assert all(count <= 1 for _, count in loops) and any(count == 1 for _, count in loops), (name, loops)


async def test_the_re_close_statement_reads_the_late_events_once(
    make_tenant: TenantFactory, gql: GraphQL, client: httpx.AsyncClient, app_conn: asyncpg.Connection
) -> None:
    """The incremental statement of a re-close (only events after the watermark; a distinct count probes whether each
    late event's customer was already counted, one index lookup per late event, alias `o`)."""
    tenant = await make_tenant()
    key = (
        await service.create_api_key(tenant.tenant_id, "onboarding", [Scope.STAFF_WRITE, Scope.EVENTS_WRITE], None)
    ).plaintext
    await upsert(gql, "staff", [{"code": f"g{i}", "name": f"g{i}", "role": "guide"} for i in range(1, 4)], key)
    await upsert(gql, "customers", [{"code": f"c{i}"} for i in range(1, 4)], key)
    october = "2026-10-12T12:00:00+08:00"

    async def send(prefix: str, count: int) -> None:
        kinds = ["order", "customer_added", "follow_up_missed", "complaint"]
        lines = [
            {"externalId": f"{prefix}{i}", "type": kinds[i % 4], "occurredAt": october, "staff": f"g{1 + i % 3}"}
            | ({"customer": f"c{1 + i % 3}", "amount": "100"} if i % 4 == 0 else {})
            for i in range(count)
        ]
        body = "\n".join(json.dumps(line) for line in lines)
        response = await client.post("/import/events", content=body, headers={"authorization": f"Bearer {key}"})
        assert response.json()["accepted"] == count, response.text

    await send("e", 24)
    async with tenant_unit_of_work(tenant.tenant_id) as conn:
        rows = await conn.execute_query_dict("SELECT max(id) AS id FROM event WHERE tenant_id = $1", [tenant.tenant_id])
    watermark = int(rows[0]["id"])
    await send("late", 8)
    config = get_template("store_guide_new_customers").config
    config["metrics"][0]["weight"] = 30
    config["metrics"].append(
        {"key": "buyers", "aggregate": "count_distinct_customers", "events": ["order"], "target": 5, "weight": 10}
    )
    scheme = await schemes.create_scheme(tenant.tenant_id, SYSTEM, "guides")
    draft = await schemes.save_draft(tenant.tenant_id, SYSTEM, scheme.id, config)
    await schemes.publish_version(tenant.tenant_id, SYSTEM, draft.id, date(2026, 10, 1))
    period = await resolved(Onboarded(tenant.tenant_id, scheme.id))
    sql, params, _, _ = build_query(
        tenant.tenant_id,
        period.config,
        period.starts_at,
        period.ends_at,
        period.local_start,
        period.local_end,
        since_event_id=watermark,
    )
    for planner_off in [(), NESTED_LOOPS_ONLY]:
        plan = await explain(app_conn, tenant.tenant_id, sql, params, planner_off)
        loops = [(node.get("Alias"), node["Actual Loops"]) for node in event_scans(plan)]
        aggregate_scans = [count for alias, count in loops if alias != "o"]
        assert aggregate_scans and all(count <= 1 for count in aggregate_scans), (planner_off, loops)
        assert any(count == 1 for count in aggregate_scans), (planner_off, loops)
