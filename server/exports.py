"""GET /exports/statements.xlsx and /exports/statements.csv?scheme=<id>&period=<key>: payroll files (issue 9 item 6).

Admins and managers (a manager's file holds the staff of their teams' subtree); staff and API keys are refused with
403 and a code. The file is written by tenants/exports/service.py to an unlinked temporary file and streamed from it in
chunks, so neither the workbook nor the CSV is ever held whole in memory. Refusals answer JSON like the import:
`{"errors": [{"message", "code", "field"}]}`, the message in the reader's language; another tenant's scheme is
SCHEME_NOT_FOUND (404), as if it did not exist.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import BinaryIO, Final
from urllib.parse import quote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from server.auth_status import auth_status
from tenants.exports.errors import ExportError, ExportErrorCode
from tenants.exports.service import ExportFile, Format, export_statements
from tenants.i18n import Locale
from tenants.tenancy.auth import UNAUTHENTICATED_MESSAGE, Principal, Role, check_tenant_access
from tenants.tenancy.errors import AuthError, AuthErrorCode
from tenants.tenancy.locale import reader_locale

CHUNK_BYTES: Final = 1 << 16
_EXPORT_STATUS: Final = {
    ExportErrorCode.BAD_SCHEME: 400,
    ExportErrorCode.BAD_PERIOD: 400,
    ExportErrorCode.SCHEME_NOT_FOUND: 404,
    ExportErrorCode.PERIOD_NOT_FOUND: 404,
}


def _refusal(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "code": code, "field": field}]}, status_code=status)


async def _file_chunks(file: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await anyio.to_thread.run_sync(file.read, CHUNK_BYTES):
            yield chunk
    finally:
        file.close()


def download_response(export: ExportFile) -> Response:
    """The finished file as a streamed attachment (also for the admin console, which authenticates by its session)."""
    # An ASCII name for old clients, the RFC 6266 / 5987 form for the rest (the name is ASCII today; kept safe).
    disposition = f"attachment; filename=\"{export.filename}\"; filename*=UTF-8''{quote(export.filename)}"
    return StreamingResponse(
        _file_chunks(export.file),
        media_type=export.media_type,
        headers={
            "content-length": str(export.size),
            "content-disposition": disposition,
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


async def _export(request: Request, file_format: Format) -> Response:
    header = request.headers.get("authorization", "")
    scheme, _space, credentials = header.partition(" ")
    principal: Principal | None = None
    locale: Locale = reader_locale(None, request.headers.get("accept-language"))
    try:
        if scheme.lower() != "bearer" or not credentials.strip():
            raise AuthError.of(AuthErrorCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE)
        principal = await request.app.state.auth.authenticate(credentials.strip())
        locale = reader_locale(principal, request.headers.get("accept-language"))
        # Managers and above; API keys have no export scope (check_tenant_access refuses them without one).
        tenant_id = check_tenant_access(principal, Role.MANAGER)
    except AuthError as error:
        return _refusal(auth_status(error.code), error.code.value, error.message.render(locale))
    assert principal is not None
    params = request.query_params
    try:
        export = await export_statements(tenant_id, principal, params.get("scheme"), params.get("period"), file_format)
    except ExportError as error:
        return _refusal(_EXPORT_STATUS[error.code], error.code.value, error.message.render(locale), error.field)
    return download_response(export)


async def export_statements_xlsx(request: Request) -> Response:
    return await _export(request, "xlsx")


async def export_statements_csv(request: Request) -> Response:
    return await _export(request, "csv")
