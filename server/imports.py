"""POST /import/events: NDJSON, streamed, any size; the same checks and answer as GraphQL recordEvents.

The body is stored as it arrives, in chunks, with a bounded answer (tenants/events/ndjson.py); this module
authenticates the caller and answers. Once the import is done and answered, the planner statistics of `event` are
refreshed if it grew by much (after the answer: the client need not wait for an ANALYZE).

The answer is JSON: codes as GraphQL's (EventErrorCode), each problem's message rendered in the reader's language
(the key's tenant's locale, Simplified Chinese unless the merchant chose English; see tenants/tenancy/locale.py).
"""

from __future__ import annotations

from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.auth_status import auth_status
from tenants.events.batch import IngestResult
from tenants.events.ndjson import REPORT_LIMIT, import_lines
from tenants.events.service import refresh_event_statistics
from tenants.i18n import Locale
from tenants.tenancy.auth import UNAUTHENTICATED_MESSAGE, Principal, Role, Scope, check_tenant_access
from tenants.tenancy.errors import AuthError, AuthErrorCode
from tenants.tenancy.identity import TenantId
from tenants.tenancy.locale import reader_locale
from tenants.wecom.importer import import_behavior


def _error(error: AuthError, locale: Locale) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": error.message.render(locale), "code": error.code.value}]},
        status_code=auth_status(error.code),
    )


async def _writer(request: Request) -> tuple[TenantId, Locale] | JSONResponse:
    """The caller's tenant and language when it may write events (an admin, or an API key with events:write); else
    the error's answer."""
    header = request.headers.get("authorization", "")
    scheme, _space, credentials = header.partition(" ")
    principal: Principal | None = None
    try:
        if scheme.lower() != "bearer" or not credentials.strip():
            raise AuthError.of(AuthErrorCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE)
        principal = await request.app.state.auth.authenticate(credentials.strip())
        tenant_id = check_tenant_access(principal, Role.ADMIN, Scope.EVENTS_WRITE)
    except AuthError as error:
        # The key's tenant's language when the key is known, else the request's Accept-Language.
        return _error(error, reader_locale(principal, request.headers.get("accept-language")))
    return tenant_id, reader_locale(principal, request.headers.get("accept-language"))


async def import_events(request: Request) -> JSONResponse:
    writer = await _writer(request)
    if isinstance(writer, JSONResponse):
        return writer
    tenant_id, locale = writer
    settings = request.app.state.settings
    result, items = await import_lines(
        tenant_id,
        request.stream(),
        event_time_min=settings.event_time_min,
        event_time_max=settings.event_time_max,
    )
    # Once per import, after every chunk committed (ANALYZE outside the tenant's transactions).
    return JSONResponse(
        _answer(result, items, locale), background=BackgroundTask(refresh_event_statistics, result.accepted)
    )


def _answer(result: IngestResult, items: int, locale: Locale) -> dict[str, Any]:
    return {
        "items": items,
        "accepted": result.accepted,
        "customersCreated": result.customers_created,
        "duplicateCount": result.duplicate_count,
        "rejectedCount": result.rejected_count,
        "duplicates": [{"index": d.index, "externalId": d.external_id} for d in result.duplicates[:REPORT_LIMIT]],
        "rejected": [
            {"index": p.index, "code": p.code.value, "message": p.message.render(locale), "field": p.field}
            for p in result.rejected[:REPORT_LIMIT]
        ],
        "truncated": result.truncated,
    }


async def import_wecom_behavior(request: Request) -> JSONResponse:
    """POST /import/wecom/behavior: WeCom get_user_behavior_data JSON as value events (tenants/wecom/importer.py),
    streamed with bounded memory; authenticated like /import/events."""
    writer = await _writer(request)
    if isinstance(writer, JSONResponse):
        return writer
    tenant_id, locale = writer
    result = await import_behavior(tenant_id, request.stream())
    return JSONResponse(
        {
            "items": result.items,
            "stored": result.stored,
            "unchanged": result.unchanged,
            "eventsAccepted": result.events_accepted,
            "problemCount": result.problem_count,
            "problems": [
                {
                    "index": p.index,
                    "code": p.code.value,
                    "message": p.message.render(locale),
                    "field": p.field,
                    "userid": p.userid,
                    "day": p.day,
                }
                for p in result.problems
            ],
            "truncated": result.truncated,
        },
        background=BackgroundTask(refresh_event_statistics, result.events_accepted),
    )
