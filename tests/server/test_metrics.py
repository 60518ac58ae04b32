"""/metrics labels take a bounded set of values whatever paths and methods clients send."""

from __future__ import annotations

import uuid

import httpx
from starlette.applications import Starlette

from server.observability import KNOWN_METHODS, OTHER_METHOD, REQUESTS, UNMATCHED_ROUTE


def label_values(name: str) -> set[str]:
    return {sample.labels[name] for metric in REQUESTS.collect() for sample in metric.samples}


async def test_random_paths_and_methods_leave_the_label_values_bounded(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    for _ in range(300):
        assert (await client.get(f"/{uuid.uuid4().hex}/{uuid.uuid4().hex}")).status_code == 404
    for index in range(20):
        await client.request(f"BREW{index}", "/healthz")
    await client.get("/healthz")

    templates = {route.path for route in app.routes}  # type: ignore[attr-defined]
    assert label_values("route") <= templates | {UNMATCHED_ROUTE}
    assert UNMATCHED_ROUTE in label_values("route")
    assert label_values("method") <= KNOWN_METHODS | {OTHER_METHOD}
    assert OTHER_METHOD in label_values("method")
    text = (await client.get("/metrics")).text
    assert f'kaohe_http_requests_total{{method="GET",route="{UNMATCHED_ROUTE}",status="404"}}' in text


async def test_a_request_refused_before_routing_counts_under_its_route(client: httpx.AsyncClient) -> None:
    # The body limit answers 413 before the router runs: the label is still the route's template.
    response = await client.post("/graphql", content=b"{" + b" " * (9 * 1024 * 1024) + b"}")
    assert response.status_code == 413
    text = (await client.get("/metrics")).text
    assert 'kaohe_http_requests_total{method="POST",route="/graphql",status="413"}' in text
