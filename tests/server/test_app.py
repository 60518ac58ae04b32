"""The HTTP surface: probes, metrics, request ids and the request limits."""

from __future__ import annotations

import httpx

from schema import build_schema
from server.settings import Settings
from tests.conftest import GraphQL


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}


async def test_metrics_count_requests(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    text = (await client.get("/metrics")).text
    assert 'kaohe_http_requests_total{method="GET",route="/healthz",status="200"}' in text


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz", headers={"x-request-id": "abc-123"})).headers["x-request-id"] == "abc-123"
    assert len((await client.get("/healthz")).headers["x-request-id"]) == 32


async def test_oversized_body_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", content=b"{" + b" " * (9 * 1024 * 1024) + b"}")
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"


async def test_query_depth_and_alias_limits(gql: GraphQL, settings: Settings) -> None:
    # Today's schema is shallow; a schema built with a low limit shows the limiter is wired in.
    shallow = build_schema(settings.model_copy(update={"graphql_max_depth": 1}))
    result = await shallow.execute("{ me { user { email } } }")
    assert result.errors and result.errors[0].extensions == {"code": "QUERY_TOO_DEEP"}
    assert result.errors[0].message == "查询的嵌套层级超过 1 层。"  # no request, no tenant: the default locale
    aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }"
    body = await gql(aliases)
    assert body["errors"][0]["message"] == f"查询使用的别名超过 {settings.graphql_max_aliases} 个。"


async def test_graphiql_only_in_development(client: httpx.AsyncClient) -> None:
    # The test app runs with env=test: no IDE page is served.
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in response.text.lower()
