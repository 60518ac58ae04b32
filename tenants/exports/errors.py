"""Refusals of an export, in the one error model (tenants/errors.py).

Codes are a public contract (clients branch on them): never renamed, new ones added. Another tenant's scheme or
period is *_NOT_FOUND, exactly like one that does not exist.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tenants.errors import DomainError, Problem
from tenants.i18n import Message


class ExportErrorCode(StrEnum):
    # `scheme` is missing or is not a scheme id.
    BAD_SCHEME = "BAD_SCHEME"
    # `period` is missing or is not a period key (2026-10, 2026-W43, 2026-Q4, 2026).
    BAD_PERIOD = "BAD_PERIOD"
    # No scheme of this tenant has the id.
    SCHEME_NOT_FOUND = "SCHEME_NOT_FOUND"
    # The scheme has no period with this key (never refreshed nor closed).
    PERIOD_NOT_FOUND = "PERIOD_NOT_FOUND"


class ExportError(DomainError[ExportErrorCode]):
    """A refused export; nothing was read beyond the check that failed."""

    @classmethod
    def of(cls, code: ExportErrorCode, message: Message, field: str | None = None, **extra: Any) -> ExportError:
        return cls([Problem(code, message, field, **extra)])
