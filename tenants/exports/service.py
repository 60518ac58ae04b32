"""Entry point of the payroll files: `export_statements` writes a period's statements in scope to a temporary file.

One unit of work, REPEATABLE READ, so the period's revision in the title and the lines below it are the same
committed state even when a close commits meanwhile. Lines come in batches from a server-side cursor and are written
in a worker thread (openpyxl and csv are synchronous); the workbook is zipped after the unit of work has ended, so a
slow zip or a slow client never holds a database connection. The file is unlinked as soon as it is open: whatever
happens to the request afterwards, nothing is left on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final, Literal

from tenants.access.scope import read_access_scope
from tenants.db.uow import tenant_unit_of_work
from tenants.exports import repository
from tenants.exports.errors import ExportError, ExportErrorCode
from tenants.exports.workbook import CsvStatementWriter, XlsxStatementWriter, labels
from tenants.i18n import DEFAULT_LOCALE, _
from tenants.tenancy.auth import Principal, Role, check_tenant_access
from tenants.tenancy.errors import AuthError, AuthErrorCode
from tenants.tenancy.identity import TenantId

Format = Literal["xlsx", "csv"]
MEDIA_TYPES: Final[dict[str, str]] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
# The period keys of every cycle: 2026 (year), 2026-Q4, 2026-10, 2026-W43.
_PERIOD_KEY = re.compile(r"[0-9]{4}(?:-(?:Q[1-4]|[0-9]{2}|W[0-9]{2}))?", re.ASCII)
_MAX_ID: Final = 2**63


@dataclass(frozen=True)
class ExportFile:
    """A finished file, open for reading and already unlinked: closing it frees it."""

    file: BinaryIO
    size: int
    filename: str
    media_type: str


def parse_scheme_id(raw: str | None) -> int:
    if raw is not None and raw.isascii() and raw.isdigit() and len(raw) <= 19 and 0 < int(raw) < _MAX_ID:
        return int(raw)
    raise ExportError.of(ExportErrorCode.BAD_SCHEME, _("Give the scheme's id as `scheme`."), "scheme")


def parse_period_key(raw: str | None) -> str:
    if raw is not None and _PERIOD_KEY.fullmatch(raw):
        return raw
    raise ExportError.of(
        ExportErrorCode.BAD_PERIOD,
        _("Give the period as `period`, e.g. 2026-10, 2026-W43, 2026-Q4 or 2026."),
        "period",
    )


async def export_statements(
    tenant_id: TenantId, principal: Principal, scheme: str | None, period: str | None, file_format: Format
) -> ExportFile:
    """The statements of a scheme's period, of the staff in the caller's access scope, as an xlsx or csv file.

    Admins and managers (their access scope decides whose lines are in the file); anyone else is an AuthError
    (FORBIDDEN), checked here too so that no caller of this function can forget it. Raises ExportError (BAD_SCHEME,
    BAD_PERIOD, SCHEME_NOT_FOUND, PERIOD_NOT_FOUND)."""
    if check_tenant_access(principal, Role.MANAGER) != tenant_id:
        raise AuthError.of(AuthErrorCode.FORBIDDEN, _("This needs the {role} role or higher.", role=Role.MANAGER.value))
    scheme_id = parse_scheme_id(scheme)
    period_key = parse_period_key(period)
    locale = principal.locale or DEFAULT_LOCALE
    handle, name = tempfile.mkstemp(prefix="kaohe-export-", suffix=f".{file_format}")
    os.close(handle)
    path = Path(name)
    writer: XlsxStatementWriter | CsvStatementWriter | None = None
    try:
        async with tenant_unit_of_work(tenant_id) as conn:
            # One snapshot for the period row and every line (no statement has run yet: SET LOCAL takes none).
            await conn.execute_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            scheme_and_period = await repository.scheme_and_period(conn, tenant_id, scheme_id, period_key)
            if scheme_and_period is None:
                raise ExportError.of(ExportErrorCode.SCHEME_NOT_FOUND, _("No scheme has this id."), "scheme")
            scheme_name, found = scheme_and_period
            if found is None:
                raise ExportError.of(
                    ExportErrorCode.PERIOD_NOT_FOUND,
                    _("The scheme has no period {period} yet.", period=period_key),
                    "period",
                )
            scope = await read_access_scope(conn, tenant_id, principal)
            approved = found.approved_revision is not None and found.approved_revision == found.revision
            words = labels(locale, scheme_name, found.key, found.revision, "approved" if approved else found.state)
            if file_format == "xlsx":
                writer = XlsxStatementWriter(path, words)
            else:
                writer = await asyncio.to_thread(CsvStatementWriter, path, words, found.key)
            async for batch in repository.statement_lines(conn, tenant_id, found.period_id, scope):
                await asyncio.to_thread(writer.write, batch)
        file, size = await asyncio.to_thread(_finished, writer, path)
    except BaseException:
        await asyncio.to_thread(_discard, writer, path)
        raise
    return ExportFile(file, size, f"statements-{scheme_id}-{period_key}.{file_format}", MEDIA_TYPES[file_format])


def _finished(writer: XlsxStatementWriter | CsvStatementWriter, path: Path) -> tuple[BinaryIO, int]:
    """The file written out, opened, then unlinked (the open handle keeps it readable until it is closed)."""
    writer.finish()
    file = path.open("rb")
    path.unlink()
    return file, os.fstat(file.fileno()).st_size


def _discard(writer: XlsxStatementWriter | CsvStatementWriter | None, path: Path) -> None:
    if writer is not None:
        writer.abort()
    with contextlib.suppress(OSError):
        path.unlink()
