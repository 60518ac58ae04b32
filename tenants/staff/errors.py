"""Stable codes of per-item problems in master data batches (teams, staff, customers).

Merchant integrations branch on these codes, so they never change meaning; add new ones rather than reuse.
Batches do not raise: each refused item is answered as a `tenants.errors.Problem` with one of these codes, its
`index` in the batch, the input `field` (camelCase) and a message for people (an i18n template, rendered in the
reader's language at the edge; the Chinese catalogue is tenants/locale/zh_Hans/LC_MESSAGES/staff.po).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeAlias

from tenants.errors import Problem


class MasterDataErrorCode(StrEnum):
    # The whole batch is refused (reported once, at the index of the first item over the limit); nothing is stored.
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    # The same external code appears more than once in a batch: every copy is refused, since we cannot tell which
    # one the merchant meant.
    DUPLICATE_IN_BATCH = "DUPLICATE_IN_BATCH"
    INVALID_CODE = "INVALID_CODE"
    INVALID_NAME = "INVALID_NAME"
    INVALID_KIND = "INVALID_KIND"
    INVALID_ROLE = "INVALID_ROLE"
    # Text Postgres cannot store in any string of an item (a NUL character, an unpaired UTF-16 surrogate); `field`
    # names the input field. Reported instead of that field's own check.
    INVALID_TEXT = "INVALID_TEXT"
    # Not an ISO 8601 date (hiredOn, leftOn) or datetime (boundSince). Dates travel as strings so one bad value
    # refuses its item, not the whole request (a GraphQL scalar would fail the request before any item is looked at).
    INVALID_DATE_FORMAT = "INVALID_DATE_FORMAT"
    # left_on before hired_on.
    INVALID_DATES = "INVALID_DATES"
    # A datetime without a UTC offset: we will not guess the timezone of a binding.
    NAIVE_DATETIME = "NAIVE_DATETIME"
    # A UTC offset of 16 hours or more (Python reads up to 23:59, Postgres and real time zones stop below 16:00).
    INVALID_UTC_OFFSET = "INVALID_UTC_OFFSET"
    # A date or datetime outside the range events may occur in (1970-01-01 .. 2200-01-01 UTC, end excluded): year
    # 0001 or 9999 is a typo, and some such values cannot be stored at all.
    DATE_OUT_OF_RANGE = "DATE_OUT_OF_RANGE"
    # boundSince given for a customer without a guide.
    BOUND_WITHOUT_GUIDE = "BOUND_WITHOUT_GUIDE"
    UNKNOWN_PARENT = "UNKNOWN_PARENT"
    TEAM_CYCLE = "TEAM_CYCLE"
    UNKNOWN_TEAM = "UNKNOWN_TEAM"
    UNKNOWN_STAFF = "UNKNOWN_STAFF"


# One refused item of a batch: `index` is always set, `field` is the GraphQL input field (None for the whole item).
ItemProblem: TypeAlias = Problem[MasterDataErrorCode]
