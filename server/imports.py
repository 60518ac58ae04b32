"""POST /import/events: NDJSON, streamed, any size; the same checks and answer as GraphQL recordEvents.

The body is read as it arrives and ingested in chunks (one transaction each), so memory stays bounded whatever the
file's size; a chunk's valid items are stored even when others are rejected. Item indexes count the non-empty lines.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from tenants.events.contract import MAX_BATCH
from tenants.events.service import IngestResult, ingest
from tenants.tenancy.auth import Role, Scope, check_tenant_access
from tenants.tenancy.errors import AuthError, AuthErrorCode

CHUNK_ITEMS = MAX_BATCH
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
    chunk: list[tuple[int, bytes]] = []
    index = 0
    pending = b""

    async def flush() -> None:
        if chunk:
            total.merge(await ingest(tenant_id, chunk))
            chunk.clear()

    async for data in request.stream():
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                chunk.append((index, line))
                index += 1
        if len(chunk) >= CHUNK_ITEMS:
            await flush()
    if pending.strip():
        chunk.append((index, pending))
        index += 1
    await flush()
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
