"""Auth and tenancy refusals: a code of their enum in the SDL, a message in the reader's language.

A reader with a tenant reads the tenant's locale (tenant.settings["locale"], zh-CN by default), whatever the request's
Accept-Language; a reader without one (signing in, unauthenticated) reads Accept-Language, zh-CN by default.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from schema import build_schema
from server.settings import Settings
from tenants.db.uow import platform_unit_of_work, tenant_unit_of_work
from tenants.tenancy import service
from tenants.tenancy.auth import ApiKeyPrincipal, Role, Scope, UserPrincipal
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import ApiKey, Tenant
from tests.conftest import LOGIN, PASSWORD, TenantFactory, unique

Post = Callable[..., Awaitable[dict[str, Any]]]
Login = Callable[..., Awaitable[str]]

API_KEYS = "{ apiKeys { id } }"
CREATE_KEY = """
mutation($name: String!, $scopes: [ApiKeyScope!]!) {
  createApiKey(name: $name, scopes: $scopes) {
    __typename
    ... on ApiKeyCreated { apiKey { id } }
    ... on TenancyErrors { errors { field code message } }
  }
}
"""
CREATE_TENANT = """
mutation($slug: String!, $name: String!, $timezone: String!) {
  createTenant(slug: $slug, name: $name, timezone: $timezone, firstAdminEmail: "first@example.com") {
    __typename
    ... on TenantCreated { tenant { slug } }
    ... on TenancyErrors { errors { field code message } }
  }
}
"""
CURRENT_TENANT = "{ currentTenant { slug } }"


@pytest.fixture
def post(client: httpx.AsyncClient) -> Post:
    """POST /graphql with an optional token and Accept-Language."""

    async def run(
        query: str, variables: dict[str, Any] | None = None, token: str | None = None, language: str | None = None
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        if language is not None:
            headers["accept-language"] = language
        response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return run


async def set_locale(tenant_id: TenantId, locale: str) -> None:
    async with platform_unit_of_work():
        tenant = await Tenant.get(id=tenant_id)
        tenant.settings = {**tenant.settings, "locale": locale}
        await tenant.save(update_fields=["settings"])


async def test_a_failed_login_speaks_chinese_unless_the_request_asks_for_english(
    make_tenant: TenantFactory, post: Post
) -> None:
    tenant = await make_tenant()
    wrong = {"email": tenant.admin_email, "password": "wrong-password"}
    expected = {
        None: "邮箱或密码错误。",
        "zh-CN,zh;q=0.9": "邮箱或密码错误。",
        "fr-FR": "邮箱或密码错误。",  # no French catalogue: the default
        "en-US,en;q=0.9": "Wrong email or password.",
    }
    for language, message in expected.items():
        body = await post(LOGIN, wrong, language=language)
        assert body["data"]["login"]["errors"] == [{"field": None, "message": message, "code": "INVALID_CREDENTIALS"}]
    # Unauthenticated callers of a protected field: a top-level error, same rule.
    assert (await post(API_KEYS))["errors"][0]["message"] == "请先登录，或提供 API 密钥。"
    english = (await post(API_KEYS, language="en"))["errors"][0]
    assert (english["message"], english["extensions"]) == ("Sign in or send an API key.", {"code": "UNAUTHENTICATED"})


async def test_a_tenant_caller_reads_the_tenants_locale_whatever_accept_language_says(
    make_tenant: TenantFactory, post: Post, login: Login
) -> None:
    chinese, english = await make_tenant(role=Role.MANAGER), await make_tenant(role=Role.MANAGER)
    await set_locale(english.tenant_id, "en")
    chinese_token, english_token = await login(chinese.admin_email), await login(english.admin_email)

    # A permission's refusal (top-level error).
    denied = (await post(API_KEYS, token=chinese_token, language="en"))["errors"][0]
    assert (denied["message"], denied["extensions"]) == ("此操作需要 admin 或更高的角色。", {"code": "FORBIDDEN"})
    denied = (await post(API_KEYS, token=english_token, language="zh-CN"))["errors"][0]
    assert (denied["message"], denied["extensions"]) == ("This needs the admin role or higher.", {"code": "FORBIDDEN"})

    # An API key of the tenant reads the same locale.
    for tenant, message in (
        (chinese, "该 API 密钥缺少权限范围 tenant:read。"),
        (english, "The API key lacks the scope tenant:read."),
    ):
        key = await service.create_api_key(tenant.tenant_id, "pos", [Scope.EVENTS_WRITE], tenant.admin_user_id)
        refused = (await post(CURRENT_TENANT, token=key.plaintext, language="fr"))["errors"][0]
        assert (refused["message"], refused["extensions"]) == (message, {"code": "MISSING_SCOPE"})


async def test_a_union_error_is_in_the_tenants_locale(make_tenant: TenantFactory, post: Post, login: Login) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    unnamed = {"name": " ", "scopes": ["EVENTS_WRITE"]}
    body = await post(CREATE_KEY, unnamed, token=token, language="en")
    assert body["data"]["createApiKey"]["errors"] == [
        {"field": "name", "code": "INVALID", "message": "请填写 API 密钥名称。"}
    ]
    await set_locale(tenant.tenant_id, "en")
    # The locale is read with the membership on every request: the next request already reads English.
    body = await post(CREATE_KEY, unnamed, token=token)
    assert body["data"]["createApiKey"]["errors"] == [
        {"field": "name", "code": "INVALID", "message": "An API key needs a name."}
    ]
    assert await service.list_api_keys(tenant.tenant_id) == []


async def test_principals_carry_their_tenants_locale(make_tenant: TenantFactory, app: Starlette, login: Login) -> None:
    tenant = await make_tenant()
    await set_locale(tenant.tenant_id, "en")
    auth = app.state.auth
    user = await auth.authenticate(await login(tenant.admin_email))
    key = await service.create_api_key(tenant.tenant_id, "pos", [Scope.EVENTS_WRITE], tenant.admin_user_id)
    api_key = await auth.authenticate(key.plaintext)
    assert isinstance(user, UserPrincipal) and isinstance(api_key, ApiKeyPrincipal)
    assert (user.tenant_id, user.locale) == (tenant.tenant_id, "en")
    assert (api_key.tenant_id, api_key.locale) == (tenant.tenant_id, "en")
    # Reading the locale did not stop the key's use from being recorded (one statement does both).
    async with tenant_unit_of_work(tenant.tenant_id):
        assert (await ApiKey.get(id=key.api_key.id)).last_used_at is not None
    # A platform operator outside any tenant has no tenant locale: Accept-Language decides.
    operator_email = f"{unique('op')}@example.com"
    await service.create_user(operator_email, PASSWORD, platform_operator=True)
    operator = await auth.authenticate(await login(operator_email))
    assert isinstance(operator, UserPrincipal)
    assert (operator.tenant_id, operator.locale, operator.memberships) == (None, None, ())


async def test_over_long_names_and_timezones_are_refused_with_their_field(
    make_tenant: TenantFactory, post: Post, login: Login
) -> None:
    operator_email = f"{unique('op')}@example.com"
    await service.create_user(operator_email, PASSWORD, platform_operator=True)
    operator = await login(operator_email)
    slug = unique("long")
    cases = [
        ({"name": "n" * 201, "timezone": "Asia/Shanghai"}, "name", "名称最多 200 个字符。"),
        # A long key is not even looked up (the file system would answer "File name too long").
        ({"name": "x", "timezone": "Asia/" + "x" * 300}, "timezone", "时区名称最多 64 个字符。"),
        ({"name": "x", "timezone": "Mars/Olympus"}, "timezone", "未知的时区“Mars/Olympus”。"),
    ]
    for variables, field, message in cases:
        body = await post(CREATE_TENANT, {"slug": slug, **variables}, token=operator)
        assert body["data"]["createTenant"] == {
            "__typename": "TenancyErrors",
            "errors": [{"field": field, "code": "INVALID", "message": message}],
        }, body
    async with platform_unit_of_work():
        assert not await Tenant.exists(slug=slug)

    tenant = await make_tenant()
    body = await post(
        CREATE_KEY, {"name": "k" * 201, "scopes": ["EVENTS_WRITE"]}, token=await login(tenant.admin_email)
    )
    assert body["data"]["createApiKey"]["errors"] == [
        {"field": "name", "code": "INVALID", "message": "名称最多 200 个字符。"}
    ]
    assert await service.list_api_keys(tenant.tenant_id) == []


def test_auth_and_tenancy_errors_are_problems_with_their_code_enums(settings: Settings) -> None:
    sdl = build_schema(settings).as_str()
    for type_name, enum in (("AuthErrorType", "AuthErrorCode"), ("TenancyError", "TenancyErrorCode")):
        block = sdl[sdl.index(f"type {type_name} implements Problem {{") :]
        block = block[: block.index("}")]
        assert f"code: {enum}!" in block and "message: String!" in block and "field: String" in block
    assert "enum AuthErrorCode {" in sdl and "enum TenancyErrorCode {" in sdl
