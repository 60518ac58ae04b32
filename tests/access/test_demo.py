"""The demo tenant (`make demo`): a linked staff login per guide and a manager of one store, printed; idempotent."""

from __future__ import annotations

from typing import Any

from tenants.demo import DEMO_EMAIL, DEMO_PASSWORD, DEMO_SLUG, GUIDES, MANAGER_EMAIL, seed_demo, staff_email
from tests.conftest import GraphQL

MY_ACCESS = "{ myAccess { role staffCode staffName staffTeamCode managedTeams { code } scopeTeamCount } }"
EVENTS = "query($staff: String) { events(staff: $staff) { total } }"


async def test_the_demo_has_linked_staff_logins_and_a_manager_of_one_store(gql: GraphQL, login: Any) -> None:
    summary = await seed_demo()
    again = await seed_demo()  # idempotent: the same logins, links and teams
    assert again == summary
    for code, *_ in GUIDES:
        assert staff_email(code) in summary
    assert MANAGER_EMAIL in summary and DEMO_PASSWORD in summary
    store = {"guide-001": "sh-01", "guide-002": "sh-01", "guide-003": "sh-02"}
    for code, name, *_ in GUIDES:
        token = await login(staff_email(code), DEMO_PASSWORD, DEMO_SLUG)
        mine = (await gql(MY_ACCESS, token=token))["data"]["myAccess"]
        assert mine == {
            "role": "STAFF",
            "staffCode": code,
            "staffName": name,
            "staffTeamCode": store[code],
            "managedTeams": [],
            "scopeTeamCount": 0,
        }
    manager = await login(MANAGER_EMAIL, DEMO_PASSWORD, DEMO_SLUG)
    mine = (await gql(MY_ACCESS, token=manager))["data"]["myAccess"]
    assert (mine["role"], mine["managedTeams"], mine["scopeTeamCount"]) == ("MANAGER", [{"code": "sh-01"}], 1)
    seen = {code: (await gql(EVENTS, {"staff": code}, manager))["data"]["events"]["total"] for code in store}
    assert seen["guide-001"] > 0 and seen["guide-002"] > 0 and seen["guide-003"] == 0  # not 小张 of sh-02
    admin = await login(DEMO_EMAIL, DEMO_PASSWORD, DEMO_SLUG)
    assert (await gql(MY_ACCESS, token=admin))["data"]["myAccess"]["role"] == "ADMIN"
