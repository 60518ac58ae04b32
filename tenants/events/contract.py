"""The event integration contract (DESIGN.md "Events"): one item's shape, and the checked item ingestion stores.

The pydantic model `EventIn` is the contract's reference check (problems.py words its errors); ingestion runs at bulk
rates, so the common shape is first checked by fast.py, which accepts only items `EventIn` accepts, with the very same
values; checks.py runs one then the other and adds the rules across fields. Either way an item that passes becomes a
`CheckedEvent`, a tuple of plain values that the ingestion service turns into a COPY row.

An item the contract accepts can always be stored: no single item may fail the batch it came in. So the shape also
refuses what Postgres cannot hold although Python can: offsets beyond +-15:59 (`timestamptz`), lone surrogates in any
text (UTF-8), NUL characters, NaN and Infinity (`jsonb`), shares and values with more decimals than their columns
keep (`numeric(9,6)`, `numeric(20,6)`: refused, never rounded, so an order's credits add up to exactly its amount),
and attributes nested deeper than MAX_ATTRIBUTES_DEPTH (checked without recursion). The range of `occurredAt` is a
deployment setting: `check_semantics` (checks.py) takes it, with EVENT_TIME_MIN and EVENT_TIME_MAX as defaults.
Validators refuse with a marker (e.g. "bad_share") that problems.py turns into a code and a message.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, NamedTuple

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from tenants.text import has_lone_surrogate

MAX_BATCH = 5_000
TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
CODE_MAX = 64
MONEY_LIMIT = Decimal("100000000000000")  # numeric(16,2)
VALUE_LIMIT = Decimal("100000000000000")  # numeric(20,6)
SHARE_DECIMALS = 6  # numeric(9,6)
VALUE_DECIMALS = 6  # numeric(20,6)
SHARE_TOTAL = Decimal(1)
# Postgres reads offsets up to 15:59 (Python and pydantic up to 23:59).
MAX_OFFSET = timedelta(hours=15, minutes=59)
MAX_ATTRIBUTES_DEPTH = 64  # the attributes object itself is level 1
# The defaults of server.settings' event_time_min / event_time_max (tenants/ does not read the settings).
EVENT_TIME_MIN = datetime(1970, 1, 1, tzinfo=UTC)
EVENT_TIME_MAX = datetime(2200, 1, 1, tzinfo=UTC)


def _without_nul(text: str) -> str:
    # Postgres text cannot hold NUL: such an item is rejected alone instead of failing its whole batch.
    if "\x00" in text:
        raise ValueError("nul_character")
    return text


def _storable_offset(moment: datetime) -> datetime:
    offset = moment.utcoffset()
    if offset is not None and abs(offset) > MAX_OFFSET:
        raise ValueError("offset_out_of_range")
    return moment


Code = Annotated[str, Field(min_length=1, max_length=CODE_MAX), AfterValidator(_without_nul)]


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
        if self.share.as_tuple().exponent < -SHARE_DECIMALS:  # type: ignore[operator]  # finite: checked above
            raise ValueError("share_too_precise")
        return self


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    external_id: str = Field(alias="externalId", min_length=1, max_length=128)
    type: str = Field(pattern=TYPE_PATTERN)
    occurred_at: Annotated[AwareDatetime, AfterValidator(_storable_offset)] = Field(alias="occurredAt")
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
        if value is not None:
            if not value.is_finite() or abs(value) >= VALUE_LIMIT:
                raise ValueError("bad_value")
            if value.as_tuple().exponent < -VALUE_DECIMALS:  # type: ignore[operator]  # finite: checked above
                raise ValueError("value_too_precise")
        return value

    @field_validator("attributes")
    @classmethod
    def _storable(cls, attributes: dict[str, Any]) -> dict[str, Any]:
        # What Postgres jsonb cannot hold must reject this item alone, not fail the batch it came in.
        problem = attributes_problem(attributes)
        if problem is not None:
            raise ValueError(problem)
        return attributes

    @field_validator("external_id")
    @classmethod
    def _no_nul(cls, text: str) -> str:
        return _without_nul(text)

    # Other strings: pydantic's own str validation refuses lone surrogates ("string_unicode").

    @property
    def is_refund(self) -> bool:
        return self.type == "refund"

    @property
    def order_external_id(self) -> str | None:
        return _order_reference(self.attributes)


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "unstorable_attributes"
    if not text.isascii() and has_lone_surrogate(text):  # ASCII text (the common case) is storable without a call
        return "lone_surrogate"
    return None


def attributes_problem(attributes: dict[str, Any]) -> str | None:
    """Why Postgres jsonb (or UTF-8) cannot hold these attributes, as a marker of _VALUE_ERROR_CODES; None: it can.

    A loop over an explicit stack, not recursion: nesting is bounded here, whatever depth the JSON reader allowed.
    """
    pending: list[tuple[Any, int]] = [(attributes, 1)]
    while pending:
        container, depth = pending.pop()
        if isinstance(container, dict):
            for key in container:
                if isinstance(key, str) and (problem := _text_problem(key)) is not None:
                    return problem
            items: Any = container.values()
        else:
            items = container
        for item in items:
            if isinstance(item, str):
                if (problem := _text_problem(item)) is not None:
                    return problem
            elif isinstance(item, float):
                if not math.isfinite(item):
                    return "unstorable_attributes"
            elif isinstance(item, dict | list | tuple):
                if depth >= MAX_ATTRIBUTES_DEPTH:
                    return "nested_too_deep"
                pending.append((item, depth + 1))
    return None


class CheckedCredit(NamedTuple):
    staff: str | None
    team: str | None
    share: Decimal


class CheckedEvent(NamedTuple):
    """One item whose shape is valid, as the ingestion service stores it (build it with `checked_event`).

    `occurred_text`, `amount_text` and `value_text` are texts Postgres reads as exactly `occurred_at`, `amount` and
    `value` (the item's own strings when they came in the common shape), so rows can be sent as COPY text.
    A tuple of plain values, which the garbage collector stops tracking: a bulk import holds many thousands.
    """

    external_id: str
    type: str
    occurred_at: datetime
    occurred_text: str
    staff: str | None
    customer: str | None
    team: str | None
    amount: Decimal | None
    amount_text: str | None
    value: Decimal | None
    value_text: str | None
    attributes_value: dict[str, Any] | None  # None when only the JSON text is kept
    attributes_json: str | None  # the item's own JSON text of its attributes, when it came as JSON
    credits: tuple[CheckedCredit, ...] | None
    is_refund: bool
    order_external_id: str | None  # a refund's order (attributes.order, an externalId); None for other types

    @property
    def attributes(self) -> dict[str, Any]:
        if self.attributes_value is not None:
            return self.attributes_value
        return json.loads(self.attributes_json) if self.attributes_json else {}

    @classmethod
    def of(cls, event: EventIn) -> CheckedEvent:
        credits = event.credits
        return checked_event(
            event.external_id,
            event.type,
            event.occurred_at,
            event.occurred_at.isoformat(),
            event.staff,
            event.customer,
            event.team,
            event.amount,
            None if event.amount is None else str(event.amount),
            event.value,
            None if event.value is None else str(event.value),
            event.attributes,
            None,
            None if credits is None else tuple(CheckedCredit(c.staff, c.team, c.share) for c in credits),
        )


def checked_event(
    external_id: str,
    type: str,
    occurred_at: datetime,
    occurred_text: str,
    staff: str | None,
    customer: str | None,
    team: str | None,
    amount: Decimal | None,
    amount_text: str | None,
    value: Decimal | None,
    value_text: str | None,
    attributes: dict[str, Any],
    attributes_json: str | None,
    credits: tuple[CheckedCredit, ...] | None,
) -> CheckedEvent:
    is_refund = type == "refund"
    return tuple.__new__(  # CheckedEvent(...) without its Python-level __new__: this runs for every item
        CheckedEvent,
        (
            external_id,
            type,
            occurred_at,
            occurred_text,
            staff,
            customer,
            team,
            amount,
            amount_text,
            value,
            value_text,
            None if attributes_json is not None else attributes,
            attributes_json,
            credits,
            is_refund,
            _order_reference(attributes) if is_refund else None,
        ),
    )


def _order_reference(attributes: dict[str, Any]) -> str | None:
    order = attributes.get("order")
    return str(order) if isinstance(order, str | int) and str(order) else None


def restore_event(values: tuple[Any, ...]) -> CheckedEvent:
    """The CheckedEvent a batch kept as a plain tuple (see tenants/events/batch.py)."""
    return tuple.__new__(CheckedEvent, values)
