"""Refusals of a live subscription (answered as GraphQL errors with these codes; nothing is subscribed).

Codes are a public contract: never renamed, new ones added. Another tenant's scheme is SCHEME_NOT_FOUND.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tenants.errors import DomainError, Problem
from tenants.i18n import Message


class LiveErrorCode(StrEnum):
    # No scheme of this tenant has the id (or the id cannot be one).
    SCHEME_NOT_FOUND = "SCHEME_NOT_FOUND"
    # `period` is not a period key (2026-10, 2026-W43, 2026-Q4, 2026).
    BAD_PERIOD = "BAD_PERIOD"


class LiveError(DomainError[LiveErrorCode]):
    @classmethod
    def of(cls, code: LiveErrorCode, message: Message, field: str | None = None, **extra: Any) -> LiveError:
        return cls([Problem(code, message, field, **extra)])
