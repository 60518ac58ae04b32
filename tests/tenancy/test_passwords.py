"""Passwords and sessions (issue 9 item 2): the password policy, changePassword (other sessions end), the reset by a
mailed single-use token (the same answer for unknown addresses), logout and refresh-token families, rate limits,
and text no field can store."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import structlog
from redis.asyncio import Redis
from starlette.applications import Starlette

from tenants.accounts import service as accounts
from tenants.db.uow import global_unit_of_work
from tenants.i18n import Message
from tenants.tenancy.auth import verify_password
from tenants.tenancy.errors import TenancyError
from tenants.tenancy.limits import limit_key
from tenants.tenancy.mail import LoggingMailSender, MailKind, OutgoingMail
from tenants.tenancy.models import PasswordReset
from tenants.tenancy.passwords import MAX_LENGTH, check_password
from tests.conftest import LOGIN, PASSWORD, GraphQL, TenantFactory, unique
from tests.tenancy.accounts_api import (
    CHANGE_PASSWORD,
    LOGOUT,
    ME,
    REFRESH,
    REQUEST_RESET,
    RESET,
    audit,
    resets_of,
    top_code,
    user_row,
)
from tests.tenancy.conftest import TEST_CLIENT_ADDRESS, Outbox

Login = Callable[..., Awaitable[str]]
NEW_PASSWORD = "another fine secret"


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short", "PASSWORD_TOO_SHORT"),
        ("x" * (MAX_LENGTH + 1), "PASSWORD_TOO_LONG"),
        ("aaaaaaaaaaaa", "PASSWORD_TOO_WEAK"),
        ("AaAaAaAaAa", "PASSWORD_TOO_WEAK"),
        ("12345678", "PASSWORD_TOO_WEAK"),
        ("hgfedcba", "PASSWORD_TOO_WEAK"),
        ("Password123", "PASSWORD_TOO_WEAK"),
        ("my-wangxiaoming-pw", "PASSWORD_TOO_WEAK"),
    ],
)
def test_the_password_policy_refuses_weak_passwords_with_a_code(password: str, code: str) -> None:
    with pytest.raises(TenancyError) as refused:
        check_password(password, "newPassword", email="WangXiaoming@example.com")
    assert (refused.value.code, refused.value.field) == (code, "newPassword")


@pytest.mark.parametrize(
    "password", [PASSWORD, "kaohe-demo-2026", "12345679", "ab" * (MAX_LENGTH // 2), "密码够长的中文口令"]
)
def test_the_password_policy_accepts_reasonable_passwords(password: str) -> None:
    check_password(password, email="someone@example.com")


async def test_changing_the_password_ends_the_other_sessions(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    tenant = await make_tenant()
    this = (await gql(LOGIN, {"email": tenant.admin_email, "password": PASSWORD}))["data"]["login"]
    other = (await gql(LOGIN, {"email": tenant.admin_email, "password": PASSWORD}))["data"]["login"]
    wrong = await gql(CHANGE_PASSWORD, {"current": "not my password", "new": NEW_PASSWORD}, this["accessToken"])
    assert wrong["data"]["changePassword"]["errors"][0] == {
        "field": "currentPassword",
        "code": "WRONG_PASSWORD",
        "message": "密码与该账号不符。",
    }
    weak = (await gql(CHANGE_PASSWORD, {"current": PASSWORD, "new": "11111111"}, this["accessToken"]))["data"]
    assert weak["changePassword"]["errors"][0]["code"] == "PASSWORD_TOO_WEAK"
    user = await user_row(tenant.admin_email)
    assert user is not None and verify_password(user.password_hash, PASSWORD) and user.sessions_revoked_at is None

    changed = (await gql(CHANGE_PASSWORD, {"current": PASSWORD, "new": NEW_PASSWORD}, this["accessToken"]))["data"]
    fresh = changed["changePassword"]["tokens"]
    assert (await gql(ME, token=fresh["accessToken"]))["data"]["me"]["tenant"]["slug"] == tenant.slug
    for old in (this["accessToken"], other["accessToken"]):
        assert top_code(await gql(ME, token=old)) == "TOKEN_REVOKED"
    assert (await gql(REFRESH, {"token": other["refreshToken"]}))["data"]["refreshToken"]["errors"] == [
        {"code": "TOKEN_REVOKED"}
    ]
    assert (await gql(REFRESH, {"token": fresh["refreshToken"]}))["data"]["refreshToken"]["__typename"] == "AuthTokens"
    assert (await gql(LOGIN, {"email": tenant.admin_email, "password": PASSWORD}))["data"]["login"]["errors"]
    await login(tenant.admin_email, NEW_PASSWORD)
    [entry] = await audit(tenant.tenant_id, "user.change_password")
    assert entry.actor_user_id == tenant.admin_user_id and "password" not in str(entry.after).lower()


async def test_a_reset_answers_the_same_for_unknown_addresses_and_mails_only_known_ones(
    make_tenant: TenantFactory, gql: GraphQL, outbox: Outbox
) -> None:
    tenant = await make_tenant()
    known = await gql(REQUEST_RESET, {"email": tenant.admin_email.upper()})
    unknown = await gql(REQUEST_RESET, {"email": f"{unique('nobody')}@example.com"})
    assert (
        known
        == unknown
        == {"data": {"requestPasswordReset": {"__typename": "PasswordResetRequested", "accepted": True}}}
    )
    assert [mail.to for mail in outbox.sent] == [tenant.admin_email]
    assert outbox.sent[0].kind == MailKind.PASSWORD_RESET
    bad = (await gql(REQUEST_RESET, {"email": "not an address"}))["data"]["requestPasswordReset"]
    assert bad["errors"][0]["code"] == "INVALID"


async def test_a_reset_token_sets_the_password_once_and_ends_every_session(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, outbox: Outbox
) -> None:
    tenant = await make_tenant()
    session = await login(tenant.admin_email)
    await gql(REQUEST_RESET, {"email": tenant.admin_email})
    token = outbox.token(tenant.admin_email, MailKind.PASSWORD_RESET)
    [stored] = await resets_of(tenant.admin_user_id)
    assert token not in stored.token_hash
    # A weak password does not use the token up.
    weak = (await gql(RESET, {"token": token, "password": "abcdefgh"}))["data"]["resetPassword"]
    assert weak["errors"][0]["code"] == "PASSWORD_TOO_WEAK"
    done = (await gql(RESET, {"token": token, "password": NEW_PASSWORD}))["data"]["resetPassword"]
    assert done == {"__typename": "PasswordResetDone", "done": True}
    assert top_code(await gql(ME, token=session)) == "TOKEN_REVOKED"
    await login(tenant.admin_email, NEW_PASSWORD)
    used = (await gql(RESET, {"token": token, "password": "yet another secret"}))["data"]["resetPassword"]
    assert used["errors"] == [{"field": "token", "code": "TOKEN_USED", "message": "该重置令牌已被使用。"}]
    user = await user_row(tenant.admin_email)
    assert user is not None and verify_password(user.password_hash, NEW_PASSWORD)
    assert len(await audit(tenant.tenant_id, "user.reset_password")) == 1


async def test_expired_and_unknown_reset_tokens_are_refused(
    make_tenant: TenantFactory, gql: GraphQL, outbox: Outbox
) -> None:
    tenant = await make_tenant()
    await gql(REQUEST_RESET, {"email": tenant.admin_email})
    token = outbox.token(tenant.admin_email, MailKind.PASSWORD_RESET)
    async with global_unit_of_work():
        await PasswordReset.filter(user_id=tenant.admin_user_id).update(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )
    expired = (await gql(RESET, {"token": token, "password": NEW_PASSWORD}))["data"]["resetPassword"]
    assert expired["errors"][0]["code"] == "TOKEN_EXPIRED"
    unknown = (await gql(RESET, {"token": "rst_nothing", "password": NEW_PASSWORD}))["data"]["resetPassword"]
    assert unknown["errors"][0]["code"] == "TOKEN_INVALID"
    user = await user_row(tenant.admin_email)
    assert user is not None and verify_password(user.password_hash, PASSWORD)


async def test_reset_requests_are_rate_limited_alike_for_known_and_unknown_addresses(
    make_tenant: TenantFactory, gql: GraphQL, outbox: Outbox, redis: Redis
) -> None:
    tenant = await make_tenant()
    nobody = f"{unique('nobody')}@example.com"
    answers = {}
    for email in (tenant.admin_email, nobody):
        for _ in range(3):
            assert (await gql(REQUEST_RESET, {"email": email}))["data"]["requestPasswordReset"]["accepted"] is True
        answers[email] = (await gql(REQUEST_RESET, {"email": email}))["data"]["requestPasswordReset"]
    assert answers[tenant.admin_email] == answers[nobody]
    assert answers[nobody]["errors"][0]["code"] == "RATE_LIMITED"
    assert len(outbox.sent) == 3
    # Per client address too, whatever the address asked for.
    await redis.set(limit_key("reset-address", TEST_CLIENT_ADDRESS), 10, ex=60)
    limited = (await gql(REQUEST_RESET, {"email": f"{unique('fresh')}@example.com"}))["data"]["requestPasswordReset"]
    assert limited["errors"][0]["code"] == "RATE_LIMITED"


async def test_logout_ends_the_session_and_its_whole_refresh_family(make_tenant: TenantFactory, gql: GraphQL) -> None:
    tenant = await make_tenant()
    first = (await gql(LOGIN, {"email": tenant.admin_email, "password": PASSWORD}))["data"]["login"]
    other = (await gql(LOGIN, {"email": tenant.admin_email, "password": PASSWORD}))["data"]["login"]
    rotated = (await gql(REFRESH, {"token": first["refreshToken"]}))["data"]["refreshToken"]
    assert (await gql(LOGOUT, token=rotated["accessToken"]))["data"]["logout"] == {"done": True}
    # Every token of the family: the one in hand, the first access token, the rotated refresh token.
    for access in (rotated["accessToken"], first["accessToken"]):
        assert top_code(await gql(ME, token=access)) == "TOKEN_REVOKED"
    assert (await gql(REFRESH, {"token": rotated["refreshToken"]}))["data"]["refreshToken"]["errors"] == [
        {"code": "TOKEN_REVOKED"}
    ]
    # Another sign-in is another family.
    assert (await gql(ME, token=other["accessToken"]))["data"]["me"]["tenant"]["slug"] == tenant.slug
    assert top_code(await gql(LOGOUT)) == "UNAUTHENTICATED"
    [entry] = await audit(tenant.tenant_id, "user.logout")
    assert entry.actor_user_id == tenant.admin_user_id


async def test_a_replayed_refresh_token_ends_its_family(make_tenant: TenantFactory, gql: GraphQL) -> None:
    tenant = await make_tenant()
    first = (await gql(LOGIN, {"email": tenant.admin_email, "password": PASSWORD}))["data"]["login"]
    rotated = (await gql(REFRESH, {"token": first["refreshToken"]}))["data"]["refreshToken"]
    replay = (await gql(REFRESH, {"token": first["refreshToken"]}))["data"]["refreshToken"]
    assert replay["errors"] == [{"code": "REFRESH_TOKEN_REUSED"}]
    # The thief or the owner holds the rotated pair: neither can go on with it.
    assert (await gql(REFRESH, {"token": rotated["refreshToken"]}))["data"]["refreshToken"]["errors"] == [
        {"code": "TOKEN_REVOKED"}
    ]
    assert top_code(await gql(ME, token=rotated["accessToken"])) == "TOKEN_REVOKED"


@pytest.mark.parametrize(
    ("value", "code"),
    [("nul\x00password", "INVALID_TEXT"), ("lone \ud800 surrogate", "INVALID_TEXT"), ("p" * 10_001, "TEXT_TOO_LONG")],
)
async def test_unstorable_text_is_refused_before_anything_changes(
    make_tenant: TenantFactory, client: httpx.AsyncClient, login: Login, outbox: Outbox, value: str, code: str
) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)

    async def gql(query: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        # ASCII JSON: "\ud800" goes out as an escape (it cannot be encoded as UTF-8), as a careless client sends it.
        headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
        content = json.dumps({"query": query, "variables": variables})
        response = await client.post("/graphql", content=content, headers=headers)
        body: dict[str, Any] = response.json()
        return body

    body = await gql(CHANGE_PASSWORD, {"current": PASSWORD, "new": value}, token)
    assert top_code(body) == code
    assert top_code(await gql(REQUEST_RESET, {"email": value})) == code
    assert top_code(await gql(RESET, {"token": value, "password": NEW_PASSWORD})) == code
    user = await user_row(tenant.admin_email)
    assert user is not None and verify_password(user.password_hash, PASSWORD) and user.sessions_revoked_at is None
    assert outbox.sent == []


async def test_a_ten_megabyte_password_is_refused_whole(
    make_tenant: TenantFactory, client: httpx.AsyncClient, login: Login
) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    response = await client.post(
        "/graphql",
        json={"query": CHANGE_PASSWORD, "variables": {"current": PASSWORD, "new": "x" * 10_000_000}},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"
    user = await user_row(tenant.admin_email)
    assert user is not None and verify_password(user.password_hash, PASSWORD)


async def test_the_logging_mail_sender_writes_the_message_to_the_log() -> None:
    mail = OutgoingMail(
        to="a@example.com",
        kind=MailKind.PASSWORD_RESET,
        subject=Message("Reset your Kaohe password"),
        body=Message("x {token}", {"token": "rst_abc"}),
        locale="zh-CN",
        data={"token": "rst_abc"},
    )
    with structlog.testing.capture_logs() as logs:
        await LoggingMailSender().send(mail)
    assert logs == [
        {
            "event": "mail.sent",
            "log_level": "info",
            "to": "a@example.com",
            "kind": "password_reset",
            "subject": "重置您的考核平台密码",
            "body": "x rst_abc",
        }
    ]


@pytest.mark.parametrize("token", ["rst_\ud800", "inv_\ud800", "rst_a\x00b"])
async def test_tokens_no_link_can_hold_are_invalid_in_the_domain_too(app: Starlette, token: str) -> None:
    # GraphQL's text guard refuses them first; the use cases refuse them too, for any other caller.
    with pytest.raises(TenancyError) as refused:
        await accounts.reset_password(app.state.auth, token, NEW_PASSWORD)
    assert (refused.value.code, refused.value.field) == ("TOKEN_INVALID", "token")
    with pytest.raises(TenancyError) as refused:
        await accounts.accept_invitation(app.state.auth, token, NEW_PASSWORD, "", TEST_CLIENT_ADDRESS)
    assert (refused.value.code, refused.value.field) == ("TOKEN_INVALID", "token")
