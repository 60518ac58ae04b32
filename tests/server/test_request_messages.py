"""Refusals of a request as a whole (limits, unstorable text, unreadable bodies) speak the reader's language.

The code never changes; the message is the tenant's locale for a tenant's caller, else Accept-Language, else zh-CN.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from server.settings import Settings
from tenants.db.uow import platform_unit_of_work
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import Tenant
from tests.conftest import TenantFactory

JSON = {"content-type": "application/json"}
ALIASES = "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }"
CREATE_KEY = "mutation($name: String!) { createApiKey(name: $name, scopes: [EVENTS_WRITE]) { __typename } }"


async def set_locale(tenant_id: TenantId, locale: str) -> None:
    async with platform_unit_of_work():
        tenant = await Tenant.get(id=tenant_id)
        tenant.settings = {**tenant.settings, "locale": locale}
        await tenant.save(update_fields=["settings"])


async def graphql(client: httpx.AsyncClient, payload: dict[str, Any], **headers: str) -> dict[str, Any]:
    # ASCII JSON, so that "\u0000" travels as the escape a careless client sends.
    response = await client.post("/graphql", content=json.dumps(payload).encode("ascii"), headers={**JSON, **headers})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_limit_errors_follow_the_readers_language_and_the_cache_keeps_none(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    chinese = f"查询使用的别名超过 {settings.graphql_max_aliases} 个。"
    english = f"The query uses more than {settings.graphql_max_aliases} aliases."
    # The same document each time: its validation errors come from the cache, rendered per request.
    for language, message in ((None, chinese), ("en", english), (None, chinese), ("en-GB", english)):
        headers = {"accept-language": language} if language else {}
        (error,) = (await graphql(client, {"query": ALIASES}, **headers))["errors"]
        assert (error["message"], error["extensions"]) == (message, {"code": "TOO_MANY_ALIASES"})
    tokens = "{ " + " __typename" * 20_001 + " }"
    (error,) = (await graphql(client, {"query": tokens}, **{"accept-language": "en"}))["errors"]
    expected = f"The query has more than {settings.graphql_max_tokens} tokens."
    assert (error["message"], error["extensions"]) == (expected, {"code": "TOO_MANY_TOKENS"})


async def test_unstorable_text_is_refused_in_the_tenants_language(
    client: httpx.AsyncClient, make_tenant: TenantFactory, login: Any
) -> None:
    tenant = await make_tenant()
    headers = {"authorization": f"Bearer {await login(tenant.admin_email)}", "accept-language": "en"}
    payload = {"query": CREATE_KEY, "variables": {"name": "pos\u0000"}}
    (error,) = (await graphql(client, payload, **headers))["errors"]
    assert error["extensions"] == {"code": "INVALID_TEXT", "field": "name"}
    # The tenant's locale (zh-CN by default) wins over the request's Accept-Language.
    assert error["message"] == "“name”含有 NUL 字符或不成对的代理字符（surrogate），无法作为文本保存。"
    await set_locale(tenant.tenant_id, "en")
    headers["accept-language"] = "zh-CN"
    (error,) = (await graphql(client, payload, **headers))["errors"]
    assert error["message"] == "name holds a NUL character or an unpaired surrogate, which cannot be stored as text."


async def test_unreadable_bodies_are_refused_in_the_requests_language(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    deep = b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    cases = [
        (b'{"query": ', 400, "INVALID_JSON", "请求体不是有效的 JSON。", "The body is not valid JSON."),
        (deep, 400, "JSON_TOO_DEEP", "JSON 请求体嵌套层级过深。", "The JSON body nests too deeply."),
        (
            b"{" + b" " * (settings.graphql_max_body_bytes + 1) + b"}",
            413,
            "BODY_TOO_LARGE",
            f"请求体超过 {settings.graphql_max_body_bytes} 字节。",
            f"Request body over {settings.graphql_max_body_bytes} bytes.",
        ),
    ]
    for body, status, code, chinese, english in cases:
        for headers, message in (({}, chinese), ({"accept-language": "en-US,en;q=0.8"}, english)):
            response = await client.post("/graphql", content=body, headers={**JSON, **headers})
            assert response.status_code == status
            assert response.json() == {"errors": [{"message": message, "extensions": {"code": code}}]}
