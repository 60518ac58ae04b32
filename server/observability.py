"""Structured JSON logs with a request id, and Prometheus metrics.

Metric labels take a bounded set of values whatever clients send: the route is the matched route's template (its
path pattern), every unknown path shares UNMATCHED_ROUTE, and methods outside the standard ones count as OTHER. A
label per raw path would grow the registry (and each scrape) with every random URL a scanner tries.
"""

from __future__ import annotations

import logging
import time
import uuid

import structlog
from prometheus_client import Counter, Histogram
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("kaohe_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("kaohe_http_request_seconds", "HTTP request latency", ["method", "route"])

UNMATCHED_ROUTE = "unmatched"  # no real route template can collide: templates start with "/"
OTHER_METHOD = "OTHER"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def configure_logging(level: int = logging.INFO) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )


def current_request_id() -> str | None:
    """The id of the request being served (bound by RequestContextMiddleware), for answers that quote it."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    return request_id if isinstance(request_id, str) else None


def route_label(scope: Scope, root_path: str = "") -> str:
    """The template of the route that served (or would serve) the request, or UNMATCHED_ROUTE.

    Inside a mounted app (the console at /admin) the innermost route is in the scope and the mount's path has been
    appended to `root_path` (the shared scope is updated in place): the label is the mount's path plus the inner
    template (/admin/{identity}/edit/{pk}), so it stays a template and says which app served.
    """
    route = scope.get("route")
    if route is None:
        # Refused before routing (e.g. a body too large): find the route the router would have chosen.
        app = scope.get("app")
        for candidate in getattr(app, "routes", ()):
            match, _ = candidate.matches(scope)
            if match is not Match.NONE:
                route = candidate
                break
    path = getattr(route, "path", None)
    if not (isinstance(path, str) and path):
        return UNMATCHED_ROUTE
    mounted_at = str(scope.get("root_path", ""))[len(root_path) :]
    if isinstance(route, Mount):
        # A mounted app that routes nothing itself (static files, at the top or inside the console): root_path
        # already ends with the mount's own path.
        return mounted_at or path
    return f"{mounted_at}{path}"


def method_label(scope: Scope) -> str:
    method = scope.get("method", "")
    return method if method in KNOWN_METHODS else OTHER_METHOD


class RequestContextMiddleware:
    """Request id (taken from X-Request-ID or made), one access log line, metrics; pure ASGI so bodies stream."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = structlog.get_logger("kaohe.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = incoming or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        started = time.perf_counter()
        root_path = str(scope.get("root_path", ""))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            # The router records the matched route in the scope, which middlewares share.
            route, method = route_label(scope, root_path), method_label(scope)
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            self.log.info(
                "request",
                method=scope["method"][:16],
                path=scope.get("path", "")[:256],
                route=route,
                status=status,
                ms=round(elapsed * 1000, 1),
            )
            structlog.contextvars.unbind_contextvars("request_id")
