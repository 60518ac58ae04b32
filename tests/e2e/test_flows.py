"""Issue 8 item 11: the staff mini-program's and the manager dashboard's screens, driven by a real GraphQL client
library (gql, over its httpx transport) against the API served by uvicorn in a process of its own, over loopback HTTP.

Setup the way a merchant works: the worked example (DESIGN.md) seeded and closed in-process, then over HTTP the admin
upserts the teams, links a staff login and gives a manager one store. Each screen is one query; every answer is the
one a client would get (JSON over HTTP, times with the tenant's offset, Decimal strings).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport

from server.settings import Settings
from tenants.demo import PERIOD, seed_worked_example
from tenants.periods.close import close_period
from tenants.tenancy import service
from tenants.tenancy.auth import Role
from tests.bench.common import api_server
from tests.conftest import PASSWORD, TenantFactory, unique


@pytest.fixture(scope="module")
def api_url(database: Settings) -> Iterator[str]:
    with api_server(database) as url:
        yield url


class Screen:
    """One signed-in client (a phone, a browser) speaking GraphQL over HTTP."""

    def __init__(self, url: str, token: str | None = None) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._client = Client(transport=HTTPXAsyncTransport(url=f"{url}/graphql", headers=headers, timeout=30))

    async def ask(self, document: str, **variables: Any) -> dict[str, Any]:
        async with self._client as session:
            result = await session.execute(GraphQLRequest(document, variable_values=variables))
        return dict(result)


LOGIN = """
mutation($email: String!, $password: String!, $tenant: String) {
  login(email: $email, password: $password, tenant: $tenant) { ... on AuthTokens { accessToken } }
}
"""


async def signed_in(url: str, email: str, tenant: str) -> Screen:
    answer = await Screen(url).ask(LOGIN, email=email, password=PASSWORD, tenant=tenant)
    return Screen(url, answer["login"]["accessToken"])


async def add_login(tenant_id: Any, role: Role) -> tuple[int, str]:
    email = f"{unique(role.value)}@example.com"
    user = await service.create_user(email, PASSWORD)
    await service.add_membership(tenant_id, user.id, role)
    return user.id, email


SETUP_TEAMS = """
mutation($teams: [TeamInput!]!, $staff: [StaffInput!]!) {
  upsertTeams(teams: $teams) { created errors { code } }
  upsertStaff(staff: $staff) { updated errors { code } }
}
"""
LINK = """
mutation($staff: String!, $user: ID!) {
  linkStaffUser(staffCode: $staff, userId: $user) { __typename ... on AccessErrors { errors { code } } }
}
"""
SET_TEAMS = """
mutation($user: ID!, $teams: [String!]!) {
  setMemberTeams(userId: $user, teamCodes: $teams) { __typename ... on AccessErrors { errors { code } } }
}
"""

# The mini-program: first screen, scorecard screen (with what is missing for the next grade), statement, ranking.
STAFF_HOME = """
{ myAccess { role staffCode staffName staffTeamCode }
  mySchemes { id name lastClosedPeriod { key state } lastClosedCard { total grade rank } } }
"""
MY_SCORECARD = """
query($scheme: ID!, $period: String!) {
  myScorecard(schemeId: $scheme, period: $period) {
    id staffCode total grade rank participants computedAt provisional
    period { key startsAt endsAt firstDay lastDay }
    metrics { key label value target score weight }
    progress { grade { grade nextGrade pointsMissing explanation } ladders { explanation } gates { explanation } }
  }
}
"""
MY_STATEMENT = """
query($period: String!) { myStatement(period: $period) { id staffCode net totals { kind amount } rules { ruleKey } } }
"""
LEADERBOARD = """
query($scheme: ID!, $period: String!, $first: Int) {
  leaderboard(schemeId: $scheme, period: $period, first: $first) {
    totalCount edges { node { rank staffCode total grade } } pageInfo { hasNextPage endCursor }
    me { rank staffCode total }
  }
}
"""
OTHERS_CARD = """
query($scheme: ID!, $period: String!, $staff: String!) {
  scorecard(schemeId: $scheme, period: $period, staffCode: $staff) { staffCode total }
  statement(period: $period, staffCode: $staff) { staffCode net }
}
"""
# The dashboard: the team's cards and its summary.
MANAGER_CARDS = """
query($scheme: ID!, $period: String!) {
  scorecards(schemeId: $scheme, period: $period, first: 10) { totalCount edges { node { staffCode teamCode total } } }
  teamSummary(schemeId: $scheme, period: $period) {
    participants average grades { grade count } payoutTotal top { staffCode } payoutsByTeam { teamCode amount }
  }
}
"""


async def test_the_staff_and_manager_screens_over_http(api_url: str, make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    scheme_id = str(await seed_worked_example(tenant.tenant_id))
    admin = await signed_in(api_url, tenant.admin_email, tenant.slug)
    teams = [
        {"code": "sh", "name": "上海区", "kind": "region"},
        {"code": "sh-01", "name": "上海一店", "parent": "sh"},
        {"code": "sh-02", "name": "上海二店", "parent": "sh"},
    ]
    stores = {"guide-001": ("小王", "sh-01"), "guide-002": ("小李", "sh-01"), "guide-003": ("小张", "sh-02")}
    staff = [
        {"code": code, "name": name, "role": "guide", "team": team, "hiredOn": "2026-01-01"}
        for code, (name, team) in stores.items()
    ]
    answer = await admin.ask(SETUP_TEAMS, teams=teams, staff=staff)
    assert (answer["upsertTeams"]["created"], answer["upsertStaff"]["updated"]) == (3, 3)
    await close_period(tenant.tenant_id, int(scheme_id), PERIOD)

    guide_id, guide_email = await add_login(tenant.tenant_id, Role.STAFF)
    manager_id, manager_email = await add_login(tenant.tenant_id, Role.MANAGER)
    guide = await signed_in(api_url, guide_email, tenant.slug)
    # Before the link the phone shows nothing at all.
    assert (await guide.ask(STAFF_HOME))["mySchemes"] == []
    assert (await guide.ask(MY_SCORECARD, scheme=scheme_id, period=PERIOD))["myScorecard"] is None
    assert (await admin.ask(LINK, staff="guide-002", user=str(guide_id)))["linkStaffUser"]["__typename"] == (
        "StaffUserLinked"
    )
    assert (await admin.ask(SET_TEAMS, user=str(manager_id), teams=["sh-01"]))["setMemberTeams"]["__typename"] == (
        "MemberTeamsSet"
    )

    # 小李 (guide-002) on the phone.
    home = await guide.ask(STAFF_HOME)
    assert home["myAccess"] == {
        "role": "STAFF",
        "staffCode": "guide-002",
        "staffName": "小李",
        "staffTeamCode": "sh-01",
    }
    assert [(s["id"], s["lastClosedPeriod"]["key"], s["lastClosedCard"]["grade"]) for s in home["mySchemes"]] == [
        (scheme_id, PERIOD, "D")
    ]
    card = (await guide.ask(MY_SCORECARD, scheme=scheme_id, period=PERIOD))["myScorecard"]
    assert (card["staffCode"], card["total"], card["grade"], card["provisional"]) == ("guide-002", "40.00", "D", False)
    assert card["computedAt"].endswith("+08:00") and card["period"]["startsAt"] == "2026-10-01T00:00:00+08:00"
    assert (card["period"]["firstDay"], card["period"]["lastDay"]) == ("2026-10-01", "2026-10-31")
    assert card["progress"]["grade"]["nextGrade"] is not None and card["progress"]["grade"]["pointsMissing"]
    assert all(metric["label"] for metric in card["metrics"])
    statement = (await guide.ask(MY_STATEMENT, period=PERIOD))["myStatement"]
    assert (statement["staffCode"], statement["net"]) == ("guide-002", "-400.00")
    ranking = (await guide.ask(LEADERBOARD, scheme=scheme_id, period=PERIOD, first=1))["leaderboard"]
    assert ranking["totalCount"] == 3 and ranking["pageInfo"]["hasNextPage"]
    assert [edge["node"]["staffCode"] for edge in ranking["edges"]] == ["guide-001"]
    assert ranking["me"]["staffCode"] == "guide-002"  # my row although it is not on the page
    # Another staff member's card and statement: not found.
    assert await guide.ask(OTHERS_CARD, scheme=scheme_id, period=PERIOD, staff="guide-001") == {
        "scorecard": None,
        "statement": None,
    }
    # The dashboard is not for staff: the server refuses with a code.
    with pytest.raises(TransportQueryError) as refused:
        await guide.ask(MANAGER_CARDS, scheme=scheme_id, period=PERIOD)
    assert refused.value.errors and refused.value.errors[0]["extensions"]["code"] == "FORBIDDEN"

    # The manager of sh-01 sees 小王 and 小李, not 小张 (sh-02).
    manager = await signed_in(api_url, manager_email, tenant.slug)
    dashboard = await manager.ask(MANAGER_CARDS, scheme=scheme_id, period=PERIOD)
    cards = dashboard["scorecards"]
    assert cards["totalCount"] == 2
    assert {edge["node"]["staffCode"] for edge in cards["edges"]} == {"guide-001", "guide-002"}
    summary = dashboard["teamSummary"]
    assert (summary["participants"], summary["payoutTotal"]) == (2, "800.00")  # 1,200.00 - 400.00
    assert [team["teamCode"] for team in summary["payoutsByTeam"]] == ["sh-01"]
    assert await manager.ask(OTHERS_CARD, scheme=scheme_id, period=PERIOD, staff="guide-003") == {
        "scorecard": None,
        "statement": None,
    }
    inside = await manager.ask(OTHERS_CARD, scheme=scheme_id, period=PERIOD, staff="guide-001")
    assert inside["scorecard"] == {"staffCode": "guide-001", "total": "120.00"}
