"""The staff and manager reads over GraphQL (issue 8 items 1-4, 6, 9): what each role sees of the worked example,
and what it must not see (another tenant, another staff member, a manager's teams' outside, the wrong role)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tenants.tenancy.auth import Role
from tests.access.support import add_member
from tests.conftest import GraphQL, TenantFactory
from tests.scorecards.support import Example, closed_example, manager_of, staff_login

MY_SCORECARD = """
query($scheme: ID!, $period: String!) {
  myScorecard(schemeId: $scheme, period: $period) {
    id staffCode staffName teamCode total totalExact grade rank participants teamRank teamParticipants rankedPerTeam
    provisional revision computedAt net
    period { id key state firstDay lastDay startsAt closedAt }
    metrics { key label value target attainment weight score scored derivation }
    progress {
      grade { grade nextGrade nextMin pointsMissing reachable explanation }
      metrics { key toTarget toCap capValue numeratorToTarget explanation }
      ladders { ruleKey nextMin nextAmount missing explanation }
      commissions { ruleKey nextFrom missing amountAtNext gate { pointsMissing } explanation }
      gates { ruleKey passed pointsMissing explanation }
    }
  }
}
"""
MY_STATEMENT = """
query($period: String!) {
  myStatement(period: $period) {
    id staffCode periodKey net
    totals { kind amount }
    rules { ruleKey label kind posted explanation lines { id revision } }
    lines { id revision current ruleKey kind amount derivation postedAt }
    periods { id key state }
  }
}
"""
LEADERBOARD = """
query($scheme: ID!, $period: String!, $team: String, $first: Int, $after: String) {
  leaderboard(schemeId: $scheme, period: $period, team: $team, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { rank teamRank staffCode staffName teamCode total grade isMe } }
    me { rank staffCode total isMe }
  }
}
"""
MY_SCHEMES = """
{ mySchemes { id name currentPeriod { id key state firstDay } lastClosedPeriod { key state }
  lastClosedCard { total grade rank net } } }
"""
MY_HISTORY = """
query($scheme: ID!) { myHistory(schemeId: $scheme, last: 3) { period { key } total grade rank net } }
"""
SCORECARDS = """
query($scheme: ID!, $period: String!, $team: String, $grade: String, $search: String, $first: Int, $after: String,
      $order: ScorecardOrder) {
  scorecards(schemeId: $scheme, period: $period, team: $team, grade: $grade, search: $search, first: $first,
             after: $after, orderBy: $order) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id staffCode total rank grade net metrics { label value } } }
  }
}
"""
SCORECARD = """
query($scheme: ID!, $period: String!, $code: String!) {
  scorecard(schemeId: $scheme, period: $period, staffCode: $code) { staffCode total grade }
}
"""
STATEMENT = """
query($period: String!, $code: String!) { statement(period: $period, staffCode: $code) { staffCode net } }
"""
TEAM_SUMMARY = """
query($scheme: ID!, $period: String!, $team: String) {
  teamSummary(schemeId: $scheme, period: $period, team: $team) {
    participants average minimum maximum payoutTotal
    buckets { start end count } grades { grade count }
    payoutsByKind { kind amount } payoutsByTeam { teamCode participants amount }
    top { staffCode total } bottom { staffCode total }
  }
}
"""
PERIODS = "query($scheme: ID!) { periods(schemeId: $scheme) { id key state firstDay lastDay startsAt } }"


def vars_of(example: Example, **extra: Any) -> dict[str, Any]:
    return {"scheme": str(example.scheme_id), "period": example.period, **extra}


async def test_a_linked_guide_sees_scorecard_progress_statement_and_rank(
    make_tenant: TenantFactory, gql: GraphQL, login: Any
) -> None:
    example = await closed_example(await make_tenant())
    li = await staff_login(example, "guide-002")
    token = await login(li.email)
    card = (await gql(MY_SCORECARD, vars_of(example), token))["data"]["myScorecard"]
    assert (card["staffCode"], card["total"], card["totalExact"], card["grade"], card["rank"]) == (
        "guide-002",
        "40.00",
        "40.0000",
        "D",
        3,
    )
    assert (card["participants"], card["teamRank"], card["teamParticipants"], card["net"]) == (3, 2, 2, "-400.00")
    assert card["provisional"] is False and card["period"]["state"] == "closed"
    # Times carry the tenant's offset (Asia/Shanghai), dates are dates.
    assert card["period"]["startsAt"] == "2026-10-01T00:00:00+08:00"
    assert (card["period"]["firstDay"], card["period"]["lastDay"]) == ("2026-10-01", "2026-10-31")
    assert card["computedAt"].endswith("+08:00")
    metrics = {m["key"]: m for m in card["metrics"]}
    # Decimals, not free strings; every metric labelled, helpers included (never the key).
    assert metrics["new_customers"] | {"derivation": ""} == {
        "key": "new_customers",
        "label": "新客户数量",
        "value": "12",
        "target": "30",
        "attainment": "40.00",
        "weight": "40",
        "score": "40.0000",
        "scored": True,
        "derivation": "",
    }
    assert [m["label"] for m in card["metrics"]] == [
        "新客户数量",
        "邀约老客户数",
        "老客户到店数",
        "老客户转化率",
        "销售额",
    ]
    assert (metrics["conversion"]["value"], metrics["sales"]["value"]) == ("0.2", "8000")
    assert metrics["invited"]["scored"] is False and metrics["invited"]["score"] is None
    progress = card["progress"]
    assert progress["grade"] == {
        "grade": "D",
        "nextGrade": "C",
        "nextMin": "60",
        "pointsMissing": "20.0000",
        "reachable": True,
        "explanation": "总分 40.00（D 级）：再得 20.00 分升到 C 级（60 分）。",
    }
    (ladder,) = progress["ladders"]
    assert (ladder["nextMin"], ladder["nextAmount"], ladder["missing"]) == ("30", "300.00", "18")
    assert ladder["explanation"] == "新客户数量 12：再增加 18 达到第一档 30，阶梯奖 300.00。"
    (commission,) = progress["commissions"]
    assert (commission["nextFrom"], commission["missing"], commission["amountAtNext"]) == ("10000", "2000.00", "300.00")
    assert commission["gate"] == {"pointsMissing": "20.0000"}
    assert {m["key"]: m["toTarget"] for m in progress["metrics"]} == {
        "new_customers": "18",
        "conversion": "0.3",
        "sales": "12000.00",
    }
    # The statement: every line with its derivation, totals by kind, the net.
    statement = (await gql(MY_STATEMENT, {"period": example.period}, token))["data"]["myStatement"]
    assert (statement["staffCode"], statement["net"]) == ("guide-002", "-400.00")
    assert statement["totals"] == [
        {"kind": "commission", "amount": "0.00"},
        {"kind": "bonus", "amount": "0.00"},
        {"kind": "penalty", "amount": "-400.00"},
        {"kind": "adjustment", "amount": "0.00"},
    ]
    assert [(r["ruleKey"], r["posted"]) for r in statement["rules"]] == [
        ("commission", "0.00"),
        ("new_customer_bonus", "0.00"),
        ("missed_follow_up", "-200.00"),
        ("complaint", "-200.00"),
    ]
    assert statement["rules"][0]["explanation"] == "提成 0.00（总分 40.00 低于门槛 60）"
    assert all(line["current"] and line["postedAt"].endswith("+08:00") for line in statement["lines"])
    assert len({line["id"] for line in statement["lines"]}) == 4
    # The rank: a leaderboard page of one still carries the reader's own row.
    board = (await gql(LEADERBOARD, vars_of(example, first=1), token))["data"]["leaderboard"]
    assert [e["node"]["staffCode"] for e in board["edges"]] == ["guide-001"]
    assert board["me"] == {"rank": 3, "staffCode": "guide-002", "total": "40.00", "isMe": True}
    assert (board["totalCount"], board["pageInfo"]["hasNextPage"]) == (3, True)
    second = (await gql(LEADERBOARD, vars_of(example, first=5, after=board["pageInfo"]["endCursor"]), token))["data"]
    assert [(e["node"]["staffCode"], e["node"]["isMe"]) for e in second["leaderboard"]["edges"]] == [
        ("guide-003", False),
        ("guide-002", True),
    ]
    # A team's leaderboard (its subtree): the global ranks stay, the reader's own row is still there.
    store = (await gql(LEADERBOARD, vars_of(example, team="S2"), token))["data"]["leaderboard"]
    assert [(e["node"]["staffCode"], e["node"]["rank"], e["node"]["teamRank"]) for e in store["edges"]] == [
        ("guide-003", 2, 1)
    ]
    assert (store["totalCount"], store["me"]["staffCode"]) == (1, "guide-002")
    region = (await gql(LEADERBOARD, vars_of(example, team="R"), token))["data"]["leaderboard"]
    assert [e["node"]["staffCode"] for e in region["edges"]] == ["guide-001", "guide-002"]
    # Schemes and history.
    schemes = (await gql(MY_SCHEMES, None, token))["data"]["mySchemes"]
    assert [(s["name"], s["lastClosedPeriod"]["key"]) for s in schemes] == [("导购拉新 2026", "2026-10")]
    assert schemes[0]["lastClosedCard"] == {"total": "40.00", "grade": "D", "rank": 3, "net": "-400.00"}
    assert schemes[0]["currentPeriod"]["state"] == "open"
    history = (await gql(MY_HISTORY, {"scheme": str(example.scheme_id)}, token))["data"]["myHistory"]
    assert history == [{"period": {"key": "2026-10"}, "total": "40.00", "grade": "D", "rank": 3, "net": "-400.00"}]
    # Periods are readable by staff, with ids, local dates and zoned times.
    periods = (await gql(PERIODS, {"scheme": str(example.scheme_id)}, token))["data"]["periods"]
    assert [(p["key"], p["firstDay"], p["lastDay"], p["startsAt"]) for p in periods] == [
        ("2026-10", "2026-10-01", "2026-10-31", "2026-10-01T00:00:00+08:00")
    ]
    assert periods[0]["id"] == card["period"]["id"]


async def test_staff_never_read_another_staff_members_data(
    make_tenant: TenantFactory, gql: GraphQL, login: Any
) -> None:
    example = await closed_example(await make_tenant())
    li = await staff_login(example, "guide-002")
    token = await login(li.email)
    # Another staff member's scorecard or statement: not found (their own: found).
    assert (await gql(SCORECARD, vars_of(example, code="guide-001"), token))["data"]["scorecard"] is None
    assert (await gql(STATEMENT, {"period": example.period, "code": "guide-001"}, token))["data"]["statement"] is None
    own = (await gql(STATEMENT, {"period": example.period, "code": "guide-002"}, token))["data"]["statement"]
    assert own == {"staffCode": "guide-002", "net": "-400.00"}
    # The manager-only reads are refused to the staff role (wrong role) with FORBIDDEN, and nothing leaks.
    for query, field in ((SCORECARDS, "scorecards"), (TEAM_SUMMARY, "teamSummary")):
        body = await gql(query, vars_of(example), token)
        assert body["data"] is None or body["data"][field] is None, body
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # An unlinked staff login reads nothing of anybody.
    unlinked = await add_member(example.tenant_id, Role.STAFF)
    other_token = await login(unlinked.email)
    assert (await gql(MY_SCORECARD, vars_of(example), other_token))["data"]["myScorecard"] is None
    assert (await gql(MY_STATEMENT, {"period": example.period}, other_token))["data"]["myStatement"] is None
    assert (await gql(LEADERBOARD, vars_of(example), other_token))["data"]["leaderboard"] is None
    assert (await gql(MY_SCHEMES, None, other_token))["data"]["mySchemes"] == []
    assert (await gql(MY_HISTORY, {"scheme": str(example.scheme_id)}, other_token))["data"]["myHistory"] == []


async def test_another_tenant_sees_nothing(make_tenant: TenantFactory, gql: GraphQL, login: Any) -> None:
    example = await closed_example(await make_tenant())
    other = await make_tenant()
    other_example = await closed_example(other)  # same codes, same keys: only the tenant differs
    admin = await login(other.admin_email)
    guide = await staff_login(other_example, "guide-002")
    guide_token = await login(guide.email)
    foreign = vars_of(example)  # the first tenant's scheme id
    assert example.scheme_id != other_example.scheme_id
    assert (await gql(SCORECARDS, foreign, admin))["data"]["scorecards"] is None
    assert (await gql(SCORECARD, {**foreign, "code": "guide-001"}, admin))["data"]["scorecard"] is None
    assert (await gql(TEAM_SUMMARY, foreign, admin))["data"]["teamSummary"] is None
    assert (await gql(PERIODS, {"scheme": foreign["scheme"]}, admin))["data"]["periods"] == []
    assert (await gql(MY_SCORECARD, foreign, guide_token))["data"]["myScorecard"] is None
    assert (await gql(LEADERBOARD, foreign, guide_token))["data"]["leaderboard"] is None
    assert (await gql(MY_HISTORY, {"scheme": foreign["scheme"]}, guide_token))["data"]["myHistory"] == []
    own_schemes = (await gql(MY_SCHEMES, None, guide_token))["data"]["mySchemes"]
    assert [s["id"] for s in own_schemes] == [str(other_example.scheme_id)]
    # By period key and staff code the other tenant's own data is found, never the first tenant's.
    mine = (await gql(STATEMENT, {"period": example.period, "code": "guide-001"}, admin))["data"]["statement"]
    assert mine == {"staffCode": "guide-001", "net": "1200.00"}
    statement = (await gql(MY_STATEMENT, {"period": example.period}, guide_token))["data"]["myStatement"]
    assert {p["id"] for p in statement["periods"]} != set()
    own_period_ids = {p["id"] for p in statement["periods"]}
    first_admin = await login(example.tenant.admin_email)
    first_periods = (await gql(PERIODS, {"scheme": str(example.scheme_id)}, first_admin))["data"]["periods"]
    # Global ids name (scheme, key): the two tenants' schemes differ, so do the ids.
    assert own_period_ids.isdisjoint({p["id"] for p in first_periods})


async def test_a_manager_sees_only_their_teams(make_tenant: TenantFactory, gql: GraphQL, login: Any) -> None:
    example = await closed_example(await make_tenant())
    manager = await manager_of(example, "S1")  # 小王 and 小李; 小张 is in S2
    token = await login(manager.email)
    # The "my" reads are a login's own staff record's: a manager without one has none (not their staff's).
    assert (await gql(MY_SCORECARD, vars_of(example), token))["data"]["myScorecard"] is None
    assert (await gql(MY_STATEMENT, {"period": example.period}, token))["data"]["myStatement"] is None
    assert (await gql(MY_SCHEMES, None, token))["data"]["mySchemes"] == []
    assert (await gql(MY_HISTORY, {"scheme": str(example.scheme_id)}, token))["data"]["myHistory"] == []
    page = (await gql(SCORECARDS, vars_of(example), token))["data"]["scorecards"]
    assert [e["node"]["staffCode"] for e in page["edges"]] == ["guide-001", "guide-002"]
    # Ranks are the period's (小李 is third of three), not renumbered inside the scope.
    assert [e["node"]["rank"] for e in page["edges"]] == [1, 3]
    assert (await gql(SCORECARD, vars_of(example, code="guide-003"), token))["data"]["scorecard"] is None
    assert (await gql(SCORECARD, vars_of(example, code="guide-002"), token))["data"]["scorecard"]["total"] == "40.00"
    statement = {"period": example.period, "code": "guide-003"}
    assert (await gql(STATEMENT, statement, token))["data"]["statement"] is None
    assert (await gql(SCORECARDS, vars_of(example, team="S2"), token))["data"]["scorecards"]["totalCount"] == 0
    board = (await gql(LEADERBOARD, vars_of(example), token))["data"]["leaderboard"]
    assert [e["node"]["staffCode"] for e in board["edges"]] == ["guide-001", "guide-002"]
    assert board["me"] is None
    summary = (await gql(TEAM_SUMMARY, vars_of(example), token))["data"]["teamSummary"]
    assert (summary["participants"], summary["average"], summary["payoutTotal"]) == (2, "80.0000", "800.00")
    assert summary["payoutsByTeam"] == [{"teamCode": "S1", "participants": 2, "amount": "800.00"}]
    outside = (await gql(TEAM_SUMMARY, vars_of(example, team="S2"), token))["data"]["teamSummary"]
    assert (outside["participants"], outside["payoutTotal"], outside["top"]) == (0, "0.00", [])
    # A manager of the region sees the subtree (S1 under R), still not S2.
    region = await manager_of(example, "R")
    region_token = await login(region.email)
    codes = [
        e["node"]["staffCode"]
        for e in (await gql(SCORECARDS, vars_of(example), region_token))["data"]["scorecards"]["edges"]
    ]
    assert codes == ["guide-001", "guide-002"]


async def test_admin_pages_filters_and_summary(make_tenant: TenantFactory, gql: GraphQL, login: Any) -> None:
    tenant = await make_tenant()
    example = await closed_example(tenant)
    token = await login(tenant.admin_email)
    seen: list[str] = []
    after = None
    for _ in range(4):
        page = (await gql(SCORECARDS, vars_of(example, first=1, after=after, order="NAME"), token))["data"][
            "scorecards"
        ]
        seen += [e["node"]["staffCode"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    # NAME order (小张, 小李, 小王 by the database collation), each exactly once.
    assert sorted(seen) == ["guide-001", "guide-002", "guide-003"] and len(seen) == 3
    by_total = (await gql(SCORECARDS, vars_of(example, order="TOTAL_ASC"), token))["data"]["scorecards"]
    assert [e["node"]["total"] for e in by_total["edges"]] == ["40.00", "55.00", "120.00"]
    assert (await gql(SCORECARDS, vars_of(example, grade="D"), token))["data"]["scorecards"]["totalCount"] == 2
    found = (await gql(SCORECARDS, vars_of(example, search="小王"), token))["data"]["scorecards"]
    assert [e["node"]["staffCode"] for e in found["edges"]] == ["guide-001"]
    # LIKE wildcards are literal: "%" finds nobody.
    assert (await gql(SCORECARDS, vars_of(example, search="%"), token))["data"]["scorecards"]["totalCount"] == 0
    # A cursor of another order, garbage, or a page size below 1: coded errors.
    rank_cursor = (await gql(SCORECARDS, vars_of(example, first=1, order="RANK"), token))["data"]["scorecards"]
    body = await gql(
        SCORECARDS, vars_of(example, after=rank_cursor["pageInfo"]["endCursor"], order="TOTAL_DESC"), token
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_CURSOR"
    for bad in ("x", "\x00", "W10", "a" * 5000):
        assert (await gql(SCORECARDS, vars_of(example, after=bad), token))["errors"][0]["extensions"]["code"] in {
            "BAD_CURSOR",
            "INVALID_TEXT",
        }
    assert (await gql(SCORECARDS, vars_of(example, first=0), token))["errors"][0]["extensions"]["code"] == (
        "BAD_PAGE_SIZE"
    )
    capped = (await gql(SCORECARDS, vars_of(example, first=10_000), token))["data"]["scorecards"]
    assert len(capped["edges"]) == 3
    summary = (await gql(TEAM_SUMMARY, vars_of(example), token))["data"]["teamSummary"]
    assert (summary["participants"], summary["average"], summary["payoutTotal"]) == (3, "71.6667", "1100.00")
    assert summary["grades"] == [{"grade": "D", "count": 2}, {"grade": "S", "count": 1}]
    assert [b["count"] for b in summary["buckets"]] == [1, 1, 0, 0, 0, 0, 0, 0, 1]
    assert (summary["buckets"][0]["start"], summary["buckets"][-1]["end"]) == ("40", "130")
    assert summary["payoutsByKind"] == [
        {"kind": "commission", "amount": "1000.00"},
        {"kind": "bonus", "amount": "600.00"},
        {"kind": "penalty", "amount": "-500.00"},
        {"kind": "adjustment", "amount": "0.00"},
    ]
    assert [r["staffCode"] for r in summary["top"]] == ["guide-001", "guide-003", "guide-002"]
    assert [r["staffCode"] for r in summary["bottom"]] == ["guide-002", "guide-003", "guide-001"]
    assert Decimal(summary["average"]) == Decimal("71.6667")
