"""No argument holding a NUL, a lone surrogate or over-long text reaches a resolver: a coded error names it.

Requests go out as ASCII JSON ("\\u0000", "\\ud800" escapes): a lone surrogate cannot even be encoded as UTF-8, and
the server's JSON parser turns the escapes back into exactly what a careless client sends.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import strawberry
from strawberry.schema.name_converter import NameConverter

from schema import KaoheSchema
from schema.text_guard import MAX_TEXT_LENGTH, InputNames, find_unstorable_text
from tenants.schemes.templates import TEMPLATES
from tenants.tenancy.auth import Role
from tests.conftest import PASSWORD, TenantFactory

BAD_TEXTS = [pytest.param("bad\x00text", id="nul"), pytest.param("bad\ud800text", id="lone-surrogate")]

Post = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def post(client: httpx.AsyncClient) -> Post:
    async def run(query: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
        body = json.dumps({"query": query, "variables": variables}).encode("ascii")
        response = await client.post("/graphql", content=body, headers=headers)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    return run


def only_error(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer.get("data") is None, answer
    (error,) = answer["errors"]
    assert isinstance(error, dict)
    return error


LOGIN = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { __typename } }"
CREATE_KEY = """mutation($name: String!) {
  createApiKey(name: $name, scopes: [EVENTS_WRITE]) { __typename }
}"""
API_KEYS = "{ apiKeys { name } }"
CREATE_SCHEME = """mutation($name: String!) {
  createScheme(name: $name) { __typename ... on SchemeCreated { scheme { id } } }
}"""
SCHEMES = "{ schemes { name } }"
SAVE_DRAFT = """mutation($id: ID!, $config: JSON!) {
  saveSchemeDraft(schemeId: $id, config: $config) { __typename }
}"""
SCHEME_VERSIONS = "query($id: ID!) { scheme(id: $id) { versions { id } } }"


@pytest.mark.parametrize("bad", BAD_TEXTS)
async def test_a_login_email_with_unstorable_text_is_refused_by_name(post: Post, bad: str) -> None:
    error = only_error(await post(LOGIN, {"email": f"{bad}@example.com", "password": PASSWORD}))
    assert error["extensions"] == {"code": "INVALID_TEXT", "field": "email"}
    assert "surrogate" in error["message"]  # ours, not the driver's "invalid byte sequence" or "surrogates not allowed"


@pytest.mark.parametrize("bad", BAD_TEXTS)
async def test_an_api_key_name_with_unstorable_text_is_refused_and_nothing_is_stored(
    post: Post, make_tenant: TenantFactory, login: Callable[..., Awaitable[str]], bad: str
) -> None:
    tenant = await make_tenant(Role.ADMIN)
    token = await login(tenant.admin_email, tenant=tenant.slug)
    error = only_error(await post(CREATE_KEY, {"name": bad}, token))
    assert error["extensions"] == {"code": "INVALID_TEXT", "field": "name"}
    assert (await post(API_KEYS, {}, token))["data"]["apiKeys"] == []


@pytest.mark.parametrize("bad", BAD_TEXTS)
async def test_a_scheme_name_with_unstorable_text_is_refused_and_nothing_is_stored(
    post: Post, make_tenant: TenantFactory, login: Callable[..., Awaitable[str]], bad: str
) -> None:
    tenant = await make_tenant(Role.ADMIN)
    token = await login(tenant.admin_email, tenant=tenant.slug)
    error = only_error(await post(CREATE_SCHEME, {"name": bad}, token))
    assert error["extensions"] == {"code": "INVALID_TEXT", "field": "name"}
    assert (await post(SCHEMES, {}, token))["data"]["schemes"] == []


@pytest.mark.parametrize("bad", BAD_TEXTS)
async def test_a_config_label_with_unstorable_text_is_refused_by_its_json_path(
    post: Post, make_tenant: TenantFactory, login: Callable[..., Awaitable[str]], bad: str
) -> None:
    tenant = await make_tenant(Role.ADMIN)
    token = await login(tenant.admin_email, tenant=tenant.slug)
    created = await post(CREATE_SCHEME, {"name": "Guides"}, token)
    scheme_id = created["data"]["createScheme"]["scheme"]["id"]
    config = copy.deepcopy(TEMPLATES[0].config)
    config["metrics"][0]["label"] = bad

    error = only_error(await post(SAVE_DRAFT, {"id": scheme_id, "config": config}, token))
    assert error["extensions"] == {"code": "INVALID_TEXT", "field": "config.metrics[0].label"}
    assert (await post(SCHEME_VERSIONS, {"id": scheme_id}, token))["data"]["scheme"]["versions"] == []
    # The key of a JSON object is text too.
    config = copy.deepcopy(TEMPLATES[0].config)
    config["metrics"][0][bad] = 1
    error = only_error(await post(SAVE_DRAFT, {"id": scheme_id, "config": config}, token))
    assert error["extensions"] == {"code": "INVALID_TEXT", "field": "config.metrics[0]"}


async def test_an_over_long_string_is_refused_by_name_and_nothing_is_stored(
    post: Post, make_tenant: TenantFactory, login: Callable[..., Awaitable[str]]
) -> None:
    tenant = await make_tenant(Role.ADMIN)
    token = await login(tenant.admin_email, tenant=tenant.slug)
    error = only_error(await post(CREATE_SCHEME, {"name": "x" * 1_000_000}, token))
    assert error["extensions"] == {"code": "TEXT_TOO_LONG", "field": "name"}
    assert str(MAX_TEXT_LENGTH) in error["message"]
    assert (await post(SCHEMES, {}, token))["data"]["schemes"] == []


async def test_a_ten_megabyte_string_is_refused_as_a_body_too_large(client: httpx.AsyncClient) -> None:
    body = json.dumps({"query": LOGIN, "variables": {"email": "x" * 10_000_000 + "@example.com", "password": "p"}})
    response = await client.post("/graphql", content=body.encode(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"


async def test_an_unauthenticated_caller_learns_about_its_permission_not_its_text(post: Post) -> None:
    # The guard runs after the field's permission: no validation work, and no hint, for callers without access.
    error = only_error(await post(CREATE_KEY, {"name": "bad\x00"}))
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


UPSERT_TEAMS = "mutation($t: [TeamInput!]!) { upsertTeams(teams: $t) { created errors { index } } }"
TEAMS = "{ teams { items { code } } }"


async def test_a_batch_checked_item_by_item_is_not_refused_whole(
    post: Post, make_tenant: TenantFactory, login: Callable[..., Awaitable[str]]
) -> None:
    tenant = await make_tenant(Role.ADMIN)
    token = await login(tenant.admin_email, tenant=tenant.slug)
    teams = [{"code": "good", "name": "Good"}, {"code": "nul", "name": "x\x00"}, {"code": "sur", "name": "y\ud800"}]
    answer = await post(UPSERT_TEAMS, {"t": teams}, token)
    assert "errors" not in answer, answer
    assert answer["data"]["upsertTeams"]["created"] == 1
    assert [error["index"] for error in answer["data"]["upsertTeams"]["errors"]] == [1, 2]
    assert (await post(TEAMS, {}, token))["data"]["teams"]["items"] == [{"code": "good"}]


# --- The mechanism, on a schema of its own -------------------------------------------------------------------------


@strawberry.input
class LineInput:
    display_name: str
    tags: list[str] | None = None


received: list[list[LineInput]] = []


@strawberry.type
class Query:
    @strawberry.field
    def echo(self, text: str) -> str:
        return text


@strawberry.type
class Mutation:
    @strawberry.mutation
    def import_lines(self, lines: list[LineInput], batch_label: str) -> int:
        received.append(lines)
        return len(lines)

    @strawberry.mutation
    def save_lines(self, lines: list[LineInput]) -> int:
        return len(lines)


def small_schema() -> KaoheSchema:
    return KaoheSchema(
        query=Query, mutation=Mutation, item_checked_arguments=frozenset({("Mutation", "importLines", "lines")})
    )


IMPORT = "mutation($lines: [LineInput!]!, $label: String!) { importLines(lines: $lines, batchLabel: $label) }"
SAVE = "mutation($lines: [LineInput!]!) { saveLines(lines: $lines) }"


async def test_item_checked_batch_arguments_reach_the_domain_with_their_bad_items() -> None:
    lines = [{"displayName": "ok"}, {"displayName": "bad\x00"}, {"displayName": "ok", "tags": ["\ud800"]}]
    result = await small_schema().execute(IMPORT, variable_values={"lines": lines, "label": "fine"})
    assert result.errors is None and result.data == {"importLines": 3}
    assert [line.display_name for line in received[-1]] == ["ok", "bad\x00", "ok"]
    # The same call's other arguments are guarded; so is the same input type in an argument not declared per item.
    result = await small_schema().execute(IMPORT, variable_values={"lines": lines, "label": "x\x00"})
    assert result.errors and result.errors[0].extensions == {"code": "INVALID_TEXT", "field": "batchLabel"}
    result = await small_schema().execute(SAVE, variable_values={"lines": lines})
    assert result.errors and result.errors[0].extensions == {"code": "INVALID_TEXT", "field": "lines[1].displayName"}
    result = await small_schema().execute(SAVE, variable_values={"lines": [{"displayName": "a", "tags": ["\ud800"]}]})
    assert result.errors and result.errors[0].extensions == {"code": "INVALID_TEXT", "field": "lines[0].tags[0]"}


def test_an_exemption_naming_no_argument_fails_the_schema_build() -> None:
    # A renamed field or argument must not silently lose its exemption (its batches would be refused whole).
    with pytest.raises(ValueError, match="importLine"):
        KaoheSchema(query=Query, mutation=Mutation, item_checked_arguments=frozenset({("Mutation", "importLine", "x")}))


def test_the_walk_takes_no_stack_whatever_the_depth() -> None:
    nested: Any = "fine"
    for _ in range(100_000):
        nested = [{"a": nested}]
    assert find_unstorable_text([("config", nested)], InputNames(NameConverter())) is None
    deep_bad: Any = "bad\x00"
    for _ in range(100_000):
        deep_bad = [deep_bad]
    error = find_unstorable_text([("config", deep_bad)], InputNames(NameConverter()))
    assert error is not None and error.extensions == {"code": "INVALID_TEXT", "field": "config" + "[0]" * 100_000}
