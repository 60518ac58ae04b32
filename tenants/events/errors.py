"""Stable codes of the events domain: why an item of a batch was refused, or a whole request.

Merchant integrations branch on these codes, so they never change meaning; add new ones rather than reuse. A batch
does not raise: each refused item is an `ItemProblem` (a `tenants.errors.Problem` with its `index`, the contract
`field` as a camelCase path and an i18n message; Chinese catalogue: tenants/locale/zh_Hans/LC_MESSAGES/events.po).
A request refused whole (a batch over its limit) raises an `EventError`; nothing is stored or changed then.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeAlias

from tenants.errors import DomainError, Problem


class EventErrorCode(StrEnum):
    INVALID_JSON = "INVALID_JSON"
    MISSING_FIELD = "MISSING_FIELD"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    INVALID_VALUE = "INVALID_VALUE"
    INVALID_TYPE_NAME = "INVALID_TYPE_NAME"
    NAIVE_TIMESTAMP = "NAIVE_TIMESTAMP"
    INVALID_TIMESTAMP = "INVALID_TIMESTAMP"
    BAD_AMOUNT = "BAD_AMOUNT"
    BAD_VALUE = "BAD_VALUE"
    BAD_SHARE = "BAD_SHARE"
    SHARES_NOT_1 = "SHARES_NOT_1"
    CREDIT_TARGET = "CREDIT_TARGET"
    REFUND_WITHOUT_ORDER = "REFUND_WITHOUT_ORDER"
    REFUND_NOT_NEGATIVE = "REFUND_NOT_NEGATIVE"
    NEGATIVE_AMOUNT = "NEGATIVE_AMOUNT"
    NO_ATTRIBUTION = "NO_ATTRIBUTION"
    UNKNOWN_STAFF = "UNKNOWN_STAFF"
    UNKNOWN_CUSTOMER = "UNKNOWN_CUSTOMER"
    UNKNOWN_TEAM = "UNKNOWN_TEAM"
    UNKNOWN_ORDER = "UNKNOWN_ORDER"
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    LINE_TOO_LONG = "LINE_TOO_LONG"
    OFFSET_OUT_OF_RANGE = "OFFSET_OUT_OF_RANGE"
    OCCURRED_AT_OUT_OF_RANGE = "OCCURRED_AT_OUT_OF_RANGE"
    INVALID_UNICODE = "INVALID_UNICODE"
    NESTED_TOO_DEEP = "NESTED_TOO_DEEP"
    SHARE_TOO_PRECISE = "SHARE_TOO_PRECISE"
    VALUE_TOO_PRECISE = "VALUE_TOO_PRECISE"
    EXTERNAL_ID_CONFLICT = "EXTERNAL_ID_CONFLICT"


# One refused item of a batch: `index` is always set, `field` is the contract's path (None for the whole item).
ItemProblem: TypeAlias = Problem[EventErrorCode]


class EventError(DomainError[EventErrorCode]):
    """A request of the events domain refused whole (a batch over its limit); nothing is stored or changed."""
