"""Expected failures of the scorecards reads, in the one error model (tenants/errors.py).

Codes are a public contract (clients branch on them): never renamed, new ones added. Something that is not there, or
not the caller's to read (another tenant's, another staff member's, outside a manager's teams), is no error at all: the
read answers null (not found), never "forbidden".
"""

from __future__ import annotations

from enum import StrEnum

from tenants.errors import DomainError


class ScorecardErrorCode(StrEnum):
    # `after` is not a cursor this listing gave out, or it was made for another order.
    BAD_CURSOR = "BAD_CURSOR"
    # `first` / `last` below 1 (above the maximum is clamped to it).
    BAD_PAGE_SIZE = "BAD_PAGE_SIZE"


class ScorecardError(DomainError[ScorecardErrorCode]):
    """A refused read; nothing is read or changed."""
