"""Platform operators (issue 9 item 1): a tenant with its first owner's invitation, suspension that stops its users and
API keys at once (its data stays), the paged list of tenants. Nobody else may do any of it, and a refusal changes
nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from tenants.db.uow import platform_unit_of_work
from tenants.tenancy import service
from tenants.tenancy.auth import Role, Scope
from tenants.tenancy.identity import tenant_id_for_system
from tenants.tenancy.mail import MailKind
from tenants.tenancy.models import Tenant
from tenants.tenancy.suspension import ensure_tenant_active, tenant_is_suspended
from tests.conftest import LOGIN, PASSWORD, GraphQL, TenantFactory, unique
from tests.factories import add_staff
from tests.tenancy.accounts_api import (
    ACCEPT,
    CREATE_TENANT,
    CURRENT_TENANT,
    ME,
    REFRESH,
    RESUME,
    SUSPEND,
    TENANTS,
    audit,
    invitations,
    roles,
    tenant_row,
    top_code,
    user_row,
)
from tests.tenancy.conftest import Operator, Outbox

Login = Callable[..., Awaitable[str]]


async def test_an_operator_creates_a_tenant_whose_first_owner_accepts_the_mailed_invitation(
    gql: GraphQL, operator: Operator, outbox: Outbox
) -> None:
    token = await operator()
    slug, owner_email = unique("new"), f"{unique('Owner')}@Example.com"
    created = (await gql(CREATE_TENANT, {"slug": slug, "name": "新商户", "email": owner_email}, token))["data"][
        "createTenant"
    ]
    assert created["__typename"] == "TenantCreated", created
    assert created["tenant"]["slug"] == slug and created["tenant"]["suspendedAt"] is None
    assert (created["invitation"]["email"], created["invitation"]["role"]) == (owner_email.lower(), "OWNER")
    # The token is mailed (never answered), in the tenant's language, and stored only as a hash.
    [mail] = outbox.to(owner_email.lower(), MailKind.INVITATION)
    invitation_token = mail.data["token"]
    assert invitation_token not in str(created) and "新商户" in mail.subject.render(mail.locale)
    tenant = await tenant_row(slug)
    assert tenant is not None
    tenant_id = tenant_id_for_system(tenant.id)
    [stored] = await invitations(tenant_id)
    assert invitation_token not in stored.token_hash and len(stored.token_hash) == 64
    # Audited in the new tenant, with the operator as the actor.
    [tenant_entry] = await audit(tenant_id, "tenant.create")
    assert tenant_entry.before is None and tenant_entry.after["slug"] == slug and tenant_entry.actor_user_id
    [invitation_entry] = await audit(tenant_id, "invitation.create")
    assert invitation_entry.after["role"] == "owner" and "token" not in str(invitation_entry.after).lower()

    body = await gql(ACCEPT, {"token": invitation_token, "password": "a fine long secret", "displayName": "老板"})
    accepted = body["data"]["acceptInvitation"]
    assert accepted["__typename"] == "InvitationAccepted" and accepted["createdUser"] is True
    me = (await gql(ME, token=accepted["tokens"]["accessToken"]))["data"]["me"]
    assert me == {"user": {"email": owner_email.lower()}, "tenant": {"slug": slug}, "roles": ["OWNER"]}


async def test_only_operators_create_tenants_and_bad_input_creates_nothing(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, operator: Operator, outbox: Outbox
) -> None:
    owner = await make_tenant(role=Role.OWNER)
    slug = unique("nope")
    body = await gql(
        CREATE_TENANT, {"slug": slug, "name": "X", "email": "a@example.com"}, await login(owner.admin_email)
    )
    assert top_code(body) == "FORBIDDEN"
    token = await operator()
    for variables, field, code in (
        ({"slug": slug, "name": "X", "email": "not an address"}, "firstAdminEmail", "INVALID"),
        ({"slug": "Bad Slug!", "name": "X", "email": "a@example.com"}, "slug", "INVALID"),
        ({"slug": owner.slug, "name": "X", "email": "a@example.com"}, "slug", "DUPLICATE"),
    ):
        result = (await gql(CREATE_TENANT, variables, token))["data"]["createTenant"]
        assert [(e["field"], e["code"]) for e in result["errors"]] == [(field, code)], result
    assert await tenant_row(slug) is None
    assert outbox.sent == []


async def test_a_suspended_tenants_users_and_api_keys_stop_at_once_and_its_data_stays(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, operator: Operator
) -> None:
    tenant, other = await make_tenant(), await make_tenant()
    staff = await add_staff(tenant.tenant_id, "guide-1")
    user_token = await login(tenant.admin_email)
    refresh_token = (await gql(LOGIN, {"email": tenant.admin_email, "password": PASSWORD}))["data"]["login"][
        "refreshToken"
    ]
    key = await service.create_api_key(tenant.tenant_id, "pos", [Scope.TENANT_READ], tenant.admin_user_id)
    other_token = await login(other.admin_email)
    assert (await gql(CURRENT_TENANT, token=key.plaintext))["data"]["currentTenant"]["slug"] == tenant.slug

    op = await operator()
    suspended = (await gql(SUSPEND, {"id": str(tenant.tenant_id)}, op))["data"]["suspendTenant"]
    assert suspended["__typename"] == "TenantSuspended" and suspended["tenant"]["suspendedAt"]

    # Tokens and keys issued before are refused on their very next request, with the code.
    assert top_code(await gql(ME, token=user_token)) == "TENANT_SUSPENDED"
    assert top_code(await gql(CURRENT_TENANT, token=key.plaintext)) == "TENANT_SUSPENDED"
    assert (await gql(REFRESH, {"token": refresh_token}))["data"]["refreshToken"]["errors"] == [
        {"code": "TENANT_SUSPENDED"}
    ]
    signing_in = await gql(LOGIN, {"email": tenant.admin_email, "password": PASSWORD, "tenant": tenant.slug})
    assert signing_in["data"]["login"]["errors"][0]["code"] == "TENANT_SUSPENDED"
    # Another tenant is untouched; the suspended one's data stays.
    assert (await gql(ME, token=other_token))["data"]["me"]["tenant"]["slug"] == other.slug
    assert [k.id for k in await service.list_api_keys(tenant.tenant_id)] == [key.api_key.id]
    assert await roles(tenant.tenant_id) == {tenant.admin_user_id: "admin"}
    assert staff.id
    assert await tenant_is_suspended(tenant.tenant_id) and not await tenant_is_suspended(other.tenant_id)
    async with platform_unit_of_work() as conn:
        await ensure_tenant_active(conn, other.tenant_id)
    [entry] = await audit(tenant.tenant_id, "tenant.suspend")
    assert entry.before["suspendedAt"] is None and entry.after["suspendedAt"] is not None

    again = (await gql(SUSPEND, {"id": str(tenant.tenant_id)}, op))["data"]["suspendTenant"]
    assert again["errors"][0]["code"] == "ALREADY_SUSPENDED"

    resumed = (await gql(RESUME, {"id": str(tenant.tenant_id)}, op))["data"]["resumeTenant"]
    assert resumed == {"__typename": "TenantResumed", "tenant": {"id": str(tenant.tenant_id), "suspendedAt": None}}
    assert (await gql(ME, token=user_token))["data"]["me"]["tenant"]["slug"] == tenant.slug
    assert (await gql(CURRENT_TENANT, token=key.plaintext))["data"]["currentTenant"]["slug"] == tenant.slug
    not_suspended = (await gql(RESUME, {"id": str(tenant.tenant_id)}, op))["data"]["resumeTenant"]
    assert not_suspended["errors"][0]["code"] == "NOT_SUSPENDED"
    assert len(await audit(tenant.tenant_id, "tenant.resume")) == 1


async def test_signing_in_without_a_tenant_skips_suspended_ones(
    make_tenant: TenantFactory, gql: GraphQL, operator: Operator
) -> None:
    first, second = await make_tenant(), await make_tenant()
    await service.add_membership(second.tenant_id, first.admin_user_id, Role.STAFF)
    op = await operator()
    assert (await gql(SUSPEND, {"id": str(first.tenant_id)}, op))["data"]["suspendTenant"]["__typename"] == (
        "TenantSuspended"
    )
    tokens = (await gql(LOGIN, {"email": first.admin_email, "password": PASSWORD}))["data"]["login"]
    me = (await gql(ME, token=tokens["accessToken"]))["data"]["me"]
    assert me["tenant"]["slug"] == second.slug


async def test_only_operators_suspend_and_list_tenants(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, operator: Operator
) -> None:
    tenant = await make_tenant(role=Role.OWNER)
    owner_token = await login(tenant.admin_email)
    for document in (SUSPEND, RESUME):
        assert top_code(await gql(document, {"id": str(tenant.tenant_id)}, owner_token)) == "FORBIDDEN"
    assert top_code(await gql(TENANTS, {}, owner_token)) == "FORBIDDEN"
    assert not await tenant_is_suspended(tenant.tenant_id)
    assert await audit(tenant.tenant_id, "tenant.suspend") == []
    # An API key of the tenant cannot either.
    key = await service.create_api_key(tenant.tenant_id, "k", [Scope.TENANT_READ], None)
    assert top_code(await gql(SUSPEND, {"id": str(tenant.tenant_id)}, key.plaintext)) == "FORBIDDEN"
    # Unknown and garbage ids are NOT_FOUND.
    op = await operator()
    for garbage in ("999999999999", "abc", "-1"):
        result = (await gql(SUSPEND, {"id": garbage}, op))["data"]["suspendTenant"]
        assert result["errors"] == [{"field": "id", "code": "NOT_FOUND", "message": "商户不存在。"}]


async def test_tenants_are_paged_and_filtered_by_suspension(
    make_tenant: TenantFactory, gql: GraphQL, operator: Operator
) -> None:
    a, b = await make_tenant(), await make_tenant()
    op = await operator()
    await gql(SUSPEND, {"id": str(b.tenant_id)}, op)
    everything = (await gql(TENANTS, {"limit": 500}, op))["data"]["tenants"]
    async with platform_unit_of_work():
        assert everything["total"] == await Tenant.all().count()
    assert everything["limit"] == 200  # capped at the deployment's page size
    first_page = (await gql(TENANTS, {"limit": 1, "offset": 0}, op))["data"]["tenants"]
    assert len(first_page["items"]) == 1 and first_page["total"] == everything["total"]
    suspended = (await gql(TENANTS, {"suspended": True, "limit": 200}, op))["data"]["tenants"]["items"]
    assert str(b.tenant_id) in {t["id"] for t in suspended} and str(a.tenant_id) not in {t["id"] for t in suspended}
    assert all(t["suspendedAt"] for t in suspended)
    active = (await gql(TENANTS, {"suspended": False, "limit": 200}, op))["data"]["tenants"]["items"]
    assert str(b.tenant_id) not in {t["id"] for t in active}
    past_the_end = (await gql(TENANTS, {"offset": 10**6}, op))["data"]["tenants"]
    assert past_the_end["items"] == [] and past_the_end["total"] == everything["total"]


async def test_a_suspended_tenants_invitation_cannot_be_accepted(
    gql: GraphQL, operator: Operator, outbox: Outbox
) -> None:
    op = await operator()
    slug, email = unique("sus"), f"{unique('o')}@example.com"
    created = (await gql(CREATE_TENANT, {"slug": slug, "name": "S", "email": email}, op))["data"]["createTenant"]
    await gql(SUSPEND, {"id": created["tenant"]["id"]}, op)
    token = outbox.token(email, MailKind.INVITATION)
    result = (await gql(ACCEPT, {"token": token, "password": "a fine long secret"}))["data"]["acceptInvitation"]
    assert result["errors"][0]["code"] == "TENANT_SUSPENDED"
    assert await user_row(email) is None


async def test_the_event_import_refuses_a_suspended_tenants_key(
    make_tenant: TenantFactory, gql: GraphQL, operator: Operator, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant()
    key = await service.create_api_key(tenant.tenant_id, "pos", [Scope.EVENTS_WRITE], None)
    await gql(SUSPEND, {"id": str(tenant.tenant_id)}, await operator())
    response = await client.post("/import/events", content=b"", headers={"authorization": f"Bearer {key.plaintext}"})
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "TENANT_SUSPENDED"
