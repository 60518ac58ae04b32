"""Every error has a code; bodies the server cannot parse are a coded 400; the unexpected is masked, and logged."""

from __future__ import annotations

import httpx
import strawberry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from structlog.testing import capture_logs
from tortoise.connection import get_connection

from schema import KaoheSchema, build_schema, schema_extensions
from schema.request_errors import INTERNAL_ERROR_MESSAGE, RequestErrorCode
from server.app import KaoheGraphQL
from server.observability import RequestContextMiddleware
from server.settings import Settings
from tests.server.conftest import ClientFor, serve_with

JSON = {"content-type": "application/json"}


async def test_a_body_nested_5000_deep_is_a_coded_400(client: httpx.AsyncClient) -> None:
    body = b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    response = await client.post("/graphql", content=body, headers=JSON)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "JSON_TOO_DEEP"


async def test_a_body_that_is_not_json_or_not_utf8_is_a_coded_400(client: httpx.AsyncClient) -> None:
    for body in (b'{"query": ', b'{"query": "\xff\xfe"}'):
        response = await client.post("/graphql", content=body, headers=JSON)
        assert response.status_code == 400, body
        assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_JSON"
    # strawberry's own refusals come in the same JSON shape, with a code.
    response = await client.post("/graphql", content=b'{"variables": {}}', headers=JSON)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_the_limits_carry_codes(client: httpx.AsyncClient, client_for: ClientFor, database: Settings) -> None:
    aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }"
    tokens = "{ " + " __typename" * 20_001 + " }"
    for query, code in ((aliases, "TOO_MANY_ALIASES"), (tokens, "TOO_MANY_TOKENS")):
        body = (await client.post("/graphql", json={"query": query})).json()
        assert [error["extensions"]["code"] for error in body["errors"]] == [code]
    # Today's schema is shallower than the default depth limit: an app with a low one shows the code.
    async with client_for(database.model_copy(update={"graphql_max_depth": 1})) as shallow:
        body = (await shallow.post("/graphql", json={"query": "{ me { user { email } } }"})).json()
    assert [error["extensions"]["code"] for error in body["errors"]] == ["QUERY_TOO_DEEP"]


async def test_documents_and_variables_that_do_not_fit_the_schema_carry_codes(client: httpx.AsyncClient) -> None:
    cases = [
        ({"query": "{ me "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ mee }"}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {
                "query": 'mutation($s: [ApiKeyScope!]!) { createApiKey(name: "k", scopes: $s) { __typename } }',
                "variables": {"s": ["NOT_A_SCOPE"]},
            },
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ]
    for payload, code in cases:
        body = (await client.post("/graphql", json=payload)).json()
        assert [error["extensions"]["code"] for error in body["errors"]] == [code], payload


def test_the_sdl_documents_the_request_error_codes(settings: Settings) -> None:
    sdl = build_schema(settings).as_str()
    block = sdl[sdl.index("enum RequestErrorCode {") :]
    block = block[: block.index("}")]
    assert set(block.split()[3:]) == {code.value for code in RequestErrorCode}


# --- The unexpected -------------------------------------------------------------------------------------------------
# Nothing in the real schema should fail unexpectedly (each such failure is a bug to fix with a code), so the test
# uses a schema of its own, built by the same class with the same extension list, served by the same view and
# middleware, whose resolver makes Postgres itself fail: the error and its text are the driver's, nothing is mocked.


@strawberry.type
class Query:
    @strawberry.field
    async def ratio(self) -> int:
        rows = await get_connection("default").execute_query_dict("SELECT 1 / 0 AS ratio")
        return int(rows[0]["ratio"])


async def test_an_unexpected_error_is_masked_with_the_request_id_and_logged_with_its_trace(
    app: Starlette, database: Settings
) -> None:
    schema = KaoheSchema(query=Query, extensions=schema_extensions(database))
    failing = Starlette(
        routes=[Route("/graphql", KaoheGraphQL(database, schema=schema), methods=["POST"])],
        middleware=[Middleware(RequestContextMiddleware)],
    )
    failing.state.redis = app.state.redis
    failing.state.auth = serve_with(app, database).state.auth
    transport = httpx.ASGITransport(app=failing)
    with capture_logs() as logs:
        async with httpx.AsyncClient(transport=transport, base_url="http://kaohe.test") as http:
            response = await http.post("/graphql", json={"query": "{ ratio }"}, headers={"x-request-id": "req-4711"})
            english = await http.post("/graphql", json={"query": "{ ratio }"}, headers={"accept-language": "en"})

    assert response.status_code == 200
    (error,) = response.json()["errors"]
    assert (
        error["message"]
        == INTERNAL_ERROR_MESSAGE.render("zh-CN")
        == "服务器内部错误。反馈问题时请提供请求编号（requestId）。"
    )
    assert error["extensions"] == {"code": "INTERNAL_ERROR", "requestId": "req-4711"}
    assert error["path"] == ["ratio"]
    assert "division" not in response.text.lower()
    assert english.json()["errors"][0]["message"] == "Internal error. Quote the request id when you report it."
    logged, _english = [entry for entry in logs if entry["event"] == "unexpected_error"]
    assert logged["log_level"] == "error"
    assert logged["request_id"] == "req-4711"
    assert "division by zero" in str(logged["exc_info"])
    assert logged["exc_info"].__traceback__ is not None
