"""/metrics labels take a bounded set of values whatever paths and methods clients send."""

from __future__ import annotations

import uuid

import httpx
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount

from server.observability import KNOWN_METHODS, OTHER_METHOD, REQUESTS, UNMATCHED_ROUTE


def label_values(name: str) -> set[str]:
    return {sample.labels[name] for metric in REQUESTS.collect() for sample in metric.samples}


def route_templates(routes: list[BaseRoute], prefix: str = "") -> set[str]:
    """Every template a label may take: the app's routes, and a mount's own routes under its path."""
    templates: set[str] = set()
    for route in routes:
        path = prefix + str(getattr(route, "path", ""))
        templates.add(path)
        if isinstance(route, Mount):
            templates |= route_templates(list(route.routes), path)
    return templates


async def test_a_console_page_counts_under_its_full_template(client: httpx.AsyncClient) -> None:
    # The console is a mounted app: its pages count as /admin/... templates, not as the top-level /login or /.
    await client.get("/admin/login")
    assert "/admin/login" in label_values("route")
    assert "/login" not in label_values("route")
    # Static files mounted inside the console count under the mount, whatever the file.
    assert (await client.get("/admin/kaohe-static/console.css")).status_code == 200
    assert "/admin/kaohe-static" in label_values("route")


async def test_random_paths_and_methods_leave_the_label_values_bounded(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    for _ in range(300):
        assert (await client.get(f"/{uuid.uuid4().hex}/{uuid.uuid4().hex}")).status_code == 404
    for index in range(20):
        await client.request(f"BREW{index}", "/healthz")
    await client.get("/healthz")

    templates = route_templates(app.routes)
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
