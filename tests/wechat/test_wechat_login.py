"""WeChat mini-program login (issue 9 item 3) through GraphQL against a real HTTP server speaking jscode2session."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from tenants.audit.models import AuditEntry
from tenants.db.uow import tenant_unit_of_work
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId
from tenants.wechat.limits import KEY_PREFIX
from tenants.wechat.models import WechatBinding
from tests.conftest import GraphQL, TenantFactory, unique
from tests.payroll.people import new_login, staff_login
from tests.wechat.conftest import APPID, SECRET
from tests.wechat.fake_wechat import FakeWechat

WECHAT_LOGIN = """
mutation($code: String!) {
  wechatLogin(code: $code) {
    __typename
    ... on AuthTokens { accessToken refreshToken }
    ... on WechatErrors { errors { code field message } }
  }
}
"""
BIND = """
mutation($code: String!) {
  bindWechat(code: $code) {
    __typename
    ... on WechatBound { binding { appid boundAt } }
    ... on WechatErrors { errors { code field message } }
  }
}
"""
UNBIND = """
mutation {
  unbindWechat {
    __typename
    ... on WechatUnbound { removed }
    ... on WechatErrors { errors { code message } }
  }
}
"""
ME = "query { me { user { id email } tenant { slug } roles } }"


async def wechat_login(gql: GraphQL, code: str) -> dict[str, Any]:
    body = await gql(WECHAT_LOGIN, {"code": code})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["wechatLogin"]
    return result


async def bind(gql: GraphQL, token: str, code: str) -> dict[str, Any]:
    body = await gql(BIND, {"code": code}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["bindWechat"]
    return result


def error_code(result: dict[str, Any]) -> str:
    assert result["__typename"] == "WechatErrors", result
    code: str = result["errors"][0]["code"]
    return code


async def bindings(tenant_id: TenantId) -> list[tuple[int, str, str]]:
    async with tenant_unit_of_work(tenant_id):
        rows = await WechatBinding.filter(tenant_id=tenant_id).order_by("id")
    return [(row.user_id, row.appid, row.openid) for row in rows]


async def test_a_bound_staff_login_signs_in_with_a_wx_login_code(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, wechat: FakeWechat
) -> None:
    tenant = await make_tenant()
    guide = await staff_login(tenant.tenant_id, "guide-1")
    openid = unique("oid")
    password_token = await login(guide.email, tenant=tenant.slug)
    bound = await bind(gql, password_token, f"ok-{openid}")
    assert bound["__typename"] == "WechatBound" and bound["binding"]["appid"] == APPID
    assert await bindings(tenant.tenant_id) == [(guide.user_id, APPID, openid)]
    # The exchange WeChat's way: appid, secret, the code and the grant type as query parameters.
    assert wechat.requests[-1] == {
        "path": "/sns/jscode2session",
        "appid": APPID,
        "secret": SECRET,
        "js_code": f"ok-{openid}",
        "grant_type": "authorization_code",
    }

    signed_in = await wechat_login(gql, f"ok-{openid}")
    assert signed_in["__typename"] == "AuthTokens"
    me = (await gql(ME, token=signed_in["accessToken"]))["data"]["me"]
    assert me["user"] == {"id": str(guide.user_id), "email": guide.email}
    assert (me["tenant"]["slug"], me["roles"]) == (tenant.slug, ["STAFF"])


@pytest.mark.parametrize(
    ("wechat_code", "ours"),
    [
        ("err-40029", "INVALID_CODE"),
        ("err-40163", "CODE_USED"),
        ("err-45011", "WECHAT_RATE_LIMITED"),
        ("err--1", "WECHAT_BUSY"),
        ("err-40226", "WECHAT_UNAVAILABLE"),  # a code we do not map (a risky user): unavailable, with its number
        ("html", "WECHAT_UNAVAILABLE"),
        ("garbage", "WECHAT_UNAVAILABLE"),
        ("slow", "WECHAT_TIMEOUT"),
    ],
)
async def test_wechat_errors_and_a_timeout_map_to_our_codes(
    gql: GraphQL, wechat: FakeWechat, wechat_code: str, ours: str
) -> None:
    result = await wechat_login(gql, wechat_code)
    assert error_code(result) == ours
    assert result["errors"][0]["field"] == "code"
    assert result["errors"][0]["message"]  # in the reader's language (zh-CN by default)
    assert wechat.codes_seen() == [wechat_code]


async def test_unmapped_error_names_wechats_number_and_messages_are_translated(
    gql: GraphQL, wechat: FakeWechat
) -> None:
    result = await wechat_login(gql, "err-40226")
    assert "40226" in result["errors"][0]["message"]
    busy = await wechat_login(gql, "err--1")
    assert busy["errors"][0]["message"] == "微信系统繁忙，请稍后再试。"


@pytest.mark.parametrize("bad", ["", "   ", "a" * 129, "ok-\u4e2d\u6587", "ok-\tx"])
async def test_codes_that_cannot_be_wx_login_codes_are_refused_without_asking_wechat(
    gql: GraphQL, wechat: FakeWechat, bad: str
) -> None:
    assert error_code(await wechat_login(gql, bad)) == "INVALID_CODE"
    assert wechat.requests == []


async def test_nul_lone_surrogates_and_huge_codes_are_refused_before_anything_runs(
    gql: GraphQL, client: httpx.AsyncClient, wechat: FakeWechat
) -> None:
    for bad, code in [("ok-\x00", "INVALID_TEXT"), ("ok-\ud800", "INVALID_TEXT"), ("x" * 100_000, "TEXT_TOO_LONG")]:
        # JSON text with the escapes as a client sends them ("\\ud800" decodes to a lone surrogate).
        payload = json.dumps({"query": WECHAT_LOGIN, "variables": {"code": bad}})
        sent = await client.post("/graphql", content=payload, headers={"content-type": "application/json"})
        body = sent.json()
        assert body["data"] is None or body["data"]["wechatLogin"] is None
        assert body["errors"][0]["extensions"]["code"] == code
    response = await client.post("/graphql", json={"query": WECHAT_LOGIN, "variables": {"code": "x" * 10_000_000}})
    assert (response.status_code, response.json()["errors"][0]["extensions"]["code"]) == (413, "BODY_TOO_LARGE")
    assert wechat.requests == []


async def test_an_unbound_openid_is_not_bound(gql: GraphQL, wechat: FakeWechat) -> None:
    assert error_code(await wechat_login(gql, f"ok-{unique('nobody')}")) == "NOT_BOUND"


async def test_not_configured_is_its_own_code(
    gql: GraphQL, wechat: FakeWechat, database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "wechat_appid", "")
    assert error_code(await wechat_login(gql, "ok-any")) == "WECHAT_NOT_CONFIGURED"
    assert wechat.requests == []


async def test_an_openid_belongs_to_one_login_across_tenants(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, wechat: FakeWechat
) -> None:
    a, b = await make_tenant(), await make_tenant()
    guide_a = await staff_login(a.tenant_id, "guide-a")
    guide_b = await staff_login(b.tenant_id, "guide-b")
    openid = unique("oid")
    token_a = await login(guide_a.email, tenant=a.slug)
    token_b = await login(guide_b.email, tenant=b.slug)
    assert (await bind(gql, token_a, f"ok-{openid}"))["__typename"] == "WechatBound"
    # The same WeChat account cannot also sign in to B's staff login: refused, nothing stored in B.
    assert error_code(await bind(gql, token_b, f"ok-{openid}")) == "OPENID_TAKEN"
    assert await bindings(b.tenant_id) == []
    # Binding again with the same openid is a retry: the binding, unchanged.
    assert (await bind(gql, token_a, f"ok-{openid}"))["__typename"] == "WechatBound"
    # Another openid while bound: unbind first.
    assert error_code(await bind(gql, token_a, f"ok-{unique('oid')}")) == "ALREADY_BOUND"
    assert await bindings(a.tenant_id) == [(guide_a.user_id, APPID, openid)]
    # B's login cannot unbind A's binding (its own has none).
    unbound_b = (await gql(UNBIND, token=token_b))["data"]["unbindWechat"]
    assert error_code(unbound_b) == "NOT_BOUND"
    assert await bindings(a.tenant_id) == [(guide_a.user_id, APPID, openid)]
    # The openid signs in to A, as A's staff login.
    signed_in = await wechat_login(gql, f"ok-{openid}")
    me = (await gql(ME, token=signed_in["accessToken"]))["data"]["me"]
    assert (me["user"]["id"], me["tenant"]["slug"]) == (str(guide_a.user_id), a.slug)


async def test_unbind_ends_wechat_login(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, wechat: FakeWechat
) -> None:
    tenant = await make_tenant()
    guide = await staff_login(tenant.tenant_id, "guide-1")
    token = await login(guide.email, tenant=tenant.slug)
    openid = unique("oid")
    await bind(gql, token, f"ok-{openid}")
    unbound = (await gql(UNBIND, token=token))["data"]["unbindWechat"]
    assert unbound == {"__typename": "WechatUnbound", "removed": 1}
    assert error_code(await wechat_login(gql, f"ok-{openid}")) == "NOT_BOUND"
    assert error_code((await gql(UNBIND, token=token))["data"]["unbindWechat"]) == "NOT_BOUND"
    async with tenant_unit_of_work(tenant.tenant_id):
        actions = await AuditEntry.filter(tenant_id=tenant.tenant_id, entity="wechat_binding").order_by("id")
    assert [(row.action, row.actor_user_id) for row in actions] == [
        ("wechat.bind", guide.user_id),
        ("wechat.unbind", guide.user_id),
    ]


async def test_only_a_login_linked_to_staff_can_bind_and_api_keys_cannot(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, wechat: FakeWechat
) -> None:
    tenant = await make_tenant()
    unlinked = await new_login(tenant.tenant_id, Role.STAFF)
    token = await login(unlinked.email, tenant=tenant.slug)
    assert error_code(await bind(gql, token, f"ok-{unique('oid')}")) == "NOT_STAFF"
    admin_token = await login(tenant.admin_email, tenant=tenant.slug)
    assert error_code(await bind(gql, admin_token, f"ok-{unique('oid')}")) == "NOT_STAFF"
    assert await bindings(tenant.tenant_id) == []
    anonymous = await gql(BIND, {"code": f"ok-{unique('oid')}"})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await bindings(tenant.tenant_id) == []


async def test_a_suspended_tenants_staff_cannot_sign_in_with_wechat(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, wechat: FakeWechat, owner_conn: asyncpg.Connection
) -> None:
    tenant = await make_tenant()
    guide = await staff_login(tenant.tenant_id, "guide-1")
    openid = unique("oid")
    await bind(gql, await login(guide.email, tenant=tenant.slug), f"ok-{openid}")
    assert (await wechat_login(gql, f"ok-{openid}"))["__typename"] == "AuthTokens"
    await suspend(owner_conn, tenant.tenant_id, True)
    assert error_code(await wechat_login(gql, f"ok-{openid}")) == "TENANT_SUSPENDED"
    await suspend(owner_conn, tenant.tenant_id, False)
    assert (await wechat_login(gql, f"ok-{openid}"))["__typename"] == "AuthTokens"


async def suspend(owner_conn: asyncpg.Connection, tenant_id: TenantId, suspended: bool) -> None:
    """Setup as the platform operator's tools do it (the tenant table answers the platform context only)."""
    async with owner_conn.transaction():
        await owner_conn.execute("SET LOCAL app.platform = 'on'")
        status = await owner_conn.execute(
            "UPDATE tenant SET suspended_at = CASE WHEN $2 THEN now() END WHERE id = $1", tenant_id, suspended
        )
    assert status == "UPDATE 1"


async def test_the_secret_never_reaches_the_logs(
    gql: GraphQL, wechat: FakeWechat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await wechat_login(gql, f"ok-{unique('nobody')}")
    await wechat_login(gql, "slow")
    assert wechat.requests  # WeChat was asked
    assert SECRET not in caplog.text


async def test_concurrent_binds_of_one_openid_in_two_tenants_bind_it_once(
    make_tenant: TenantFactory, gql: GraphQL, login: Any, wechat: FakeWechat
) -> None:
    tenants = [await make_tenant() for _ in range(3)]
    tokens = []
    for n, tenant in enumerate(tenants):
        guide = await staff_login(tenant.tenant_id, f"guide-{n}")
        tokens.append(await login(guide.email, tenant=tenant.slug))
    openid = unique("oid")
    results = await asyncio.gather(*(bind(gql, token, f"ok-{openid}") for token in tokens))
    assert sorted(result["__typename"] for result in results) == ["WechatBound", "WechatErrors", "WechatErrors"]
    assert {error_code(result) for result in results if result["__typename"] == "WechatErrors"} == {"OPENID_TAKEN"}
    assert sum([len(await bindings(tenant.tenant_id)) for tenant in tenants]) == 1


async def test_a_client_with_too_many_failed_wechat_logins_is_refused_without_asking_wechat(
    app: Starlette,
    make_tenant: TenantFactory,
    gql: GraphQL,
    login: Any,
    wechat: FakeWechat,
    database: Any,
    monkeypatch: pytest.MonkeyPatch,
    redis: Redis,
) -> None:
    monkeypatch.setattr(database, "login_max_failures_per_address", 3)
    tenant = await make_tenant()
    guide = await staff_login(tenant.tenant_id, "guide-1")
    openid = unique("oid")
    await bind(gql, await login(guide.email, tenant=tenant.slug), f"ok-{openid}")
    # A client address of this test's own: parallel test runs share Redis and 127.0.0.1.
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://kaohe.test") as http:

            async def from_there(code: str) -> dict[str, Any]:
                response = await http.post("/graphql", json={"query": WECHAT_LOGIN, "variables": {"code": code}})
                result: dict[str, Any] = response.json()["data"]["wechatLogin"]
                return result

            # WeChat being busy or slow is not the client's failure: not counted.
            for _ in range(3):
                assert error_code(await from_there("err--1")) == "WECHAT_BUSY"
            assert (await from_there(f"ok-{openid}"))["__typename"] == "AuthTokens"
            # A refused code, a used code, an openid bound to nobody: three failures, then refused.
            for code in ("err-40029", "err-40163", f"ok-{unique('nobody')}"):
                assert error_code(await from_there(code)) in {"INVALID_CODE", "CODE_USED", "NOT_BOUND"}
            asked = len(wechat.requests)
            limited = await from_there(f"ok-{openid}")
            assert (error_code(limited), limited["errors"][0]["message"]) == (
                "RATE_LIMITED",
                "此处微信登录失败次数过多，请稍后再试。",
            )
            assert len(wechat.requests) == asked
            # Other addresses are not limited by it.
            assert (await wechat_login(gql, f"ok-{openid}"))["__typename"] == "AuthTokens"
    finally:
        await redis.delete(KEY_PREFIX + address)
