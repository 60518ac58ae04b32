"""Expected failures of disputes, in the one error model (tenants/errors.py). Outside the caller's scope (another
staff member's line, a manager's other teams, another tenant) is always *_NOT_FOUND, never "forbidden"."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tenants.errors import DomainError, Problem
from tenants.i18n import Message


class DisputeErrorCode(StrEnum):
    LINE_NOT_FOUND = "LINE_NOT_FOUND"
    DISPUTE_NOT_FOUND = "DISPUTE_NOT_FOUND"
    ALREADY_DISPUTED = "ALREADY_DISPUTED"
    ALREADY_RESOLVED = "ALREADY_RESOLVED"
    OWN_DISPUTE = "OWN_DISPUTE"
    INVALID_MESSAGE = "INVALID_MESSAGE"
    INVALID_RESOLUTION = "INVALID_RESOLUTION"
    INVALID_ADJUSTMENT = "INVALID_ADJUSTMENT"


class DisputeError(DomainError[DisputeErrorCode]):
    """`DisputeError.of(DisputeErrorCode.X, _("..."), field)`; nothing was changed."""

    @classmethod
    def of(cls, code: DisputeErrorCode, message: Message, field: str | None = None, **extra: Any) -> DisputeError:
        return cls([Problem(code, message, field, **extra)])
