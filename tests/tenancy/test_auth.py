"""Authentication through the API: every failure has its code, and a refused action changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis
from starlette.applications import Starlette

from tenants.db.uow import platform_unit_of_work, tenant_unit_of_work
from tenants.tenancy import service
from tenants.tenancy.auth import AuthService, Role, Scope
from tenants.tenancy.errors import AuthError
from tenants.tenancy.models import ApiKey, Tenant
from tests.conftest import LOGIN, PASSWORD, GraphQL, TenantFactory, unique

Login = Callable[..., Awaitable[str]]

ME = "{ me { user { email } tenant { slug } roles } }"
CURRENT_TENANT = "{ currentTenant { slug timezone } }"
API_KEYS = "{ apiKeys { id name prefix scopes revokedAt } }"
CREATE_KEY = """
mutation($name: String!, $scopes: [ApiKeyScope!]!) {
  createApiKey(name: $name, scopes: $scopes) {
    __typename
    ... on ApiKeyCreated { secret apiKey { id prefix scopes } }
    ... on TenancyErrors { errors { field code message } }
  }
}
"""
REVOKE_KEY = """
mutation($id: ID!) {
  revokeApiKey(id: $id) {
    __typename
    ... on ApiKeyRevoked { apiKey { id revokedAt } }
    ... on TenancyErrors { errors { field code message } }
  }
}
"""
CREATE_TENANT = """
mutation($slug: String!, $name: String!) {
  createTenant(slug: $slug, name: $name, firstAdminEmail: "first@example.com") {
    __typename
    ... on TenantCreated { tenant { id slug timezone currency } }
    ... on TenancyErrors { errors { field code message } }
  }
}
"""
REFRESH = """
mutation($token: String!) {
  refreshToken(refreshToken: $token) {
    __typename
    ... on AuthTokens { accessToken refreshToken }
    ... on AuthErrors { errors { code } }
  }
}
"""


def error_code(body: dict[str, object]) -> object:
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, body
    return errors[0]["extensions"]["code"]


async def test_login_and_me(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email.upper())  # emails are case-insensitive
    body = await gql(ME, token=token)
    assert body["data"]["me"] == {
        "user": {"email": tenant.admin_email},
        "tenant": {"slug": tenant.slug},
        "roles": ["ADMIN"],
    }


async def test_wrong_password_is_invalid_credentials(make_tenant: TenantFactory, gql: GraphQL) -> None:
    tenant = await make_tenant()
    for email in (tenant.admin_email, f"{unique('nobody')}@example.com"):
        body = await gql(LOGIN, {"email": email, "password": "wrong-password"})
        assert body["data"]["login"] == {
            "__typename": "AuthErrors",
            # In Simplified Chinese: no tenant is known yet and the request names no other language.
            "errors": [{"field": None, "message": "邮箱或密码错误。", "code": "INVALID_CREDENTIALS"}],
        }


async def test_login_is_rate_limited_per_account(make_tenant: TenantFactory, gql: GraphQL, redis: Redis) -> None:
    tenant = await make_tenant()
    for _ in range(5):
        body = await gql(LOGIN, {"email": tenant.admin_email, "password": "wrong-password"})
        assert body["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    # Even the right password is refused while the account is locked.
    body = await gql(LOGIN, {"email": tenant.admin_email, "password": PASSWORD})
    assert body["data"]["login"]["errors"][0]["code"] == "RATE_LIMITED"
    await redis.delete(f"kaohe:login-fail:acct:{tenant.admin_email}")


async def test_login_is_rate_limited_per_address(make_tenant: TenantFactory, gql: GraphQL, redis: Redis) -> None:
    tenant = await make_tenant()
    address_key = "kaohe:login-fail:addr:127.0.0.1"
    await redis.set(address_key, 20)
    try:
        body = await gql(LOGIN, {"email": tenant.admin_email, "password": PASSWORD})
        assert body["data"]["login"]["errors"][0]["code"] == "RATE_LIMITED"
    finally:
        await redis.delete(address_key)
    body = await gql(LOGIN, {"email": tenant.admin_email, "password": PASSWORD})
    assert body["data"]["login"]["__typename"] == "AuthTokens"


async def test_expired_and_forged_tokens(make_tenant: TenantFactory, gql: GraphQL, app: Starlette) -> None:
    tenant = await make_tenant()
    tokens = app.state.auth.tokens
    expired = tokens.issue(tenant.admin_user_id, tenant.tenant_id, now=datetime.now(UTC) - timedelta(hours=1))
    assert error_code(await gql(ME, token=expired.access_token)) == "TOKEN_EXPIRED"
    assert error_code(await gql(ME, token=expired.access_token[:-4] + "abcd")) == "TOKEN_INVALID"
    fresh = tokens.issue(tenant.admin_user_id, tenant.tenant_id)
    # A refresh token is not an access token.
    assert error_code(await gql(ME, token=fresh.refresh_token)) == "TOKEN_INVALID"
    assert error_code(await gql(ME)) == "UNAUTHENTICATED"


@dataclass(frozen=True)
class OwnAuthSettings:
    """Settings that are not the app's: the domain takes whatever has what `AuthSettings` names."""

    secret_key: SecretStr
    access_token_minutes: int = 1
    refresh_token_days: int = 2
    login_max_failures_per_account: int = 2
    login_max_failures_per_address: int = 1000
    login_failure_window_seconds: int = 60


async def test_authentication_takes_its_settings_from_the_caller(
    make_tenant: TenantFactory, app: Starlette, redis: Redis
) -> None:
    tenant = await make_tenant()
    auth = AuthService(OwnAuthSettings(SecretStr("a-secret-that-is-not-the-app-secret-at-all")), redis)
    address = f"own-settings-{unique('addr')}"
    try:
        now = datetime.now(UTC)
        tokens = auth.tokens.issue(tenant.admin_user_id, int(tenant.tenant_id), now=now)
        assert tokens.access_expires_at == now + timedelta(minutes=1)
        assert tokens.refresh_expires_at == now + timedelta(days=2)
        principal = await auth.authenticate(tokens.access_token)
        assert principal.tenant_id == tenant.tenant_id
        # Signed with its own secret: the app's tokens are not its tokens, nor the other way round.
        with pytest.raises(AuthError) as foreign:
            await auth.authenticate(app.state.auth.tokens.issue(tenant.admin_user_id, None).access_token)
        assert foreign.value.code == "TOKEN_INVALID"
        with pytest.raises(AuthError) as theirs:
            await app.state.auth.authenticate(tokens.access_token)
        assert theirs.value.code == "TOKEN_INVALID"
        # Its own limit: two failures lock the account, the right password included.
        for _ in range(2):
            with pytest.raises(AuthError) as wrong:
                await auth.login(tenant.admin_email, "wrong-password", None, address)
            assert wrong.value.code == "INVALID_CREDENTIALS"
        with pytest.raises(AuthError) as limited:
            await auth.login(tenant.admin_email, PASSWORD, None, address)
        assert limited.value.code == "RATE_LIMITED"
    finally:
        await redis.delete(f"kaohe:login-fail:acct:{tenant.admin_email}", f"kaohe:login-fail:addr:{address}")


async def test_refresh_rotates_and_refuses_reuse(make_tenant: TenantFactory, gql: GraphQL) -> None:
    tenant = await make_tenant()
    first = (await gql(LOGIN, {"email": tenant.admin_email, "password": PASSWORD}))["data"]["login"]
    rotated = (await gql(REFRESH, {"token": first["refreshToken"]}))["data"]["refreshToken"]
    assert rotated["__typename"] == "AuthTokens"
    assert (await gql(ME, token=rotated["accessToken"]))["data"]["me"]["tenant"]["slug"] == tenant.slug
    reused = (await gql(REFRESH, {"token": first["refreshToken"]}))["data"]["refreshToken"]
    assert reused == {"__typename": "AuthErrors", "errors": [{"code": "REFRESH_TOKEN_REUSED"}]}


async def test_removed_member_loses_access_before_token_expiry(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    async with tenant_unit_of_work(tenant.tenant_id) as conn:
        await conn.execute_query("DELETE FROM membership WHERE user_id = $1", [tenant.admin_user_id])
    assert error_code(await gql(ME, token=token)) == "NOT_A_MEMBER"


async def test_api_key_lifecycle_and_scopes(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    created = (await gql(CREATE_KEY, {"name": "POS", "scopes": ["EVENTS_WRITE", "TENANT_READ"]}, token))["data"][
        "createApiKey"
    ]
    assert created["__typename"] == "ApiKeyCreated"
    secret = created["secret"]
    assert secret.startswith("kh_" + created["apiKey"]["prefix"] + "_")
    async with tenant_unit_of_work(tenant.tenant_id):
        stored = await ApiKey.get(id=int(created["apiKey"]["id"]))
    assert secret.split("_", 2)[2] not in stored.secret_hash  # only a hash is kept
    # The key works for what its scopes allow...
    body = await gql(CURRENT_TENANT, token=secret)
    assert body["data"] and body["data"]["currentTenant"]["slug"] == tenant.slug, body
    # ...and is listed without its secret.
    listed = (await gql(API_KEYS, token=token))["data"]["apiKeys"]
    assert [(k["name"], k["scopes"], k["revokedAt"]) for k in listed] == [
        ("POS", ["events:write", "tenant:read"], None)
    ]
    revoked = (await gql(REVOKE_KEY, {"id": created["apiKey"]["id"]}, token))["data"]["revokeApiKey"]
    assert revoked["__typename"] == "ApiKeyRevoked"
    assert error_code(await gql(CURRENT_TENANT, token=secret)) == "API_KEY_REVOKED"
    assert error_code(await gql(CURRENT_TENANT, token=secret[:-3] + "xyz")) == "API_KEY_INVALID"
    again = (await gql(REVOKE_KEY, {"id": created["apiKey"]["id"]}, token))["data"]["revokeApiKey"]
    assert again["errors"][0]["code"] == "ALREADY_REVOKED"


async def test_api_key_missing_scope_and_user_only_fields(make_tenant: TenantFactory, gql: GraphQL) -> None:
    tenant = await make_tenant()
    created = await service.create_api_key(tenant.tenant_id, "writer", [Scope.EVENTS_WRITE], tenant.admin_user_id)
    assert error_code(await gql(CURRENT_TENANT, token=created.plaintext)) == "MISSING_SCOPE"
    # Admin-only mutations are not for API keys, whatever their scopes; nothing is created.
    body = await gql(CREATE_KEY, {"name": "escalate", "scopes": ["STAFF_WRITE"]}, created.plaintext)
    assert error_code(body) == "FORBIDDEN"
    assert [k.name for k in await service.list_api_keys(tenant.tenant_id)] == ["writer"]


async def test_manager_cannot_create_api_keys(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    tenant = await make_tenant(role=Role.MANAGER)
    token = await login(tenant.admin_email)
    assert error_code(await gql(CREATE_KEY, {"name": "k", "scopes": ["EVENTS_WRITE"]}, token)) == "FORBIDDEN"
    assert error_code(await gql(API_KEYS, token=token)) == "FORBIDDEN"
    assert await service.list_api_keys(tenant.tenant_id) == []


async def test_other_tenants_api_keys_are_not_found(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    a, b = await make_tenant(), await make_tenant()
    b_key = await service.create_api_key(b.tenant_id, "b-key", [Scope.EVENTS_WRITE], b.admin_user_id)
    token_a = await login(a.admin_email)
    assert (await gql(API_KEYS, token=token_a))["data"]["apiKeys"] == []
    result = (await gql(REVOKE_KEY, {"id": str(b_key.api_key.id)}, token_a))["data"]["revokeApiKey"]
    assert result == {
        "__typename": "TenancyErrors",
        "errors": [{"field": "id", "code": "NOT_FOUND", "message": "API 密钥不存在。"}],
    }
    assert [k.revoked_at for k in await service.list_api_keys(b.tenant_id)] == [None]
    # A user of A cannot sign in to B.
    body = await gql(LOGIN, {"email": a.admin_email, "password": PASSWORD, "tenant": b.slug})
    assert body["data"]["login"]["errors"][0]["code"] == "NOT_A_MEMBER"


async def test_only_platform_operators_create_tenants(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    tenant = await make_tenant(role=Role.OWNER)
    slug = unique("new")
    owner_token = await login(tenant.admin_email)
    assert error_code(await gql(CREATE_TENANT, {"slug": slug, "name": "X"}, owner_token)) == "FORBIDDEN"
    async with platform_unit_of_work():
        assert not await Tenant.exists(slug=slug)

    operator_email = f"{unique('op')}@example.com"
    await service.create_user(operator_email, PASSWORD, platform_operator=True)
    operator_token = await login(operator_email)
    created = (await gql(CREATE_TENANT, {"slug": slug, "name": "新商户"}, operator_token))["data"]["createTenant"]
    assert created["tenant"]["slug"] == slug
    assert (created["tenant"]["timezone"], created["tenant"]["currency"]) == ("Asia/Shanghai", "CNY")
    duplicate = (await gql(CREATE_TENANT, {"slug": slug, "name": "again"}, operator_token))["data"]["createTenant"]
    assert duplicate["errors"] == [{"field": "slug", "code": "DUPLICATE", "message": f"商户“{slug}”已存在。"}]
    bad = (await gql(CREATE_TENANT, {"slug": "Bad Slug!", "name": "x"}, operator_token))["data"]["createTenant"]
    assert bad["errors"][0]["code"] == "INVALID"


@pytest.mark.parametrize(
    ("bearer", "code"),
    [
        ("kh_ab\x00cd_secret", "API_KEY_INVALID"),  # a NUL in the prefix (Postgres text cannot hold one)
        ("kh_\ud800_secret", "API_KEY_INVALID"),  # a lone surrogate (UTF-8 cannot encode it)
        ("\ud800", "TOKEN_INVALID"),
        ("eyJ\ud800.e30.sig", "TOKEN_INVALID"),
        ("eyJ\x00.e30.sig", "TOKEN_INVALID"),
    ],
)
async def test_a_bearer_no_token_can_be_is_refused_with_its_code(app: Starlette, bearer: str, code: str) -> None:
    # A websocket's connection_init payload is JSON: "\u0000" and "\ud800" reach authentication as they are.
    with pytest.raises(AuthError) as refused:
        await app.state.auth.authenticate(bearer)
    assert refused.value.code == code


async def test_a_known_key_prefix_with_an_unencodable_secret_is_invalid(
    make_tenant: TenantFactory, app: Starlette
) -> None:
    tenant = await make_tenant()
    created = await service.create_api_key(tenant.tenant_id, "probe", [Scope.EVENTS_WRITE], None)
    with pytest.raises(AuthError) as refused:
        await app.state.auth.authenticate(f"kh_{created.api_key.prefix}_\ud800")
    assert refused.value.code == "API_KEY_INVALID"
    async with tenant_unit_of_work(tenant.tenant_id) as conn:
        key = await ApiKey.filter(id=created.api_key.id).using_db(conn).get()
    assert key.last_used_at is None  # refused before anything was touched
