"""linkStaffUser, unlinkStaffUser, setMemberTeams, memberTeams and myAccess over GraphQL (issue 8 item 5): who may
change access, what each refusal says, that refusals change nothing, and that every change is audited."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tenants.audit.models import AuditEntry
from tenants.db.uow import tenant_unit_of_work
from tenants.staff.models import Staff
from tenants.tenancy import service as tenancy
from tenants.tenancy.auth import Role, Scope
from tenants.tenancy.identity import TenantId
from tests.access.support import Org, add_member, make_org
from tests.conftest import GraphQL, TenantFactory
from tests.factories import add_team

Login = Callable[..., Awaitable[str]]

LINK = """
mutation Link($staff: String!, $user: ID!) {
  linkStaffUser(staffCode: $staff, userId: $user) {
    __typename
    ... on StaffUserLinked { staff { staffCode staffName userId } }
    ... on AccessErrors { errors { code field index message } }
  }
}
"""
UNLINK = """
mutation Unlink($staff: String!) {
  unlinkStaffUser(staffCode: $staff) {
    __typename
    ... on StaffUserUnlinked { staff { staffCode userId } }
    ... on AccessErrors { errors { code field message } }
  }
}
"""
SET_TEAMS = """
mutation Teams($user: ID!, $teams: [String!]!) {
  setMemberTeams(userId: $user, teamCodes: $teams) {
    __typename
    ... on MemberTeamsSet { member { userId role teams { code name } } }
    ... on AccessErrors { errors { code field index message } }
  }
}
"""
MEMBER_TEAMS = "query($user: ID!) { memberTeams(userId: $user) { role teams { code } } }"
MY_ACCESS = """
{ myAccess { role userId wholeTenant staffCode staffName staffTeamCode managedTeams { code name } scopeTeamCount } }
"""


async def links(tenant_id: TenantId) -> dict[str, int | None]:
    async with tenant_unit_of_work(tenant_id):
        return {s.code: s.user_id for s in await Staff.filter(tenant_id=tenant_id).order_by("code")}


async def audit_actions(tenant_id: TenantId) -> list[tuple[str, str, Any, Any]]:
    async with tenant_unit_of_work(tenant_id):
        entries = await AuditEntry.filter(tenant_id=tenant_id, entity__in=["staff", "membership"]).order_by("id")
    return [(e.action, e.entity, e.before, e.after) for e in entries]


async def member_team_codes(org: Org, user_id: int) -> list[str]:
    async with tenant_unit_of_work(org.tenant_id) as conn:
        rows = await conn.execute_query_dict(
            "SELECT t.code FROM membership_team mt JOIN team t ON t.tenant_id = mt.tenant_id AND t.id = mt.team_id "
            "WHERE mt.user_id = $1 ORDER BY t.code",
            [user_id],
        )
    return [row["code"] for row in rows]


def error_code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def test_an_admin_links_a_staff_login_which_then_knows_who_it_is(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    org = await make_org(await make_tenant())
    admin = await login(org.tenant.admin_email)
    guide = await add_member(org.tenant_id, Role.STAFF)
    guide_token = await login(guide.email)
    # Not linked yet: a staff login sees nothing of anyone.
    mine = (await gql(MY_ACCESS, token=guide_token))["data"]["myAccess"]
    assert mine == {
        "role": "STAFF",
        "userId": str(guide.user_id),
        "wholeTenant": False,
        "staffCode": None,
        "staffName": None,
        "staffTeamCode": None,
        "managedTeams": [],
        "scopeTeamCount": 0,
    }
    linked = (await gql(LINK, {"staff": "a", "user": str(guide.user_id)}, admin))["data"]["linkStaffUser"]
    assert linked == {
        "__typename": "StaffUserLinked",
        "staff": {"staffCode": "a", "staffName": "小王", "userId": str(guide.user_id)},
    }
    mine = (await gql(MY_ACCESS, token=guide_token))["data"]["myAccess"]
    assert (mine["staffCode"], mine["staffName"], mine["staffTeamCode"]) == ("a", "小王", "G1")
    # Linking the same pair again changes nothing and is not audited twice.
    again = (await gql(LINK, {"staff": "a", "user": str(guide.user_id)}, admin))["data"]["linkStaffUser"]
    assert again["__typename"] == "StaffUserLinked"
    assert await audit_actions(org.tenant_id) == [
        ("staff.link_user", "staff", {"user_id": None}, {"user_id": guide.user_id})
    ]
    # Unlinked: the login stays a member and sees nothing again.
    unlinked = (await gql(UNLINK, {"staff": "a"}, admin))["data"]["unlinkStaffUser"]
    assert unlinked == {"__typename": "StaffUserUnlinked", "staff": {"staffCode": "a", "userId": None}}
    assert (await gql(MY_ACCESS, token=guide_token))["data"]["myAccess"]["staffCode"] is None
    assert (await audit_actions(org.tenant_id))[-1] == (
        "staff.unlink_user",
        "staff",
        {"user_id": guide.user_id},
        {"user_id": None},
    )


async def test_one_login_per_staff_member_and_one_staff_member_per_login(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    org = await make_org(await make_tenant())
    admin = await login(org.tenant.admin_email)
    first, second = await add_member(org.tenant_id, Role.STAFF), await add_member(org.tenant_id, Role.STAFF)
    assert (await gql(LINK, {"staff": "a", "user": str(first.user_id)}, admin))["data"]["linkStaffUser"]["staff"]
    before = (await links(org.tenant_id), await audit_actions(org.tenant_id))

    taken = (await gql(LINK, {"staff": "a", "user": str(second.user_id)}, admin))["data"]["linkStaffUser"]
    assert [(e["code"], e["field"]) for e in taken["errors"]] == [("STAFF_ALREADY_LINKED", "staffCode")]
    assert "a" in taken["errors"][0]["message"]  # the tenant's language (zh-CN): names the staff member
    busy = (await gql(LINK, {"staff": "b", "user": str(first.user_id)}, admin))["data"]["linkStaffUser"]
    assert [(e["code"], e["field"]) for e in busy["errors"]] == [("USER_ALREADY_LINKED", "userId")]
    not_linked = (await gql(UNLINK, {"staff": "c"}, admin))["data"]["unlinkStaffUser"]
    assert [e["code"] for e in not_linked["errors"]] == ["NOT_LINKED"]
    assert (await links(org.tenant_id), await audit_actions(org.tenant_id)) == before


async def test_unknown_and_other_tenants_users_and_staff_are_not_found(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, client: httpx.AsyncClient
) -> None:
    org = await make_org(await make_tenant())
    other = await make_org(await make_tenant())
    admin = await login(org.tenant.admin_email)
    guide = await add_member(org.tenant_id, Role.STAFF)
    outsider = await add_member(other.tenant_id, Role.STAFF)  # a real user, member of the other tenant only
    # The other tenant's staff code exists there only (its staff are a, b, c too: add one unique to it).
    async with tenant_unit_of_work(other.tenant_id):
        await Staff.create(tenant_id=other.tenant_id, code="only-there", name="x", role="guide")
    before = (await links(org.tenant_id), await links(other.tenant_id), await audit_actions(org.tenant_id))
    for user in (str(outsider.user_id), str(other.tenant.admin_user_id), "abc", "0", "-1", "9" * 30, "１２", ""):
        body = (await gql(LINK, {"staff": "a", "user": user}, admin))["data"]["linkStaffUser"]
        assert [(e["code"], e["field"]) for e in body["errors"]] == [("UNKNOWN_USER", "userId")], user
    for staff in ("nobody", " a", "a" * 65, "x" * 5000):
        body = (await gql(LINK, {"staff": staff, "user": str(guide.user_id)}, admin))["data"]["linkStaffUser"]
        assert [(e["code"], e["field"]) for e in body["errors"]] == [("UNKNOWN_STAFF", "staffCode")], staff
    body = (await gql(LINK, {"staff": "only-there", "user": str(guide.user_id)}, admin))["data"]["linkStaffUser"]
    assert body["errors"][0]["code"] == "UNKNOWN_STAFF"
    # Text that cannot be stored or is absurdly long is refused before the resolver, as a request error.
    assert error_code(await gql(LINK, {"staff": "a\x00", "user": str(guide.user_id)}, admin)) == "INVALID_TEXT"
    surrogate = await client.post(
        "/graphql",
        content=json.dumps({"query": LINK, "variables": {"staff": "\ud800", "user": str(guide.user_id)}}),
        headers={"authorization": f"Bearer {admin}", "content-type": "application/json"},
    )
    assert error_code(surrogate.json()) == "INVALID_TEXT"
    assert error_code(await gql(UNLINK, {"staff": "a" * 1_000_000}, admin)) == "TEXT_TOO_LONG"
    assert (await links(org.tenant_id), await links(other.tenant_id), await audit_actions(org.tenant_id)) == before
    # A user id given as the global id "User:<n>" is the same user.
    from schema.common import global_id

    body = (await gql(LINK, {"staff": "a", "user": global_id("User", guide.user_id)}, admin))["data"]["linkStaffUser"]
    assert body["staff"]["userId"] == str(guide.user_id)


async def test_only_admins_change_access_and_a_refusal_changes_nothing(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    org = await make_org(await make_tenant())
    manager = await add_member(org.tenant_id, Role.MANAGER)
    guide = await add_member(org.tenant_id, Role.STAFF)
    key = await tenancy.create_api_key(org.tenant_id, "k", list(Scope), org.tenant.admin_user_id)
    before = (await links(org.tenant_id), await member_team_codes(org, manager.user_id))
    for token in (await login(manager.email), await login(guide.email), key.plaintext):
        # A staff login linking itself, a manager widening its own scope, an API key with every scope: all refused.
        assert error_code(await gql(LINK, {"staff": "a", "user": str(guide.user_id)}, token)) == "FORBIDDEN"
        assert error_code(await gql(UNLINK, {"staff": "a"}, token)) == "FORBIDDEN"
        body = await gql(SET_TEAMS, {"user": str(manager.user_id), "teams": ["R"]}, token)
        assert error_code(body) == "FORBIDDEN"
        assert error_code(await gql(MEMBER_TEAMS, {"user": str(manager.user_id)}, token)) == "FORBIDDEN"
    assert error_code(await gql(MY_ACCESS)) == "UNAUTHENTICATED"
    assert (await links(org.tenant_id), await member_team_codes(org, manager.user_id)) == before
    assert await audit_actions(org.tenant_id) == []


async def test_an_admin_sets_a_managers_teams(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    org = await make_org(await make_tenant())
    other = await make_org(await make_tenant())
    await add_team(other.tenant_id, "ONLY-THERE")
    admin = await login(org.tenant.admin_email)
    manager = await add_member(org.tenant_id, Role.MANAGER)
    manager_token = await login(manager.email)
    user = str(manager.user_id)

    done = (await gql(SET_TEAMS, {"user": user, "teams": ["S1", "S2", "S1"]}, admin))["data"]["setMemberTeams"]
    assert done == {
        "__typename": "MemberTeamsSet",
        "member": {
            "userId": user,
            "role": "MANAGER",
            "teams": [{"code": "S1", "name": "S1"}, {"code": "S2", "name": "S2"}],
        },
    }
    mine = (await gql(MY_ACCESS, token=manager_token))["data"]["myAccess"]
    assert (mine["role"], mine["wholeTenant"], mine["scopeTeamCount"]) == ("MANAGER", False, 3)  # S1, G1, S2
    assert [t["code"] for t in mine["managedTeams"]] == ["S1", "S2"]
    assert (await gql(MEMBER_TEAMS, {"user": user}, admin))["data"]["memberTeams"] == {
        "role": "MANAGER",
        "teams": [{"code": "S1"}, {"code": "S2"}],
    }
    audited = await audit_actions(org.tenant_id)
    assert audited == [("membership.set_teams", "membership", {"teams": []}, {"teams": ["S1", "S2"]})]

    # An unknown code (or another tenant's) refuses the whole list, each at its index; nothing changes.
    refused = (await gql(SET_TEAMS, {"user": user, "teams": ["R", "ONLY-THERE", "G1", "nope"]}, admin))["data"][
        "setMemberTeams"
    ]
    assert [(e["code"], e["field"], e["index"]) for e in refused["errors"]] == [
        ("UNKNOWN_TEAM", "teamCodes[1]", 1),
        ("UNKNOWN_TEAM", "teamCodes[3]", 3),
    ]
    too_many = (await gql(SET_TEAMS, {"user": user, "teams": ["R"] * 101}, admin))["data"]["setMemberTeams"]
    assert [e["code"] for e in too_many["errors"]] == ["TOO_MANY_TEAMS"]
    stranger = (await gql(SET_TEAMS, {"user": str(other.tenant.admin_user_id), "teams": ["R"]}, admin))["data"]
    assert [e["code"] for e in stranger["setMemberTeams"]["errors"]] == ["UNKNOWN_USER"]
    assert (await gql(MEMBER_TEAMS, {"user": str(other.tenant.admin_user_id)}, admin))["data"]["memberTeams"] is None
    assert await member_team_codes(org, manager.user_id) == ["S1", "S2"]
    assert await audit_actions(org.tenant_id) == audited

    # The region instead: its whole subtree; [] removes everything (the manager then sees nothing).
    await gql(SET_TEAMS, {"user": user, "teams": ["R"]}, admin)
    assert (await gql(MY_ACCESS, token=manager_token))["data"]["myAccess"]["scopeTeamCount"] == 3  # R, S1, G1
    cleared = (await gql(SET_TEAMS, {"user": user, "teams": []}, admin))["data"]["setMemberTeams"]
    assert cleared["member"]["teams"] == []
    assert (await gql(MY_ACCESS, token=manager_token))["data"]["myAccess"]["scopeTeamCount"] == 0
    assert [a[3] for a in await audit_actions(org.tenant_id)][1:] == [{"teams": ["R"]}, {"teams": []}]


async def test_my_access_of_admins_and_api_keys(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    org = await make_org(await make_tenant())
    admin = await login(org.tenant.admin_email)
    mine = (await gql(MY_ACCESS, token=admin))["data"]["myAccess"]
    assert (mine["role"], mine["wholeTenant"], mine["scopeTeamCount"], mine["staffCode"]) == ("ADMIN", True, None, None)
    key = await tenancy.create_api_key(org.tenant_id, "k", [Scope.TENANT_READ], org.tenant.admin_user_id)
    mine = (await gql(MY_ACCESS, token=key.plaintext))["data"]["myAccess"]
    assert (mine["role"], mine["userId"], mine["wholeTenant"]) == ("ADMIN", None, True)
    narrow = await tenancy.create_api_key(org.tenant_id, "w", [Scope.EVENTS_WRITE], org.tenant.admin_user_id)
    assert error_code(await gql(MY_ACCESS, token=narrow.plaintext)) == "MISSING_SCOPE"
