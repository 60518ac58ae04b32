"""Edges of the scorecards reads: provisional cards of an open period, taking part before any card exists, per-team
ranks, bad input (a clear code or null, never a crash), API keys (the wrong kind of caller) and staff without a team."""

from __future__ import annotations

import base64
import copy
import json
from datetime import date
from typing import Any

from tenants.access.service import link_staff_user
from tenants.audit.service import SYSTEM
from tenants.demo import PERIOD, seed_worked_example
from tenants.periods.close import close_period
from tenants.periods.provisional import refresh_provisional
from tenants.schemes import service as schemes
from tenants.schemes.templates import get_template
from tenants.tenancy.auth import Role, Scope
from tenants.tenancy.service import create_api_key
from tests.access.support import add_member
from tests.conftest import GraphQL, TenantFactory
from tests.scorecards.support import closed_example, staff_login

CARD = """
query($scheme: ID!, $period: String!) {
  myScorecard(schemeId: $scheme, period: $period) {
    provisional revision computedAt total rank teamRank rankedPerTeam period { state provisionalAt }
  }
}
"""
SCHEMES = (
    "{ mySchemes { name currentPeriod { key state } currentCard { total provisional } lastClosedPeriod { key } } }"
)
PAGE = """
query($scheme: ID!, $period: String!, $first: Int, $after: String, $search: String) {
  scorecards(schemeId: $scheme, period: $period, first: $first, after: $after, search: $search) { totalCount }
}
"""
HISTORY = "query($scheme: ID!, $last: Int!) { myHistory(schemeId: $scheme, last: $last) { total } }"


async def test_an_open_period_shows_provisional_cards_and_the_schemes_one_takes_part_in(
    make_tenant: TenantFactory, gql: GraphQL, login: Any
) -> None:
    example = await closed_example(await make_tenant())
    tid = example.tenant_id
    # A second scheme, per-team rank bonus, effective from November: the guides take part by its participants before
    # any card exists in it.
    config = copy.deepcopy(get_template("store_guide_new_customers").config)
    config["rewards"].append(
        {"key": "store_top", "type": "rank_bonus", "ranks": [{"rank": 1, "amount": 100}], "per_team": True}
    )
    scheme = await schemes.create_scheme(tid, SYSTEM, "十一月方案", "")
    draft = await schemes.save_draft(tid, SYSTEM, scheme.id, config)
    await schemes.publish_version(tid, SYSTEM, draft.id, date(2026, 11, 1))
    token = await login((await staff_login(example, "guide-001")).email)
    names = {s["name"]: s for s in (await gql(SCHEMES, None, token))["data"]["mySchemes"]}
    assert set(names) == {"导购拉新 2026", "十一月方案"}
    november = names["十一月方案"]
    assert (november["currentPeriod"]["key"], november["currentCard"], november["lastClosedPeriod"]) == (
        "2026-11",
        None,
        None,
    )
    # The November order of the worked example (00:10 on 1 November in Shanghai) counts in the provisional card.
    await refresh_provisional(tid, int(scheme.id), "2026-11")
    card = (await gql(CARD, {"scheme": str(scheme.id), "period": "2026-11"}, token))["data"]["myScorecard"]
    assert (card["provisional"], card["revision"], card["period"]["state"]) == (True, 0, "open")
    assert card["computedAt"].endswith("+08:00") and card["period"]["provisionalAt"] is not None
    assert (card["rankedPerTeam"], card["rank"], card["teamRank"]) == (True, 1, 1)
    names = {s["name"]: s for s in (await gql(SCHEMES, None, token))["data"]["mySchemes"]}
    assert names["十一月方案"]["currentCard"]["provisional"] is True


async def test_bad_input_is_null_or_a_clear_code(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, client: Any
) -> None:
    tenant = await make_tenant()
    example = await closed_example(tenant)
    admin = await login(tenant.admin_email)
    token = await login((await staff_login(example, "guide-002")).email)
    scheme = str(example.scheme_id)
    for period in ("2026-13", "0001-01", "9999-12", "x" * 16, "2026-10 ", "２０２６-10"):
        assert (await gql(CARD, {"scheme": scheme, "period": period}, token))["data"]["myScorecard"] is None
    for bad_scheme in ("abc", "-1", "0", str(2**63), "1e309", "1" * 30):
        assert (await gql(CARD, {"scheme": bad_scheme, "period": "2026-10"}, token))["data"]["myScorecard"] is None
    # Text that cannot be stored never reaches a resolver: the request-wide guard's codes.
    for text in ("2026\x00-10", "\ud800", "9" * 10_000_000):
        # Sent as ASCII JSON (a lone surrogate cannot be UTF-8 encoded otherwise).
        payload = json.dumps({"query": CARD, "variables": {"scheme": scheme, "period": text}})
        response = await client.post(
            "/graphql",
            content=payload,
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
        )
        body = response.json()
        assert not (body.get("data") or {}).get("myScorecard"), body
        codes = {error.get("extensions", {}).get("code") for error in body.get("errors", [body])} | {body.get("code")}
        assert codes & {"INVALID_TEXT", "TEXT_TOO_LONG", "BODY_TOO_LARGE"}, body
    body = await gql(PAGE, {"scheme": scheme, "period": "2026-10", "search": "小\x00王"}, admin)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_TEXT"
    # Page sizes: below 1 is refused with a code; above 100 is capped; history's `last` too.
    body = await gql(PAGE, {"scheme": scheme, "period": "2026-10", "first": -1}, admin)
    assert body["errors"][0]["extensions"]["code"] == "BAD_PAGE_SIZE"
    body = await gql(HISTORY, {"scheme": scheme, "last": 0}, token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_PAGE_SIZE"
    assert len((await gql(HISTORY, {"scheme": scheme, "last": 10_000}, token))["data"]["myHistory"]) == 1
    # A cursor naming a total beyond any real one, or an out-of-range rank: BAD_CURSOR, nothing read.
    for forged in (
        ["TOTAL_DESC", "1e309", "x"],
        ["TOTAL_DESC", "NaN", "x"],
        ["TOTAL_DESC", None, 5],
        ["RANK", "0", "x"],
    ):
        after = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
        body = await gql(PAGE, {"scheme": scheme, "period": "2026-10", "after": after}, admin)
        assert body["errors"][0]["extensions"]["code"] == "BAD_CURSOR", forged


async def test_api_keys_and_unlinked_callers_read_nothing(
    make_tenant: TenantFactory, gql: GraphQL, client: Any
) -> None:
    tenant = await make_tenant()
    example = await closed_example(tenant)
    key = await create_api_key(tenant.tenant_id, "reader", [Scope.STAFF_READ, Scope.EVENTS_READ], None)

    async def with_key(query: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {key.plaintext}"},
        )
        body: dict[str, Any] = response.json()
        return body

    # An API key is no person: every scorecards read needs a signed-in user (FORBIDDEN), nothing is returned.
    scheme, period = str(example.scheme_id), example.period
    for query, variables in (
        (CARD, {"scheme": scheme, "period": period}),
        (SCHEMES, None),
        (PAGE, {"scheme": scheme, "period": period}),
        (HISTORY, {"scheme": scheme, "last": 3}),
        ("query($p: String!) { myStatement(period: $p) { net } }", {"p": period}),
        (
            "query($s: ID!, $p: String!) { leaderboard(schemeId: $s, period: $p) { totalCount } }",
            {"s": scheme, "p": period},
        ),
        (
            'query($s: ID!, $p: String!) { scorecard(schemeId: $s, period: $p, staffCode: "guide-001") { total } }',
            {"s": scheme, "p": period},
        ),
        ('query($p: String!) { statement(period: $p, staffCode: "guide-001") { net } }', {"p": period}),
        (
            "query($s: ID!, $p: String!) { teamSummary(schemeId: $s, period: $p) { participants } }",
            {"s": scheme, "p": period},
        ),
        ("query($s: ID!) { periods(schemeId: $s) { key } }", {"s": scheme}),
    ):
        body = await with_key(query, variables)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        assert not any((body.get("data") or {}).values())


async def test_staff_without_a_team_rank_among_themselves(make_tenant: TenantFactory, gql: GraphQL, login: Any) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    scheme_id = await seed_worked_example(tid)  # its guides have no team
    await close_period(tid, scheme_id, PERIOD)
    member = await add_member(tid, Role.STAFF)
    await link_staff_user(tid, SYSTEM, "guide-003", member.user_id)
    token = await login(member.email)
    query = """
    query($scheme: ID!, $period: String!) {
      myScorecard(schemeId: $scheme, period: $period) { teamCode teamName rank teamRank teamParticipants }
    }
    """
    card = (await gql(query, {"scheme": str(scheme_id), "period": PERIOD}, token))["data"]["myScorecard"]
    assert card == {"teamCode": None, "teamName": None, "rank": 2, "teamRank": 2, "teamParticipants": 3}
