"""teamSummary's statement cannot go quadratic, whatever the statistics say.

Right after a close nothing has analysed `scorecard` or `ledger_line` (autovacuum is off or late): the planner
believes every set of the statement has one row. The old statement joined the period's lines to the cards in view
(and the cards to the per-staff sums) by a nested loop that rescanned the materialised set once per row of the other
(15,992,000 rows removed by a join filter at 2,000 staff, 33 s at 20,000). Here the cards and lines of a few hundred
staff are written without ANALYZE and the statement is run under EXPLAIN ANALYZE with the planner settings the
service runs it with (its unit of work's HASH_JOINS_ONLY_SETTINGS): no set (a table scanned in full, a CTE, a
materialised or sub-query result) may be read more than once, the lines are only read by index, and no join filter
throws rows away.
Against the statement before this test it fails: the period's lines against the cards in view, 1,212 rescans.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import asyncpg

from tenants.access.scope import AccessScope
from tenants.db.uow import HASH_JOINS_ONLY_SETTINGS, tenant_unit_of_work
from tenants.scorecards import repository
from tenants.staff.models import Staff
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId
from tests.conftest import TenantFactory
from tests.periods.test_plan_stability import explain
from tests.scorecards.support import Example, closed_example

EXTRA_STAFF = 300
# Nodes that produce a whole set: reading one of them again per outer row is the quadratic shape.
SET_SCANS = frozenset({"Seq Scan", "CTE Scan", "Materialize", "Subquery Scan", "Function Scan", "Sort", "Hash"})
INDEX_READS = frozenset({"Index Scan", "Index Only Scan", "Bitmap Heap Scan"})


async def clone_cards(example: Example, template_code: str) -> None:
    """EXTRA_STAFF more staff in the example's stores, each with a copy of `template_code`'s card (other totals) and
    ledger lines of the closed period: written by plain INSERTs, so nothing analyses the tables."""
    tid = example.tenant_id
    teams = [example.teams["S1"], example.teams["S2"], None]
    async with tenant_unit_of_work(tid) as conn:
        await Staff.bulk_create(
            [
                Staff(tenant_id=tid, code=f"load-{i:04}", name=f"load {i}", role="guide", team_id=teams[i % 3])
                for i in range(EXTRA_STAFF)
            ]
        )
        for table, replaced in (
            ("scorecard", {"staff_id": "s.id", "total": "(s.id % 97)::numeric"}),
            ("ledger_line", {"staff_id": "s.id"}),
        ):
            rows = await conn.execute_query_dict(
                "SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND column_name <> 'id' "
                "ORDER BY ordinal_position",
                [table],
            )
            columns = [str(row["column_name"]) for row in rows]
            selected = ", ".join(replaced.get(column, f"x.{column}") for column in columns)
            await conn.execute_query(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {selected} FROM {table} x "
                "JOIN staff s ON s.tenant_id = x.tenant_id AND s.code LIKE 'load-%' "
                "WHERE x.tenant_id = $1 AND x.staff_id = $2",
                [int(tid), example.staff[template_code]],
            )


def nodes(plan: dict[str, Any], in_recursion: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every node of the plan (CTEs, init plans and subplans included), and whether it is inside a recursive union
    (the team subtree: its work table is rescanned once per level of the tree, by design)."""
    yield plan, in_recursion
    inside = in_recursion or plan["Node Type"] == "Recursive Union"
    for child in plan.get("Plans", []):
        yield from nodes(child, inside)


async def nodes_read_once(
    app_conn: asyncpg.Connection, tenant_id: TenantId, sql: str, params: list[Any], label: object
) -> list[dict[str, Any]]:
    """The statement's plan nodes outside the team subtree's recursion, run under EXPLAIN ANALYZE with the settings of
    a hash_joins_only unit of work, once it is checked that no set was read twice and no join filter threw rows away."""
    plan = await explain(app_conn, tenant_id, sql, params, HASH_JOINS_ONLY_SETTINGS)
    every = [node for node, in_recursion in nodes(plan) if not in_recursion]
    rescanned = [
        (node["Node Type"], node.get("Alias"), node["Actual Loops"])
        for node in every
        if node["Node Type"] in SET_SCANS and node["Actual Loops"] > 1
    ]
    assert not rescanned, (label, rescanned)
    discarded = sum(node.get("Rows Removed by Join Filter", 0) * node["Actual Loops"] for node in every)
    assert discarded == 0, (label, discarded)
    return every


async def test_the_team_summary_reads_every_set_once(make_tenant: TenantFactory, app_conn: asyncpg.Connection) -> None:
    example = await closed_example(await make_tenant())
    await clone_cards(example, "guide-001")
    async with tenant_unit_of_work(example.tenant_id) as conn:
        period = await repository.period_context(conn, example.tenant_id, example.scheme_id, example.period)
    assert period is not None
    admin = AccessScope(role=Role.ADMIN, user_id=None, staff_id=None, team_ids=None)
    manager = AccessScope(
        role=Role.MANAGER, user_id=1, staff_id=None, team_ids=frozenset({example.teams["R"], example.teams["S1"]})
    )
    for name, scope, team_code in [("admin", admin, None), ("admin, team R", admin, "R"), ("manager", manager, None)]:
        sql, params = repository.build_team_summary_query(example.tenant_id, period, scope, team_code, Decimal(10))
        every = await nodes_read_once(app_conn, example.tenant_id, sql, params, name)
        line_reads = [node["Node Type"] for node in every if node.get("Relation Name") == "ledger_line"]
        assert line_reads and set(line_reads) <= INDEX_READS, (name, line_reads)
        # The statement did see the seeded cards (a plan over empty sets proves nothing).
        cards = [node["Actual Rows"] for node in every if node.get("Relation Name") == "scorecard"]
        assert max(cards) >= EXTRA_STAFF, (name, cards)


class _Capture:
    """A connection stand-in that records the statements a repository read sends (and runs them for real)."""

    def __init__(self, tenant_id: TenantId) -> None:
        self.tenant_id = tenant_id
        self.sent: list[tuple[str, list[Any]]] = []

    async def execute_query_dict(self, sql: str, values: list[Any]) -> list[dict[str, Any]]:
        self.sent.append((sql, values))
        async with tenant_unit_of_work(self.tenant_id) as conn:
            return await conn.execute_query_dict(sql, values)


async def test_card_reads_read_every_set_once(make_tenant: TenantFactory, app_conn: asyncpg.Connection) -> None:
    """The page of scorecards (scorecards, leaderboard) and one card (myScorecard) under the settings their units of
    work use (hash_joins_only): before them, one card among 310 staff threw away 45,753 rows in join filters and the
    page 54,949 (the cards-with-staff join of the ranking, rescanned per row)."""
    example = await closed_example(await make_tenant())
    await clone_cards(example, "guide-001")
    async with tenant_unit_of_work(example.tenant_id) as conn:
        period = await repository.period_context(conn, example.tenant_id, example.scheme_id, example.period)
    assert period is not None
    admin = AccessScope(role=Role.ADMIN, user_id=None, staff_id=None, team_ids=None)
    capture = _Capture(example.tenant_id)
    reader: Any = capture
    page = await repository.card_page(
        reader,
        example.tenant_id,
        period,
        admin,
        filters=repository.CardFilter(),
        order=repository.CardOrder.TOTAL_DESC,
        after=None,
        limit=50,
        with_details=True,
        me=example.staff["guide-002"],
    )
    assert len(page.rows) == 50 and page.me is not None
    assert await repository.one_card(reader, example.tenant_id, period, staff_id=example.staff["guide-001"])
    assert len(capture.sent) == 2
    for sql, params in capture.sent:
        every = await nodes_read_once(app_conn, example.tenant_id, sql, params, sql[:60])
        cards = [node["Actual Rows"] for node in every if node.get("Relation Name") == "scorecard"]
        assert max(cards) >= EXTRA_STAFF, cards
