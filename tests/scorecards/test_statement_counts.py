"""Issue 8 item 10: myScorecard, leaderboard and scorecards send a FIXED number of SQL statements, whatever the page
size, the number of participants, metrics or rules. Counted at the driver (tests/scorecards/counting.py): every
statement of the request is in the count (authentication, the unit of work's BEGIN / SET LOCAL / COMMIT, the scope,
the tenant's zone, the reads)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from tenants.audit.service import SYSTEM
from tenants.events.service import ingest
from tenants.periods.close import close_period
from tenants.schemes import service as schemes
from tenants.schemes.templates import get_template
from tenants.staff.records import StaffItem
from tenants.staff.service import upsert_staff
from tenants.tenancy.identity import TenantId
from tests.conftest import GraphQL, TenantFactory
from tests.scorecards.counting import StatementCounter, statements
from tests.scorecards.support import closed_example, staff_login

__all__ = ["statements"]  # the fixture

EXTRA_GUIDES = 40

MY_SCORECARD = """
query($scheme: ID!, $period: String!) {
  myScorecard(schemeId: $scheme, period: $period) {
    id total grade rank teamRank computedAt period { id startsAt }
    metrics { label value target attainment weight score derivation }
    progress { grade { explanation } metrics { toTarget explanation } ladders { missing explanation }
               commissions { missing explanation } scoreBonuses { pointsToCap } gates { pointsMissing } }
  }
}
"""
LEADERBOARD = """
query($scheme: ID!, $period: String!, $first: Int) {
  leaderboard(schemeId: $scheme, period: $period, first: $first) {
    totalCount edges { cursor node { rank staffName teamCode total grade } } me { rank }
  }
}
"""
SCORECARDS = """
query($scheme: ID!, $period: String!, $first: Int) {
  scorecards(schemeId: $scheme, period: $period, first: $first) {
    totalCount pageInfo { endCursor }
    edges { node { id staffCode total rank teamRank net computedAt metrics { label value score }
                   progress { grade { pointsMissing } metrics { toCap } commissions { missing } } } }
  }
}
"""

SCORECARDS_WITH_LINES = """
query($scheme: ID!, $period: String!, $first: Int) {
  scorecards(schemeId: $scheme, period: $period, first: $first) {
    edges { node { staffCode lines { id ruleLabel amount derivation current postedAt } } }
  }
}
"""


def bigger_config() -> dict[str, Any]:
    """The guide template with more metrics and rules (8 metrics, 6 rewards and penalties)."""
    config = copy.deepcopy(get_template("store_guide_new_customers").config)
    metrics = config["metrics"]
    for metric in metrics:
        if metric.get("weight") is not None:
            metric["weight"] = {"new_customers": 30, "conversion": 20, "sales": 20}[metric["key"]]
    metrics += [
        {
            "key": "orders",
            "label": "订单数",
            "aggregate": "count",
            "events": ["order"],
            "target": 5,
            "weight": 10,
            "scoring": {"type": "threshold"},
        },
        {
            "key": "buyers",
            "label": "购买客户数",
            "aggregate": "count_distinct_customers",
            "events": ["order"],
            "weight": 20,
            "scoring": {"type": "bands", "bands": [{"min": 1, "points": 50}, {"min": 5, "points": 100}]},
        },
        {"key": "complaints", "aggregate": "count", "events": ["complaint"]},
    ]
    config["rewards"] += [
        {"key": "performance", "type": "score_bonus", "base_amount": 500, "cap": 1.2},
        {"key": "top", "type": "rank_bonus", "ranks": [{"rank": 1, "amount": 300}], "per_team": True},
    ]
    config["penalties"].append({"key": "low", "type": "threshold", "below_score": 30, "amount": 50})
    return config


async def more_guides(tenant_id: TenantId, team_codes: list[str]) -> None:
    """EXTRA_GUIDES more guides with a few October events each, so pages can be long."""
    guides = [
        StaffItem(code=f"extra-{n:03d}", name=f"导购{n:03d}", role="guide", hired_on=date(2026, 1, 1))
        for n in range(EXTRA_GUIDES)
    ]
    result = await upsert_staff(tenant_id, SYSTEM, guides)
    assert not result.errors
    events = [
        {
            "externalId": f"extra-{n}-{k}",
            "type": "customer_added" if k % 2 else "order",
            "occurredAt": f"2026-10-{(k % 27) + 2:02d}T10:00:00+08:00",
            "staff": f"extra-{n:03d}",
            **({} if k % 2 else {"amount": f"{1000 + n * 10}.00"}),
        }
        for n in range(EXTRA_GUIDES)
        for k in range(n % 7)
    ]
    outcome = await ingest(tenant_id, enumerate(events))
    assert not outcome.rejected


async def test_reads_send_a_fixed_number_of_statements(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, statements: StatementCounter
) -> None:
    tenant = await make_tenant()
    example = await closed_example(tenant)
    tid = example.tenant_id
    await more_guides(tid, ["S1", "S2"])
    await close_period(tid, example.scheme_id, example.period, force=True)
    big = await schemes.create_scheme(tid, SYSTEM, "大方案", "more metrics and rules")
    draft = await schemes.save_draft(tid, SYSTEM, big.id, bigger_config())
    await schemes.publish_version(tid, SYSTEM, draft.id, date(2026, 10, 1))
    await close_period(tid, int(big.id), example.period)
    guide = await staff_login(example, "guide-002")
    staff_token = await login(guide.email)
    admin_token = await login(tenant.admin_email)

    async def count(query: str, token: str, **variables: Any) -> int:
        with statements.counting():
            body = await gql(query, variables, token)
        assert "errors" not in body, body
        return statements.count

    small, large = str(example.scheme_id), str(big.id)
    period = example.period
    # myScorecard: 5 metrics / 4 rules vs 8 metrics / 7 rules: the same statements.
    card_small = await count(MY_SCORECARD, staff_token, scheme=small, period=period)
    card_large = await count(MY_SCORECARD, staff_token, scheme=large, period=period)
    # leaderboard and scorecards: 1 row vs 43 rows (every participant), on both schemes.
    board = {
        await count(LEADERBOARD, staff_token, scheme=scheme, period=period, first=first)
        for scheme in (small, large)
        for first in (1, 5, 100)
    }
    pages = {
        await count(SCORECARDS, admin_token, scheme=scheme, period=period, first=first)
        for scheme in (small, large)
        for first in (1, 5, 100)
    }
    with_lines = {
        await count(SCORECARDS_WITH_LINES, admin_token, scheme=scheme, period=period, first=first)
        for scheme in (small, large)
        for first in (1, 5, 100)
    }
    assert with_lines == {13 + 6}  # + the loader's one unit of work for the lines of every card of the page
    lines = (await gql(SCORECARDS_WITH_LINES, {"scheme": small, "period": period, "first": 3}, admin_token))["data"]
    assert [len(edge["node"]["lines"]) for edge in lines["scorecards"]["edges"]] == [4, 4, 4]
    full = (await gql(SCORECARDS, {"scheme": large, "period": period, "first": 100}, admin_token))["data"]
    assert len(full["scorecards"]["edges"]) == 3 + EXTRA_GUIDES
    assert card_small == card_large
    assert len(board) == 1
    assert len(pages) == 1
    # The figures themselves: 13 = authentication's unit of work (6, the accounts domain's) + the read's: BEGIN,
    # the tenant with the planner settings (one set_config statement), the access scope, the period (with the
    # tenant's zone), the rows, COMMIT, and the pool's release.
    assert card_small == board.pop() == pages.pop() == 13
    with statements.counting():
        await gql(MY_SCORECARD, {"scheme": small, "period": period}, staff_token)
    read = statements.statements[statements.statements.index("BEGIN;", 1) :]
    assert [line.split(" ", 2)[:2] for line in read] == [
        ["BEGIN;"],
        ["SELECT", "set_config('app.tenant_id',"],  # the tenant, hash joins only, no JIT (tenants/db/uow.py)
        ["WITH", "RECURSIVE"],  # the access scope (tenants/access)
        ["SELECT", "p.id,"],  # the period, its version's config, the tenant's zone
        ["WITH", ""],  # the card with its ranks and net
        ["COMMIT;"],
        ["SELECT", "pg_advisory_unlock_all();"],  # asyncpg's reset when the pool takes the connection back
    ]


async def test_the_counter_sees_every_statement(app: Any, statements: StatementCounter) -> None:
    """The counter counts what a request would send, one by one (a per-row query could not hide)."""
    from tenants.db.uow import tenant_unit_of_work
    from tenants.tenancy.identity import tenant_id_for_system

    with statements.counting():
        async with tenant_unit_of_work(tenant_id_for_system(1)) as conn:
            for _ in range(5):
                await conn.execute_query("SELECT 1")
    assert statements.count == 1 + 1 + 5 + 1 + 1  # BEGIN, SET LOCAL, 5 x SELECT 1, COMMIT, release
