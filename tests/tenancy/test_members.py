"""Tenant admins (issue 9 item 2): invitations (mailed, single use, expiring, applying teams and the staff record),
members' roles (owners protected, the last owner kept), removal (tokens stop at once), the paged member list.
Other tenants' members are not found; a wrong role is refused and nothing changes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from tenants.access.service import member_teams, set_member_teams
from tenants.accounts import service as accounts
from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.tenancy import service
from tenants.tenancy.auth import Role, Scope, UserPrincipal, verify_password
from tenants.tenancy.errors import TenancyError
from tenants.tenancy.identity import TenantId
from tenants.tenancy.limits import limit_key
from tenants.tenancy.mail import MailKind
from tenants.tenancy.models import Invitation
from tests.conftest import LOGIN, PASSWORD, GraphQL, TenantFactory, unique
from tests.factories import add_staff, add_team
from tests.tenancy.accounts_api import (
    ACCEPT,
    INVITATIONS,
    INVITE,
    ME,
    MEMBERS,
    REFRESH,
    REMOVE,
    REVOKE_INVITATION,
    SET_ROLE,
    audit,
    audit_count,
    invitations,
    roles,
    top_code,
    user_row,
)
from tests.tenancy.conftest import Outbox
from tests.tenancy.test_auth import CREATE_KEY, REVOKE_KEY

Login = Callable[..., Awaitable[str]]
NEW_PASSWORD = "a fine long secret"


async def _member(tenant_id: TenantId, role: Role) -> tuple[str, int]:
    """A new user with `role` in the tenant: (email, user id)."""
    email = f"{unique(role.value)}@example.com"
    user = await service.create_user(email, PASSWORD)
    await service.add_membership(tenant_id, user.id, role)
    return email, user.id


async def test_an_admin_invites_a_manager_with_teams_and_a_staff_record(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, outbox: Outbox
) -> None:
    tenant = await make_tenant()
    north = await add_team(tenant.tenant_id, "north")
    staff = await add_staff(tenant.tenant_id, "mgr-7", team_id=north.id)
    admin = await login(tenant.admin_email)
    email = f"{unique('mgr')}@example.com"
    invited = (await gql(INVITE, {"email": email, "role": "MANAGER", "teams": ["north"], "staffCode": "mgr-7"}, admin))[
        "data"
    ]["inviteUser"]
    assert invited["__typename"] == "UserInvited", invited
    assert invited["invitation"]["teams"] == ["north"] and invited["invitation"]["staffCode"] == "mgr-7"
    token = outbox.token(email, MailKind.INVITATION)
    assert token not in str(invited)
    [entry] = await audit(tenant.tenant_id, "invitation.create")
    assert entry.after["email"] == email and entry.actor_user_id == tenant.admin_user_id

    accepted = (await gql(ACCEPT, {"token": token, "password": NEW_PASSWORD, "displayName": "王经理"}))["data"][
        "acceptInvitation"
    ]
    assert accepted["__typename"] == "InvitationAccepted" and accepted["createdUser"] is True, accepted
    me = (await gql(ME, token=accepted["tokens"]["accessToken"]))["data"]["me"]
    assert me == {"user": {"email": email}, "tenant": {"slug": tenant.slug}, "roles": ["MANAGER"]}
    user = await user_row(email)
    assert user is not None and user.display_name == "王经理" and verify_password(user.password_hash, NEW_PASSWORD)
    teams = await member_teams(tenant.tenant_id, user.id)
    assert [team.code for team in teams.teams] == ["north"]
    async with tenant_unit_of_work(tenant.tenant_id) as conn:
        linked = await conn.execute_query_dict("SELECT user_id FROM staff WHERE id = $1", [staff.id])
    assert linked == [{"user_id": user.id}]
    assert len(await audit(tenant.tenant_id, "invitation.accept")) == 1
    assert len(await audit(tenant.tenant_id, "membership.create")) == 1

    # Single use.
    again = (await gql(ACCEPT, {"token": token, "password": NEW_PASSWORD}))["data"]["acceptInvitation"]
    assert again["errors"] == [{"field": "token", "code": "TOKEN_USED", "message": "该邀请已被接受。"}]


async def test_expired_unknown_and_replaced_invitation_tokens_are_refused(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, outbox: Outbox
) -> None:
    tenant = await make_tenant()
    admin = await login(tenant.admin_email)
    email = f"{unique('late')}@example.com"
    await gql(INVITE, {"email": email, "role": "STAFF"}, admin)
    first = outbox.token(email, MailKind.INVITATION)
    await gql(INVITE, {"email": email, "role": "STAFF"}, admin)
    second = outbox.token(email, MailKind.INVITATION)
    assert first != second
    replaced = (await gql(ACCEPT, {"token": first, "password": NEW_PASSWORD}))["data"]["acceptInvitation"]
    assert replaced["errors"][0]["code"] == "TOKEN_INVALID"
    async with tenant_unit_of_work(tenant.tenant_id):
        await Invitation.filter(tenant_id=tenant.tenant_id, revoked_at__isnull=True).update(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )
    expired = (await gql(ACCEPT, {"token": second, "password": NEW_PASSWORD}))["data"]["acceptInvitation"]
    assert expired["errors"][0]["code"] == "TOKEN_EXPIRED"
    for garbage in ("inv_" + "x" * 43, "", "x" * 129):
        unknown = (await gql(ACCEPT, {"token": garbage, "password": NEW_PASSWORD}))["data"]["acceptInvitation"]
        assert unknown["errors"][0]["code"] == "TOKEN_INVALID", garbage
    assert await user_row(email) is None
    assert await roles(tenant.tenant_id) == {tenant.admin_user_id: "admin"}


async def test_an_existing_account_joins_with_its_own_password(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, outbox: Outbox
) -> None:
    home, other = await make_tenant(), await make_tenant()
    admin = await login(other.admin_email)
    await gql(INVITE, {"email": home.admin_email, "role": "STAFF"}, admin)
    token = outbox.token(home.admin_email, MailKind.INVITATION)
    # The invitation cannot set another password for an existing account.
    wrong = (await gql(ACCEPT, {"token": token, "password": "somebody else's guess"}))["data"]["acceptInvitation"]
    assert wrong["errors"][0]["code"] == "WRONG_PASSWORD"
    assert home.admin_user_id not in await roles(other.tenant_id)
    joined = (await gql(ACCEPT, {"token": token, "password": PASSWORD}))["data"]["acceptInvitation"]
    assert joined["createdUser"] is False and joined["tenant"]["slug"] == other.slug
    assert (await roles(other.tenant_id))[home.admin_user_id] == "staff"
    user = await user_row(home.admin_email)
    assert user is not None and verify_password(user.password_hash, PASSWORD)
    # Already a member: a second invitation is refused before anything is stored or mailed.
    before = len(outbox.sent)
    result = (await gql(INVITE, {"email": home.admin_email, "role": "STAFF"}, admin))["data"]["inviteUser"]
    assert result["errors"][0]["code"] == "ALREADY_MEMBER" and len(outbox.sent) == before


async def test_wrong_roles_are_refused_and_change_nothing(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, outbox: Outbox
) -> None:
    tenant = await make_tenant()  # the fixture's user is an admin
    manager_email, _manager_id = await _member(tenant.tenant_id, Role.MANAGER)
    staff_email, staff_id = await _member(tenant.tenant_id, Role.STAFF)
    _owner_email, owner_id = await _member(tenant.tenant_id, Role.OWNER)
    manager, staff, admin = await login(manager_email), await login(staff_email), await login(tenant.admin_email)
    roles_before, audit_before = await roles(tenant.tenant_id), await audit_count(tenant.tenant_id)
    email = f"{unique('x')}@example.com"

    # A manager invites staff only; an admin anything but owners.
    for token, role in ((manager, "ADMIN"), (manager, "MANAGER"), (manager, "OWNER"), (admin, "OWNER")):
        result = (await gql(INVITE, {"email": email, "role": role}, token))["data"]["inviteUser"]
        assert result["errors"][0]["code"] == "ROLE_NOT_ALLOWED", (role, result)
    # Staff may not invite, nor manage members; nor may managers manage them.
    assert top_code(await gql(INVITE, {"email": email, "role": "STAFF"}, staff)) == "FORBIDDEN"
    for token in (staff, manager):
        assert top_code(await gql(SET_ROLE, {"userId": str(staff_id), "role": "ADMIN"}, token)) == "FORBIDDEN"
        assert top_code(await gql(REMOVE, {"userId": str(staff_id)}, token)) == "FORBIDDEN"
        assert top_code(await gql(MEMBERS, {}, token)) == "FORBIDDEN"
    # API keys manage no members, whatever their scopes.
    key = await service.create_api_key(tenant.tenant_id, "k", list(Scope), tenant.admin_user_id)
    assert top_code(await gql(INVITE, {"email": email, "role": "STAFF"}, key.plaintext)) == "FORBIDDEN"
    assert top_code(await gql(SET_ROLE, {"userId": str(staff_id), "role": "ADMIN"}, key.plaintext)) == "FORBIDDEN"
    assert top_code(await gql(REMOVE, {"userId": str(staff_id)}, key.plaintext)) == "FORBIDDEN"
    assert top_code(await gql(MEMBERS, {}, key.plaintext)) == "FORBIDDEN"
    # An admin cannot touch an owner, nor make one.
    demote = (await gql(SET_ROLE, {"userId": str(owner_id), "role": "STAFF"}, admin))["data"]["setMemberRole"]
    assert demote["errors"][0]["code"] == "ROLE_NOT_ALLOWED"
    promote = (await gql(SET_ROLE, {"userId": str(staff_id), "role": "OWNER"}, admin))["data"]["setMemberRole"]
    assert promote["errors"][0]["code"] == "ROLE_NOT_ALLOWED"
    removal = (await gql(REMOVE, {"userId": str(owner_id)}, admin))["data"]["removeMember"]
    assert removal["errors"][0]["code"] == "ROLE_NOT_ALLOWED"

    assert await roles(tenant.tenant_id) == roles_before
    assert await audit_count(tenant.tenant_id) == audit_before
    assert await invitations(tenant.tenant_id) == []
    assert outbox.sent == []


async def test_a_manager_invites_staff_of_their_own_scope_only(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, outbox: Outbox
) -> None:
    tenant = await make_tenant()
    mine, theirs = await add_team(tenant.tenant_id, "mine"), await add_team(tenant.tenant_id, "theirs")
    await add_staff(tenant.tenant_id, "s-mine", team_id=mine.id)
    await add_staff(tenant.tenant_id, "s-theirs", team_id=theirs.id)
    manager_email, manager_id = await _member(tenant.tenant_id, Role.MANAGER)
    await set_member_teams(tenant.tenant_id, SYSTEM, manager_id, ["mine"])
    manager = await login(manager_email)
    outside = (
        await gql(INVITE, {"email": f"{unique('o')}@example.com", "role": "STAFF", "staffCode": "s-theirs"}, manager)
    )["data"]["inviteUser"]
    assert outside["accessErrors"] == [{"field": "staffCode", "accessCode": "UNKNOWN_STAFF", "index": None}]
    inside = (
        await gql(INVITE, {"email": f"{unique('i')}@example.com", "role": "STAFF", "staffCode": "s-mine"}, manager)
    )["data"]["inviteUser"]
    assert inside["__typename"] == "UserInvited"
    assert len(await invitations(tenant.tenant_id)) == 1


async def test_unknown_and_other_tenants_teams_and_staff_are_refused_with_their_index(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, outbox: Outbox
) -> None:
    tenant, other = await make_tenant(), await make_tenant()
    await add_team(tenant.tenant_id, "here")
    await add_team(other.tenant_id, "there")
    await add_staff(other.tenant_id, "their-guide")
    admin = await login(tenant.admin_email)
    result = (
        await gql(
            INVITE,
            {
                "email": f"{unique('t')}@example.com",
                "role": "MANAGER",
                "teams": ["here", "there", "nowhere"],
                "staffCode": "their-guide",
            },
            admin,
        )
    )["data"]["inviteUser"]
    assert result["__typename"] == "AccessErrors"
    assert result["accessErrors"] == [
        {"field": "teams[1]", "accessCode": "UNKNOWN_TEAM", "index": 1},
        {"field": "teams[2]", "accessCode": "UNKNOWN_TEAM", "index": 2},
        {"field": "staffCode", "accessCode": "UNKNOWN_STAFF", "index": None},
    ]
    assert await invitations(tenant.tenant_id) == [] and outbox.sent == []


async def test_roles_change_at_once_and_the_last_owner_stays(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    tenant = await make_tenant(role=Role.OWNER)
    owner = await login(tenant.admin_email)
    staff_email, staff_id = await _member(tenant.tenant_id, Role.STAFF)
    staff_token = await login(staff_email)
    assert top_code(await gql(MEMBERS, {}, staff_token)) == "FORBIDDEN"
    promoted = (await gql(SET_ROLE, {"userId": str(staff_id), "role": "ADMIN"}, owner))["data"]["setMemberRole"]
    assert promoted["member"] == {"userId": str(staff_id), "email": staff_email, "role": "ADMIN"}
    # The token issued before works with the new role from its next request.
    assert (await gql(MEMBERS, {}, staff_token))["data"]["members"]["total"] == 2
    [entry] = await audit(tenant.tenant_id, "membership.set_role")
    assert (entry.before["role"], entry.after["role"]) == ("staff", "admin")
    # Same role: nothing changes, nothing audited.
    await gql(SET_ROLE, {"userId": str(staff_id), "role": "ADMIN"}, owner)
    assert len(await audit(tenant.tenant_id, "membership.set_role")) == 1

    last = (await gql(SET_ROLE, {"userId": str(tenant.admin_user_id), "role": "ADMIN"}, owner))["data"]
    assert last["setMemberRole"]["errors"][0]["code"] == "LAST_OWNER"
    removal = (await gql(REMOVE, {"userId": str(tenant.admin_user_id)}, owner))["data"]["removeMember"]
    assert removal["errors"][0]["code"] == "LAST_OWNER"
    # With a second owner the first may step down.
    await gql(SET_ROLE, {"userId": str(staff_id), "role": "OWNER"}, owner)
    stepped = (await gql(SET_ROLE, {"userId": str(tenant.admin_user_id), "role": "ADMIN"}, owner))["data"]
    assert stepped["setMemberRole"]["member"]["role"] == "ADMIN"
    assert await roles(tenant.tenant_id) == {tenant.admin_user_id: "admin", staff_id: "owner"}


async def test_a_removed_member_loses_access_at_once_and_old_tokens_never_come_back(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, outbox: Outbox
) -> None:
    tenant = await make_tenant()
    admin = await login(tenant.admin_email)
    staff_email, staff_id = await _member(tenant.tenant_id, Role.STAFF)
    session = (await gql(LOGIN, {"email": staff_email, "password": PASSWORD}))["data"]["login"]
    removed = (await gql(REMOVE, {"userId": str(staff_id)}, admin))["data"]["removeMember"]
    assert removed["member"] == {"userId": str(staff_id), "email": staff_email, "role": "STAFF"}
    assert top_code(await gql(ME, token=session["accessToken"])) == "NOT_A_MEMBER"
    assert (await gql(REFRESH, {"token": session["refreshToken"]}))["data"]["refreshToken"]["errors"] == [
        {"code": "NOT_A_MEMBER"}
    ]
    [entry] = await audit(tenant.tenant_id, "membership.remove")
    assert entry.before["email"] == staff_email and entry.after is None
    # Invited back: the tokens of the earlier membership stay dead; a new sign-in works.
    await gql(INVITE, {"email": staff_email, "role": "STAFF"}, admin)
    rejoined = await gql(ACCEPT, {"token": outbox.token(staff_email, MailKind.INVITATION), "password": PASSWORD})
    assert rejoined["data"]["acceptInvitation"]["createdUser"] is False
    assert top_code(await gql(ME, token=session["accessToken"])) == "TOKEN_REVOKED"
    assert (await gql(ME, token=await login(staff_email)))["data"]["me"]["roles"] == ["STAFF"]
    gone = (await gql(REMOVE, {"userId": "987654321"}, admin))["data"]["removeMember"]
    assert gone["errors"] == [{"field": "userId", "code": "NOT_FOUND", "message": "成员不存在。"}]


async def test_other_tenants_members_are_not_found_and_unchanged(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    a, b = await make_tenant(role=Role.OWNER), await make_tenant()
    token_a = await login(a.admin_email)
    for document, variables in (
        (SET_ROLE, {"userId": str(b.admin_user_id), "role": "STAFF"}),
        (REMOVE, {"userId": str(b.admin_user_id)}),
    ):
        body = (await gql(document, variables, token_a))["data"]
        [result] = body.values()
        assert result["errors"][0]["code"] == "NOT_FOUND" and result["errors"][0]["field"] == "userId"
    assert await roles(b.tenant_id) == {b.admin_user_id: "admin"}
    listed = (await gql(MEMBERS, {}, token_a))["data"]["members"]
    assert [m["email"] for m in listed["items"]] == [a.admin_email] and listed["total"] == 1


async def test_members_are_paged_by_email(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    tenant = await make_tenant()
    emails = sorted([tenant.admin_email] + [(await _member(tenant.tenant_id, Role.STAFF))[0] for _ in "abc"])
    admin = await login(tenant.admin_email)
    page = (await gql(MEMBERS, {"limit": 2, "offset": 1}, admin))["data"]["members"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert [m["email"] for m in page["items"]] == emails[1:3]
    past = (await gql(MEMBERS, {"limit": 2, "offset": 10}, admin))["data"]["members"]
    assert (past["items"], past["total"]) == ([], 4)


async def test_invitations_are_rate_limited_per_address_and_per_tenant(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, outbox: Outbox, redis: Redis
) -> None:
    tenant = await make_tenant()
    admin = await login(tenant.admin_email)
    email = f"{unique('rl')}@example.com"
    for _ in range(3):
        assert (await gql(INVITE, {"email": email, "role": "STAFF"}, admin))["data"]["inviteUser"]["__typename"] == (
            "UserInvited"
        )
    limited = (await gql(INVITE, {"email": email, "role": "STAFF"}, admin))["data"]["inviteUser"]
    assert limited["errors"] == [
        {"field": "email", "code": "RATE_LIMITED", "message": "此类请求过于频繁，请稍后再试。"}
    ]
    assert len(outbox.to(email)) == 3
    # The tenant's own budget: another address is refused once the tenant's is spent.
    await redis.set(limit_key("invite-tenant", tenant.tenant_id), 100, ex=60)
    other = (await gql(INVITE, {"email": f"{unique('rl')}@example.com", "role": "STAFF"}, admin))["data"]
    assert other["inviteUser"]["errors"][0]["code"] == "RATE_LIMITED"
    assert len(await invitations(tenant.tenant_id)) == 3


@pytest.mark.parametrize("bad", ["a\x00b@example.com", "a\ud800b@example.com", "x" * 10_001])
async def test_unstorable_text_in_invitations_is_refused_before_anything_changes(
    make_tenant: TenantFactory, client: httpx.AsyncClient, login: Login, outbox: Outbox, bad: str
) -> None:
    tenant = await make_tenant()
    admin = await login(tenant.admin_email)

    async def post(query: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        # ASCII JSON: a lone surrogate goes out as its escape, as a careless client sends it.
        headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
        response = await client.post(
            "/graphql", content=json.dumps({"query": query, "variables": variables}), headers=headers
        )
        body: dict[str, Any] = response.json()
        return body

    expected = "TEXT_TOO_LONG" if len(bad) > 10_000 else "INVALID_TEXT"
    assert top_code(await post(INVITE, {"email": bad, "role": "STAFF"}, admin)) == expected
    assert top_code(await post(INVITE, {"email": "ok@example.com", "role": "STAFF", "teams": [bad]}, admin)) == expected
    assert top_code(await post(ACCEPT, {"token": bad, "password": NEW_PASSWORD})) == expected
    assert top_code(await post(ACCEPT, {"token": "inv_x", "password": NEW_PASSWORD, "displayName": bad})) == expected
    assert await invitations(tenant.tenant_id) == [] and outbox.sent == []


async def test_an_over_long_address_or_display_name_is_refused_with_its_field(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, outbox: Outbox
) -> None:
    tenant = await make_tenant()
    admin = await login(tenant.admin_email)
    long_email = "a" * 320 + "@example.com"
    result = (await gql(INVITE, {"email": long_email, "role": "STAFF"}, admin))["data"]["inviteUser"]
    assert result["errors"] == [{"field": "email", "code": "INVALID", "message": "邮箱地址格式不正确。"}]
    email = f"{unique('n')}@example.com"
    await gql(INVITE, {"email": email, "role": "STAFF"}, admin)
    token = outbox.token(email, MailKind.INVITATION)
    named = (await gql(ACCEPT, {"token": token, "password": NEW_PASSWORD, "displayName": "名" * 201}))["data"]
    assert named["acceptInvitation"]["errors"][0]["field"] == "displayName"
    assert await user_row(email) is None


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant(role=Role.OWNER)
    _email, second_id = await _member(tenant.tenant_id, Role.OWNER)

    def owner(user_id: int) -> UserPrincipal:
        return UserPrincipal(user_id, "", False, tenant.tenant_id, Role.OWNER)

    outcomes = await asyncio.gather(
        accounts.set_member_role(owner(tenant.admin_user_id), second_id, Role.ADMIN),
        accounts.set_member_role(owner(second_id), tenant.admin_user_id, Role.ADMIN),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, TenancyError)]
    assert len(refused) == 1 and refused[0].code == "LAST_OWNER", outcomes
    assert sorted((await roles(tenant.tenant_id)).values()) == ["admin", "owner"]


async def test_one_invitation_accepted_twice_at_once_makes_one_member(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, outbox: Outbox, app: Starlette
) -> None:
    tenant = await make_tenant()
    email = f"{unique('race')}@example.com"
    await gql(INVITE, {"email": email, "role": "STAFF"}, await login(tenant.admin_email))
    token = outbox.token(email, MailKind.INVITATION)
    auth = app.state.auth
    outcomes = await asyncio.gather(
        accounts.accept_invitation(auth, token, NEW_PASSWORD, "", "10.0.0.1"),
        accounts.accept_invitation(auth, token, NEW_PASSWORD, "", "10.0.0.2"),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, TenancyError)]
    assert len(refused) == 1 and refused[0].code == "TOKEN_USED", outcomes
    user = await user_row(email)
    assert user is not None and (await roles(tenant.tenant_id))[user.id] == "staff"


async def test_api_keys_made_and_revoked_through_the_api_are_audited_without_their_secret(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    tenant = await make_tenant()
    admin = await login(tenant.admin_email)
    created = (await gql(CREATE_KEY, {"name": "POS", "scopes": ["EVENTS_WRITE"]}, admin))["data"]["createApiKey"]
    key_id = created["apiKey"]["id"]
    revoked = (await gql(REVOKE_KEY, {"id": key_id}, admin))["data"]["revokeApiKey"]
    assert revoked["__typename"] == "ApiKeyRevoked"
    [made] = await audit(tenant.tenant_id, "api_key.create")
    assert (made.entity_id, made.actor_user_id, made.before) == (int(key_id), tenant.admin_user_id, None)
    assert made.after == {
        "name": "POS",
        "prefix": created["apiKey"]["prefix"],
        "scopes": ["events:write"],
        "revokedAt": None,
    }
    assert created["secret"].split("_", 2)[2] not in str(made.after)
    [gone] = await audit(tenant.tenant_id, "api_key.revoke")
    assert gone.before["revokedAt"] is None and gone.after["revokedAt"] is not None
    # A refused revocation (already revoked) writes nothing.
    await gql(REVOKE_KEY, {"id": key_id}, admin)
    assert len(await audit(tenant.tenant_id, "api_key.revoke")) == 1


async def test_pending_invitations_are_listed_and_a_revoked_one_cannot_be_accepted(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, outbox: Outbox
) -> None:
    tenant, other = await make_tenant(), await make_tenant()
    admin = await login(tenant.admin_email)
    first, second = f"{unique('a')}@example.com", f"{unique('b')}@example.com"
    for email in (first, second):
        await gql(INVITE, {"email": email, "role": "STAFF"}, admin)
    await gql(ACCEPT, {"token": outbox.token(second, MailKind.INVITATION), "password": NEW_PASSWORD})
    pending = (await gql(INVITATIONS, {}, admin))["data"]["invitations"]
    assert [(i["email"], i["acceptedAt"]) for i in pending["items"]] == [(first, None)] and pending["total"] == 1
    everything = (await gql(INVITATIONS, {"pending": False}, admin))["data"]["invitations"]
    assert [i["email"] for i in everything["items"]] == [second, first]  # newest first
    # Other tenants see none of them; staff may not list or revoke.
    assert (await gql(INVITATIONS, {"pending": False}, await login(other.admin_email)))["data"]["invitations"] == {
        "total": 0,
        "items": [],
    }
    invitation_id = pending["items"][0]["id"]
    staff_email, _staff_id = await _member(tenant.tenant_id, Role.STAFF)
    staff = await login(staff_email)
    assert top_code(await gql(INVITATIONS, {}, staff)) == "FORBIDDEN"
    assert top_code(await gql(REVOKE_INVITATION, {"id": invitation_id}, staff)) == "FORBIDDEN"
    foreign = (await gql(REVOKE_INVITATION, {"id": invitation_id}, await login(other.admin_email)))["data"]
    assert foreign["revokeInvitation"]["errors"][0]["code"] == "NOT_FOUND"

    revoked = (await gql(REVOKE_INVITATION, {"id": invitation_id}, admin))["data"]["revokeInvitation"]
    assert revoked["__typename"] == "InvitationRevoked" and revoked["invitation"]["revokedAt"]
    [entry] = await audit(tenant.tenant_id, "invitation.revoke")
    assert entry.before["revokedAt"] is None and entry.after["revokedAt"] is not None
    refused = await gql(ACCEPT, {"token": outbox.token(first, MailKind.INVITATION), "password": NEW_PASSWORD})
    assert refused["data"]["acceptInvitation"]["errors"][0]["code"] == "TOKEN_INVALID"
    assert await user_row(first) is None
    again = (await gql(REVOKE_INVITATION, {"id": invitation_id}, admin))["data"]["revokeInvitation"]
    assert again["errors"][0]["code"] == "ALREADY_REVOKED"
    accepted_id = everything["items"][0]["id"]
    used = (await gql(REVOKE_INVITATION, {"id": accepted_id}, admin))["data"]["revokeInvitation"]
    assert used["errors"][0]["code"] == "TOKEN_USED"
    assert (await gql(INVITATIONS, {}, admin))["data"]["invitations"]["total"] == 0
