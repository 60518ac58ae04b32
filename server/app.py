"""The Starlette application factory: /graphql, /healthz, /readyz, /metrics.

Every refusal answers JSON with a code: GraphQL errors (schema/request_errors.py), and the HTTP-level ones (a body too
large, a body that is not JSON or nests deeper than the parser can go, a bad method) in the same
`{"errors": [{"message", "extensions": {"code"}}]}` shape, their messages in the request's Accept-Language (no caller
is known yet: the body is refused before authentication), Simplified Chinese by default. The client address is the
peer's, or the one a configured proxy (KAOHE_TRUSTED_PROXIES) forwarded.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cross_web import HTTPException
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from tortoise.connection import get_connection
from tortoise.contrib.starlette import RegisterTortoise
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from admin.console import mount_console
from schema import build_schema
from schema.common import use_reader_zone
from schema.context import Context
from schema.request_errors import RequestErrorCode
from schema.subscriptions import KaoheTransportWSHandler
from server.db import app_tortoise_config
from server.exports import export_statements_csv, export_statements_xlsx
from server.imports import import_events, import_wecom_behavior
from server.observability import RequestContextMiddleware, configure_logging
from server.settings import Settings, get_settings
from tenants.i18n import Locale, Message, _
from tenants.jobs import install_job_queue
from tenants.notify import install_scorecard_feed
from tenants.tenancy.auth import AuthService
from tenants.tenancy.errors import AuthError
from tenants.tenancy.locale import reader_locale
from workers.grading import install_arq_grading_queue
from workers.notify import RedisScorecardFeed
from workers.queue import install_arq_job_queue

_HTTP_CODES = {
    400: RequestErrorCode.BAD_REQUEST,
    404: RequestErrorCode.NOT_FOUND,
    405: RequestErrorCode.METHOD_NOT_ALLOWED,
    413: RequestErrorCode.BODY_TOO_LARGE,
}


class RequestRefused(HTTPException):
    """An HTTP request refused before GraphQL runs, with its code and message (strawberry's own refusals have
    neither: they keep strawberry's English reason)."""

    def __init__(self, status_code: int, code: RequestErrorCode, text: Message) -> None:
        super().__init__(status_code, str(text))
        self.code = code
        self.text = text


def refusal(status: int, code: RequestErrorCode, message: Message | str, locale: Locale) -> JSONResponse:
    text = message.render(locale) if isinstance(message, Message) else message
    return JSONResponse({"errors": [{"message": text, "extensions": {"code": code.value}}]}, status_code=status)


def request_locale(headers: Any) -> Locale:
    """The reader's locale before anyone is authenticated: Accept-Language, else zh-CN."""
    return reader_locale(None, headers.get("accept-language"))


def decode_json_body(data: str | bytes) -> Any:
    """json.loads for request bodies: what it cannot read is a coded 400, never a 500."""
    try:
        return json.loads(data)
    except RecursionError as exc:  # the C parser recurses once per nesting level
        raise RequestRefused(400, RequestErrorCode.JSON_TOO_DEEP, _("The JSON body nests too deeply.")) from exc
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not UTF-8
        raise RequestRefused(400, RequestErrorCode.INVALID_JSON, _("The body is not valid JSON.")) from exc


class KaoheGraphQL(GraphQL[Context, None]):
    # graphql-transport-ws authenticated by the connection_init payload's token (schema/subscriptions/transport.py).
    graphql_transport_ws_handler_class = KaoheTransportWSHandler

    def __init__(self, settings: Settings, schema: Schema | None = None, **kwargs: Any) -> None:
        super().__init__(schema or build_schema(settings), **kwargs)
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # strawberry's HTTP branch, answering its refusals in the API's JSON error shape instead of plain text.
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            if isinstance(exc, RequestRefused):
                code: RequestErrorCode | None = exc.code
                message: Message | str = exc.text
            else:
                code, message = _HTTP_CODES.get(exc.status_code), exc.reason
            response = refusal(
                exc.status_code, code or RequestErrorCode.BAD_REQUEST, message, request_locale(request.headers)
            )
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        return decode_json_body(data)

    async def get_context(self, request: Any, response: Any) -> Context:
        state = request.app.state
        context = Context(request=request, settings=self.settings, redis=state.redis, auth=state.auth)
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            try:
                context.principal = await state.auth.authenticate(credentials.strip())
            except AuthError as error:
                context.auth_error = error
        use_reader_zone(context.principal)
        return context


class BodySizeLimit:
    """Refuses request bodies above a limit before the app reads them (declared or streamed)."""

    unlimited_paths = frozenset({"/import/events"})

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Imports stream any size by design; every other endpoint has a bounded body.
        if scope["type"] != "http" or scope["path"] in self.unlimited_paths:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(self.max_bytes, request_locale(headers))(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Any:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLarge:
            await _too_large(self.max_bytes, request_locale(headers))(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def _too_large(max_bytes: int, locale: Locale) -> JSONResponse:
    return refusal(
        413, RequestErrorCode.BODY_TOO_LARGE, _("Request body over {max_bytes} bytes.", max_bytes=max_bytes), locale
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    checks: dict[str, str] = {}
    try:
        await get_connection("default").execute_query("SELECT 1")
        checks["postgres"] = "ok"
    except Exception as exc:  # readiness reports any failure rather than crashing the probe
        checks["postgres"] = f"error: {type(exc).__name__}"
    try:
        await request.app.state.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    configure_logging()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.redis = Redis.from_url(settings.redis_url, decode_responses=True)
        app.state.auth = AuthService(settings, app.state.redis)
        # Services enqueue jobs through it after their unit of work commits (tenants/jobs.py).
        install_arq_job_queue(app.state.redis, settings)
        # Subscriptions listen to the workers' live updates through it (tenants/notify, workers/notify.py).
        scorecard_feed = RedisScorecardFeed(settings)
        install_scorecard_feed(scorecard_feed)
        install_arq_grading_queue(app.state.redis, settings)
        async with RegisterTortoise(app, config=app_tortoise_config(settings)):
            yield
        install_job_queue(None)
        install_scorecard_feed(None)
        await scorecard_feed.aclose()
        await app.state.admin_engine.dispose()
        await app.state.redis.aclose()

    graphql = KaoheGraphQL(
        settings,
        graphql_ide="graphiql" if settings.env == "development" else None,
        allow_queries_via_get=False,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    )
    application = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/import/events", import_events, methods=["POST"]),
            Route("/import/wecom/behavior", import_wecom_behavior, methods=["POST"]),
            Route("/exports/statements.xlsx", export_statements_xlsx, methods=["GET"]),
            Route("/exports/statements.csv", export_statements_csv, methods=["GET"]),
        ],
        middleware=[
            # The proxy's X-Forwarded-For is believed only from the configured addresses (`kaohe serve` leaves
            # uvicorn's own handling off): otherwise any client names its own address, e.g. to escape login limits.
            *(
                [Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)]
                if settings.trusted_proxies
                else []
            ),
            Middleware(RequestContextMiddleware),
            Middleware(BodySizeLimit, max_bytes=settings.graphql_max_body_bytes),
        ],
        lifespan=lifespan,
    )
    # The admin console (sqladmin, issue 11): /admin, its own SQLAlchemy engine on the app role (admin/console.py).
    mount_console(application, settings)
    return application
