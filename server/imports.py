"""POST /import/events: NDJSON, streamed, any size; the same checks and answer as GraphQL recordEvents.

The body is read as it arrives and ingested in chunks (one transaction each), so memory stays bounded whatever the
file's size: the answer keeps complete counts but only the first REPORT_LIMIT duplicates and problems (each chunk too),
and a line is at most MAX_LINE_BYTES. A chunk's valid items are stored even when others are rejected. Item indexes
count the non-empty lines. Lines are checked as they arrive while earlier chunks are being stored: at most two chunks
in the database at a time, the later one resolving its codes and staging its rows while the earlier one inserts;
inserts go one chunk after the other, in file order, so duplicates across chunks and refunds of an earlier chunk's
orders resolve as if sequential. The import gives the event loop a turn every YIELD_EVERY lines, whatever they hold
(a body that is already buffered never makes reading it wait), so other requests are answered during any import.
Once the import is done and answered, the planner statistics of `event` are refreshed if it grew by much (after the
answer: the client need not wait for an ANALYZE).

The answer is JSON: codes as GraphQL's (EventErrorCode), each problem's message rendered in the reader's language
(the key's tenant's locale, Simplified Chinese unless the merchant chose English; see tenants/tenancy/locale.py).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable
from datetime import datetime
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse

from tenants.events.batch import Batch, IngestResult
from tenants.events.contract import EVENT_TIME_MAX, EVENT_TIME_MIN, MAX_BATCH
from tenants.events.errors import EventErrorCode
from tenants.events.service import refresh_event_statistics, store
from tenants.i18n import Locale, _
from tenants.tenancy.auth import UNAUTHENTICATED_MESSAGE, Principal, Role, Scope, check_tenant_access
from tenants.tenancy.errors import AuthError, AuthErrorCode
from tenants.tenancy.identity import TenantId
from tenants.tenancy.locale import reader_locale

CHUNK_ITEMS = MAX_BATCH
YIELD_EVERY = 128  # lines checked between two turns of the event loop (the store running in the background, others)
MAX_LINE_BYTES = 1024 * 1024
REPORT_LIMIT = 1_000  # listed duplicates/rejections; the counts are always complete
LINE_TOO_LONG_MESSAGE = _("A line may hold at most {limit:,} bytes.", limit=MAX_LINE_BYTES)

_STATUS = {
    AuthErrorCode.UNAUTHENTICATED: 401,
    AuthErrorCode.TOKEN_EXPIRED: 401,
    AuthErrorCode.TOKEN_INVALID: 401,
    AuthErrorCode.API_KEY_INVALID: 401,
    AuthErrorCode.API_KEY_REVOKED: 401,
}


def _error(error: AuthError, locale: Locale) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": error.message.render(locale), "code": error.code.value}]},
        status_code=_STATUS.get(error.code, 403),
    )


async def import_events(request: Request) -> JSONResponse:
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
    locale = reader_locale(principal, request.headers.get("accept-language"))
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


async def import_lines(
    tenant_id: TenantId,
    body: AsyncIterable[bytes],
    *,
    event_time_min: datetime = EVENT_TIME_MIN,
    event_time_max: datetime = EVENT_TIME_MAX,
) -> tuple[IngestResult, int]:
    """Ingest an NDJSON body as it arrives; the result (first REPORT_LIMIT duplicates and problems) and the items."""

    def new_batch() -> Batch:
        return Batch(report_limit=REPORT_LIMIT, event_time_min=event_time_min, event_time_max=event_time_max)

    total = IngestResult(REPORT_LIMIT)
    batch = new_batch()
    storing: deque[asyncio.Task[IngestResult]] = deque()  # at most two chunks: one being written, the next staged
    index = 0
    since_turn = 0  # lines (blank ones too) since the event loop last had a turn
    pending = b""

    async def hand_over() -> None:
        # A chunk is stored while the next one is read and checked; its rows go into the table after the previous
        # chunk's (file order), the rest of its work overlaps.
        nonlocal batch
        if batch:
            if len(storing) == 2:
                total.merge(await storing.popleft())
            previous = storing[-1] if storing else None
            storing.append(asyncio.create_task(store(tenant_id, batch, after=previous)))
        batch = new_batch()

    skipping = False  # inside a line that is too long: its bytes are dropped up to the next newline
    try:
        async for data in body:
            pending += data
            *lines, pending = pending.split(b"\n")
            if skipping and lines:
                lines, skipping = lines[1:], False
            if len(pending) > MAX_LINE_BYTES and not skipping:
                # Memory stays bounded whatever a client sends: an endless line is one rejected item.
                batch.reject(index, EventErrorCode.LINE_TOO_LONG, LINE_TOO_LONG_MESSAGE)
                index += 1
                pending, skipping = b"", True
            elif skipping:
                pending = b""
            for line in lines:
                since_turn += 1
                if since_turn >= YIELD_EVERY:
                    since_turn = 0
                    await asyncio.sleep(0)  # the batch being stored takes its next step, other requests are served
                if len(line) > MAX_LINE_BYTES:
                    batch.reject(index, EventErrorCode.LINE_TOO_LONG, LINE_TOO_LONG_MESSAGE)
                    index += 1
                elif line and not line.isspace():
                    batch.add_json(index, line)
                    index += 1
                    if len(batch) >= CHUNK_ITEMS:
                        await hand_over()
        if pending and not pending.isspace() and not skipping:
            batch.add_json(index, pending)
            index += 1
        await hand_over()
        while storing:
            total.merge(await storing.popleft())
    finally:
        if storing:
            # The client went away, or storing failed: what was handed over is stored or not, never half-done.
            await asyncio.gather(*storing, return_exceptions=True)
    return total, index


def _answer(result: IngestResult, items: int, locale: Locale) -> dict[str, Any]:
    return {
        "items": items,
        "accepted": result.accepted,
        "duplicateCount": result.duplicate_count,
        "rejectedCount": result.rejected_count,
        "duplicates": [{"index": d.index, "externalId": d.external_id} for d in result.duplicates[:REPORT_LIMIT]],
        "rejected": [
            {"index": p.index, "code": p.code.value, "message": p.message.render(locale), "field": p.field}
            for p in result.rejected[:REPORT_LIMIT]
        ],
        "truncated": result.truncated,
    }
