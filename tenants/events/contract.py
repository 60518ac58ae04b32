"""The event integration contract (DESIGN.md "Events"): one item's shape, checked on its own.

Everything that needs no database is checked here; codes that need the tenant's data (unknown staff, unknown order)
are checked by the ingestion service. Each problem maps to a stable code so integrators can act on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MAX_BATCH = 5_000
TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
CODE_MAX = 64
MONEY_LIMIT = Decimal("100000000000000")  # numeric(16,2)
SHARE_TOTAL = Decimal(1)


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


Code = Annotated[str, Field(min_length=1, max_length=CODE_MAX)]


class CreditIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    staff: Code | None = None
    team: Code | None = None
    share: Decimal

    @model_validator(mode="after")
    def _one_target(self) -> CreditIn:
        if (self.staff is None) == (self.team is None):
            raise ValueError("credit_target")
        if not (Decimal(0) < self.share <= SHARE_TOTAL):
            raise ValueError("bad_share")
        return self


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    external_id: str = Field(alias="externalId", min_length=1, max_length=128)
    type: str = Field(pattern=TYPE_PATTERN)
    occurred_at: AwareDatetime = Field(alias="occurredAt")
    staff: Code | None = None
    customer: Code | None = None
    team: Code | None = None
    amount: Decimal | None = None
    value: Decimal | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    credits: list[CreditIn] | None = None

    @field_validator("amount")
    @classmethod
    def _money(cls, amount: Decimal | None) -> Decimal | None:
        if amount is None:
            return None
        if not amount.is_finite() or abs(amount) >= MONEY_LIMIT or amount.as_tuple().exponent < -2:  # type: ignore[operator]
            raise ValueError("bad_amount")
        return amount

    @field_validator("value")
    @classmethod
    def _finite(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and (not value.is_finite() or abs(value) >= Decimal("1e14")):
            raise ValueError("bad_value")
        return value

    @property
    def is_refund(self) -> bool:
        return self.type == "refund"

    @property
    def order_external_id(self) -> str | None:
        order = self.attributes.get("order")
        return str(order) if isinstance(order, str | int) and str(order) else None


@dataclass(frozen=True)
class ItemProblem:
    index: int
    code: EventErrorCode
    message: str
    field: str | None = None


_VALUE_ERROR_CODES = {
    "credit_target": (EventErrorCode.CREDIT_TARGET, "A credit names exactly one of staff or team."),
    "bad_share": (EventErrorCode.BAD_SHARE, "A share is a number above 0 and at most 1."),
    "bad_amount": (EventErrorCode.BAD_AMOUNT, 'Amounts are decimal strings with at most 2 decimals, e.g. "1200.00".'),
    "bad_value": (EventErrorCode.BAD_VALUE, "value must be a finite number."),
}
_FIELD_NAMES = {"external_id": "externalId", "occurred_at": "occurredAt"}


def _path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + _FIELD_NAMES.get(part, part))
    return "".join(parts)


def problem_from_validation(index: int, error: ValidationError) -> ItemProblem:
    """The first problem of an item, as a stable code (pydantic's own wording never reaches integrators)."""
    first = error.errors(include_url=False)[0]
    kind, field, message = first["type"], _path(first["loc"]), str(first.get("msg", ""))
    if kind == "missing":
        return ItemProblem(index, EventErrorCode.MISSING_FIELD, f"{field} is required.", field)
    if kind == "extra_forbidden":
        return ItemProblem(index, EventErrorCode.UNKNOWN_FIELD, f"{field} is not part of the event contract.", field)
    if kind == "json_invalid":
        return ItemProblem(index, EventErrorCode.INVALID_JSON, "Not valid JSON.", None)
    if field == "occurredAt":
        if kind == "timezone_aware":
            return ItemProblem(
                index, EventErrorCode.NAIVE_TIMESTAMP, "occurredAt needs a timezone offset, e.g. +08:00.", field
            )
        return ItemProblem(index, EventErrorCode.INVALID_TIMESTAMP, "occurredAt is not an ISO 8601 timestamp.", field)
    if field == "type":
        return ItemProblem(
            index, EventErrorCode.INVALID_TYPE_NAME, "type is a lower-case identifier, e.g. order, refund.", field
        )
    for marker, (code, text) in _VALUE_ERROR_CODES.items():
        if marker in message:
            return ItemProblem(index, code, text, field)
    if field == "amount":
        return ItemProblem(index, EventErrorCode.BAD_AMOUNT, _VALUE_ERROR_CODES["bad_amount"][1], field)
    return ItemProblem(index, EventErrorCode.INVALID_VALUE, f"{field}: {message}", field or None)


def check_semantics(index: int, event: EventIn) -> ItemProblem | None:
    """Rules across fields that need no database."""
    if event.credits:
        total = sum((credit.share for credit in event.credits), Decimal(0))
        if total != SHARE_TOTAL:
            return ItemProblem(
                index, EventErrorCode.SHARES_NOT_1, f"Credit shares add up to {total}, not 1.", "credits"
            )
    if event.is_refund:
        if event.order_external_id is None:
            return ItemProblem(
                index,
                EventErrorCode.REFUND_WITHOUT_ORDER,
                "A refund names its order's externalId in attributes.order.",
                "attributes.order",
            )
        if event.amount is None or event.amount >= 0:
            return ItemProblem(index, EventErrorCode.REFUND_NOT_NEGATIVE, "A refund has a negative amount.", "amount")
    elif event.amount is not None and event.amount < 0:
        return ItemProblem(index, EventErrorCode.NEGATIVE_AMOUNT, "Only refunds have negative amounts.", "amount")
    return None


def occurred_utc(event: EventIn) -> datetime:
    return event.occurred_at
