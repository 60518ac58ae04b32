"""POST /import/events: NDJSON, streamed, any size; the same checks and answer as GraphQL recordEvents.

The body is read as it arrives and ingested in chunks (one transaction each), so memory stays bounded whatever the
file's size; a chunk's valid items are stored even when others are rejected. Item indexes count the non-empty lines.
Lines are checked as they arrive while earlier chunks are being stored: at most two chunks in the database at a time,
the later one resolving its codes and staging its rows while the earlier one inserts; inserts go one chunk after the
other, in file order, so duplicates across chunks and refunds of an earlier chunk's orders resolve as if sequential.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from tenants.events.contract import MAX_BATCH, EventErrorCode
from tenants.events.service import Batch, IngestResult, store
from tenants.tenancy.auth import Role, Scope, check_tenant_access
from tenants.tenancy.errors import AuthError, AuthErrorCode

CHUNK_ITEMS = MAX_BATCH
YIELD_EVERY = 128  # lines checked between two turns of the store running in the background
MAX_LINE_BYTES = 1024 * 1024
REPORT_LIMIT = 1_000  # listed duplicates/rejections; the counts are always complete

_STATUS = {
    AuthErrorCode.UNAUTHENTICATED: 401,
    AuthErrorCode.TOKEN_EXPIRED: 401,
    AuthErrorCode.TOKEN_INVALID: 401,
    AuthErrorCode.API_KEY_INVALID: 401,
    AuthErrorCode.API_KEY_REVOKED: 401,
}


def _error(error: AuthError) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": error.message, "code": error.code.value}]}, status_code=_STATUS.get(error.code, 403)
    )


async def import_events(request: Request) -> JSONResponse:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    try:
        if scheme.lower() != "bearer" or not credentials.strip():
            raise AuthError(AuthErrorCode.UNAUTHENTICATED, "Send an API key with events:write.")
        principal = await request.app.state.auth.authenticate(credentials.strip())
        tenant_id = check_tenant_access(principal, Role.ADMIN, Scope.EVENTS_WRITE)
    except AuthError as error:
        return _error(error)

    total = IngestResult()
    batch = Batch()
    storing: deque[asyncio.Task[IngestResult]] = deque()  # at most two chunks: one being written, the next staged
    index = 0
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
        batch = Batch()

    skipping = False  # inside a line that is too long: its bytes are dropped up to the next newline
    try:
        async for data in request.stream():
            pending += data
            *lines, pending = pending.split(b"\n")
            if skipping and lines:
                lines, skipping = lines[1:], False
            if len(pending) > MAX_LINE_BYTES and not skipping:
                # Memory stays bounded whatever a client sends: an endless line is one rejected item.
                batch.reject(index, EventErrorCode.LINE_TOO_LONG, f"A line may hold at most {MAX_LINE_BYTES} bytes.")
                index += 1
                pending, skipping = b"", True
            elif skipping:
                pending = b""
            for line in lines:
                if len(line) > MAX_LINE_BYTES:
                    batch.reject(
                        index, EventErrorCode.LINE_TOO_LONG, f"A line may hold at most {MAX_LINE_BYTES} bytes."
                    )
                    index += 1
                elif line and not line.isspace():
                    batch.add_json(index, line)
                    index += 1
                    if len(batch) >= CHUNK_ITEMS:
                        await hand_over()
                    elif storing and not index % YIELD_EVERY:
                        await asyncio.sleep(0)  # let the batch being stored take its next step
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
    return JSONResponse(_answer(total, index))


def _answer(result: IngestResult, items: int) -> dict[str, Any]:
    return {
        "items": items,
        "accepted": result.accepted,
        "duplicateCount": len(result.duplicates),
        "rejectedCount": len(result.rejected),
        "duplicates": [{"index": d.index, "externalId": d.external_id} for d in result.duplicates[:REPORT_LIMIT]],
        "rejected": [
            {"index": p.index, "code": p.code.value, "message": p.message, "field": p.field}
            for p in result.rejected[:REPORT_LIMIT]
        ],
        "truncated": len(result.duplicates) > REPORT_LIMIT or len(result.rejected) > REPORT_LIMIT,
    }
