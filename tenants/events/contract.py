"""The event integration contract (DESIGN.md "Events"): one item's shape, checked on its own.

Everything that needs no database is checked here; codes that need the tenant's data (unknown staff, unknown order)
are checked by the ingestion service. Each refused item is an `ItemProblem` (a `tenants.errors.Problem` with its
`index`): a stable `EventErrorCode` integrators act on, the contract `field` (camelCase path), and a message for people,
an i18n template rendered in the reader's language at the edge (Chinese catalogue:
tenants/locale/zh_Hans/LC_MESSAGES/events.po). pydantic's own wording reaches nobody except inside the rare catch-all
INVALID_VALUE message (as its `reason`). Messages are made only for refused items: accepted ones cost nothing more.

The pydantic model `EventIn` is the contract's reference check (`problem_from_validation` words its errors). Ingestion
runs at bulk rates, so the common shape (strings for codes, money and time, an object of attributes) is first checked by
`check_fast`, a plain-Python check that accepts only items `EventIn` accepts, with the very same values
(tests/events/test_contract_fast.py holds it to that); anything else, valid or not, goes through `EventIn`.

An item the contract accepts can always be stored: no single item may fail the batch it came in. So the shape also
refuses what Postgres cannot hold although Python can: offsets beyond +-15:59 (`timestamptz`), lone surrogates in any
text (UTF-8), NUL characters, NaN and Infinity (`jsonb`), shares and values with more decimals than their columns
keep (`numeric(9,6)`, `numeric(20,6)`: refused, never rounded, so an order's credits add up to exactly its amount),
and attributes nested deeper than MAX_ATTRIBUTES_DEPTH (checked without recursion). The range of `occurredAt` is a
deployment setting: `check_semantics` takes it, with EVENT_TIME_MIN and EVENT_TIME_MAX as defaults.

An externalId identifies one event: `sent_difference` says whether a resend sent other content (a conflict) or the
same content written another way (a duplicate); the ingestion service compares stored events the same way in SQL.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from json.scanner import make_scanner
from typing import Annotated, Any, NamedTuple, TypeAlias, TypeGuard

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from tenants.errors import DomainError, Problem
from tenants.i18n import Message, _

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


def _without_nul(text: str) -> str:
    # Postgres text cannot hold NUL: such an item is rejected alone instead of failing its whole batch.
    if "\x00" in text:
        raise ValueError("nul_character")
    return text


_LONE_SURROGATE = re.compile("[\ud800-\udfff]").search  # UTF-8 (and so Postgres text) cannot encode them


def has_lone_surrogate(text: str) -> bool:
    return not text.isascii() and _LONE_SURROGATE(text) is not None


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
    if not text.isascii() and _LONE_SURROGATE(text) is not None:
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


_VALUE_ERROR_CODES: dict[str, tuple[EventErrorCode, Message]] = {
    "credit_target": (EventErrorCode.CREDIT_TARGET, _("A credit names exactly one of staff or team.")),
    "bad_share": (EventErrorCode.BAD_SHARE, _("A share is a number above 0 and at most 1.")),
    "bad_amount": (
        EventErrorCode.BAD_AMOUNT,
        _('Amounts are decimal strings with at most 2 decimals, e.g. "1200.00".'),
    ),
    "bad_value": (
        EventErrorCode.BAD_VALUE,
        _("value must be a finite number with at most 14 digits before the decimal point."),
    ),
    "unstorable_attributes": (
        EventErrorCode.INVALID_VALUE,
        _("attributes may not contain NaN, Infinity or NUL characters."),
    ),
    "nul_character": (EventErrorCode.INVALID_VALUE, _("Text may not contain NUL characters.")),
    "offset_out_of_range": (
        EventErrorCode.OFFSET_OUT_OF_RANGE,
        _("occurredAt's offset must be between -15:59 and +15:59, e.g. +08:00."),
    ),
    "lone_surrogate": (
        EventErrorCode.INVALID_UNICODE,
        _("Text may not contain unpaired surrogates (U+D800 to U+DFFF)."),
    ),
    "nested_too_deep": (
        EventErrorCode.NESTED_TOO_DEEP,
        _("attributes may nest at most {depth} levels deep.", depth=MAX_ATTRIBUTES_DEPTH),
    ),
    "share_too_precise": (
        EventErrorCode.SHARE_TOO_PRECISE,
        _(
            "A share has at most {decimals} decimals, e.g. 0.333334 (shares are stored exactly, never rounded).",
            decimals=SHARE_DECIMALS,
        ),
    ),
    "value_too_precise": (
        EventErrorCode.VALUE_TOO_PRECISE,
        _("value has at most {decimals} decimals (values are stored exactly, never rounded).", decimals=VALUE_DECIMALS),
    ),
}
_TOO_DEEP_TO_READ = _(
    "The item nests too deep (attributes may nest at most {depth} levels).", depth=MAX_ATTRIBUTES_DEPTH
)
_NOT_JSON = _("Not valid JSON.")
_NAIVE_TIMESTAMP = _("occurredAt needs a timezone offset, e.g. +08:00.")
_NOT_A_TIMESTAMP = _("occurredAt is not an ISO 8601 timestamp.")
_BAD_TYPE_NAME = _("type is a lower-case identifier, e.g. order, refund.")
_NOT_AN_OBJECT = _("An event is a JSON object.")
_FIELD_NAMES = {"external_id": "externalId", "occurred_at": "occurredAt"}


def _printable(text: str) -> str:
    # A name echoed back (an unknown field) must be encodable in the answer, whatever the item held.
    return text.encode("utf-8", "backslashreplace").decode() if has_lone_surrogate(text) else text


def _path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + _FIELD_NAMES.get(part, _printable(part)))
    return "".join(parts)


def problem_from_validation(index: int, error: ValidationError) -> ItemProblem:
    """The first problem of an item, as a stable code and our own message."""
    first = error.errors(include_url=False)[0]
    kind, field = first["type"], _path(first["loc"])
    message = str(first.get("msg", ""))
    given = first.get("input")
    if kind == "string_unicode" or (isinstance(given, str) and has_lone_surrogate(given)):
        code, text = _VALUE_ERROR_CODES["lone_surrogate"]
        return Problem(code, text, field or None, index)
    if kind == "json_invalid" and "recursion limit exceeded" in message:
        # pydantic's JSON reader stops at 200 levels: deeper than attributes may nest anyway.
        return Problem(EventErrorCode.NESTED_TOO_DEEP, _TOO_DEEP_TO_READ, None, index)
    if kind == "missing":
        return Problem(EventErrorCode.MISSING_FIELD, _("{field} is required.", field=field), field, index)
    if kind == "extra_forbidden":
        return Problem(
            EventErrorCode.UNKNOWN_FIELD, _("{field} is not part of the event contract.", field=field), field, index
        )
    if kind == "json_invalid":
        return Problem(EventErrorCode.INVALID_JSON, _NOT_JSON, None, index)
    if field == "occurredAt":
        if "offset_out_of_range" in message:
            code, text = _VALUE_ERROR_CODES["offset_out_of_range"]
            return Problem(code, text, field, index)
        if kind == "timezone_aware":
            return Problem(EventErrorCode.NAIVE_TIMESTAMP, _NAIVE_TIMESTAMP, field, index)
        return Problem(EventErrorCode.INVALID_TIMESTAMP, _NOT_A_TIMESTAMP, field, index)
    if field == "type":
        return Problem(EventErrorCode.INVALID_TYPE_NAME, _BAD_TYPE_NAME, field, index)
    for marker, (code, text) in _VALUE_ERROR_CODES.items():
        if marker in message:
            return Problem(code, text, field, index)
    if field == "amount":
        return Problem(EventErrorCode.BAD_AMOUNT, _VALUE_ERROR_CODES["bad_amount"][1], field, index)
    return Problem(EventErrorCode.INVALID_VALUE, _shape_message(kind, field, first), field or None, index)


def _shape_message(kind: str, field: str, error: ErrorDetails) -> Message:
    """What is wrong with a value of the wrong shape (INVALID_VALUE), in our words."""
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return _("{field} must be a JSON object.", field=field) if field else _NOT_AN_OBJECT
    if kind == "string_type":
        return _("{field} must be a string.", field=field)
    if kind == "string_too_short":
        return _("{field} may not be empty.", field=field)
    if kind == "string_too_long":
        return _("{field} has at most {max_length} characters.", field=field, max_length=error["ctx"]["max_length"])
    if kind == "list_type":
        return _("{field} must be a list.", field=field)
    if kind == "finite_number":
        return _("{field} must be a finite number.", field=field)
    if kind.startswith("decimal_"):
        return _('{field} must be a decimal string, e.g. "0.5".', field=field)
    # Anything else (a shape the contract's model refuses in a way not foreseen here): pydantic's reason, as is.
    reason = str(error.get("msg", kind))
    if not field:
        return _("The item is not valid ({reason}).", reason=reason)
    return _("{field} is not valid ({reason}).", field=field, reason=reason)


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


_EVENT_KEYS = frozenset(
    {"externalId", "type", "occurredAt", "staff", "customer", "team", "amount", "value", "attributes", "credits"}
)
_CREDIT_KEYS = frozenset({"staff", "team", "share"})
_TYPE_NAME = re.compile(TYPE_PATTERN[1:-1]).fullmatch
# RFC 3339 with an offset: a subset of what pydantic reads, read by datetime.fromisoformat and Postgres alike.
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
_MONEY = re.compile(r"-?[0-9]{1,14}(?:\.[0-9]{1,2})?").fullmatch  # |amount| < MONEY_LIMIT, at most 2 decimals
_NUMBER = re.compile(r"-?[0-9]{1,14}(?:\.[0-9]{1,6})?").fullmatch  # |value| < VALUE_LIMIT, VALUE_DECIMALS at most
_SHARE = re.compile(r"[0-9](?:\.[0-9]{1,6})?").fullmatch  # SHARE_DECIMALS at most
_ZERO = Decimal(0)


_KNOWN_TYPES: set[str] = set()  # type names seen valid (a tenant has a handful): no regex for them


def _storable_text(text: str) -> bool:
    return "\x00" not in text and (text.isascii() or _LONE_SURROGATE(text) is None)


def _code(value: object) -> bool:
    return value is None or (type(value) is str and 0 < len(value) <= CODE_MAX)


def _type_name(kind: object) -> TypeGuard[str]:
    if type(kind) is not str:
        return False
    if kind in _KNOWN_TYPES:
        return True
    if _TYPE_NAME(kind) is None:
        return False
    if len(_KNOWN_TYPES) < 1_000:
        _KNOWN_TYPES.add(kind)
    return True


def check_fast(raw: dict[str, Any], attributes_json: str | None = None) -> CheckedEvent | None:
    """The common shape, checked without pydantic; None when the item needs `EventIn` (valid or not).

    `attributes_json`: the JSON text `raw["attributes"]` was read from, kept as the stored attributes.
    """
    if not raw.keys() <= _EVENT_KEYS:
        return None
    get = raw.get
    external_id = get("externalId")
    kind = get("type")
    occurred = get("occurredAt")
    if (
        type(external_id) is not str
        or not 0 < len(external_id) <= 128
        or not _type_name(kind)
        or type(occurred) is not str
        or _TIMESTAMP.fullmatch(occurred) is None
    ):
        return None
    try:
        occurred_at = datetime.fromisoformat(occurred)
    except ValueError:
        return None
    offset = occurred_at.utcoffset()
    if offset is not None and (offset > MAX_OFFSET or offset < -MAX_OFFSET):
        return None
    staff = get("staff")
    customer = get("customer")
    team = get("team")
    if not (
        (staff is None or (type(staff) is str and 0 < len(staff) <= CODE_MAX))
        and (customer is None or (type(customer) is str and 0 < len(customer) <= CODE_MAX))
        and (team is None or (type(team) is str and 0 < len(team) <= CODE_MAX))
    ):
        return None
    amount_text = get("amount")
    amount: Decimal | None = None
    if amount_text is not None:
        if type(amount_text) is not str or _MONEY(amount_text) is None:
            return None
        amount = Decimal(amount_text)
    value_text = get("value")
    value: Decimal | None = None
    if value_text is not None:
        if type(value_text) is not str or _NUMBER(value_text) is None:
            return None
        value = Decimal(value_text)
    attributes = get("attributes")
    if attributes is None:
        if "attributes" in raw:
            return None
        attributes = {}
    elif type(attributes) is not dict or (attributes and attributes_problem(attributes) is not None):
        return None
    if not _storable_text(external_id) or not (
        (staff is None or _storable_text(staff))
        and (customer is None or _storable_text(customer))
        and (team is None or _storable_text(team))
    ):
        return None
    credits_raw = get("credits")
    credits: tuple[CheckedCredit, ...] | None = None
    if credits_raw is not None:
        if type(credits_raw) is not list:
            return None
        credit_list = []
        for credit in credits_raw:
            if type(credit) is not dict or not credit.keys() <= _CREDIT_KEYS:
                return None
            credit_staff = credit.get("staff")
            credit_team = credit.get("team")
            share_text = credit.get("share")
            if (
                not (_code(credit_staff) and _code(credit_team))
                or (credit_staff is None) == (credit_team is None)
                or not _storable_text(credit_staff or credit_team or "")
                or type(share_text) is not str
                or _SHARE(share_text) is None
            ):
                return None
            share = Decimal(share_text)
            if not _ZERO < share <= SHARE_TOTAL:
                return None
            credit_list.append(CheckedCredit(credit_staff, credit_team, share))
        credits = tuple(credit_list)
    return checked_event(
        external_id,
        kind,
        occurred_at,
        occurred,
        staff,
        customer,
        team,
        amount,
        amount_text,
        value,
        value_text,
        attributes,
        attributes_json,
        credits,
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Postgres refuses NaN and Infinity in jsonb: pydantic's path decides


_scan_json = make_scanner(json.JSONDecoder(parse_constant=_no_constant))  # type: ignore[arg-type]  # the C scanner: (text, index) -> (value, end)
_scan_python_json = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # as json.loads reads GraphQL variables
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]").search
_JSON_WHITESPACE = " \t\r\n"
_COLON = re.compile(r"[ \t\r\n]*:[ \t\r\n]*")
_SAFE_DEPTH = 128  # pydantic refuses JSON nested 200 deep, Python's json does not: deeper-looking texts take its path


def check_fast_json(line: bytes | str) -> CheckedEvent | None:
    """`check_fast` of one JSON text; None when pydantic must read it (it also words JSON errors)."""
    try:
        text = line.decode() if isinstance(line, bytes) else line
    except UnicodeDecodeError:
        return None
    escapes = "\\u" in text
    if (escapes and _SURROGATE_ESCAPE(text)) or (
        len(text) > 2 * _SAFE_DEPTH and text.count("{") + text.count("[") > _SAFE_DEPTH
    ):
        return None  # pydantic refuses lone surrogates and deep nesting; Python's json would not
    try:
        raw, end = _scan_json(text, 0)
    except (StopIteration, ValueError, RecursionError):
        return None
    if (end != len(text) and text[end:].strip(_JSON_WHITESPACE)) or type(raw) is not dict:
        return None
    attributes_json = None
    if raw.get("attributes") and not escapes and text.count('"attributes"') == 1:
        # With no \u escape, the top-level key is written as is, and once: its value's own text is kept as sent.
        colon = _COLON.match(text, text.find('"attributes"') + 12)
        if colon is not None:
            start = colon.end()
            attributes_json = text[start : _scan_json(text, start)[1]]
    return check_fast(raw, attributes_json)


def _read_as_graphql_does(line: bytes | str) -> dict[str, Any] | None:
    """The object of a JSON text as Python's json reads it (GraphQL variables are read so); None if it is none.

    pydantic's JSON reader refuses lone surrogate escapes ("\\ud800") and nesting beyond 200 levels as invalid
    JSON; read as GraphQL reads them, such items get the codes the same item gets through GraphQL.
    """
    try:
        text = line.decode() if isinstance(line, bytes) else line
        raw, end = _scan_python_json(text, 0)
    except (UnicodeDecodeError, StopIteration, ValueError, RecursionError):
        return None
    if (end != len(text) and text[end:].strip(_JSON_WHITESPACE)) or type(raw) is not dict:
        return None
    return raw


def check_item(raw: Mapping[str, Any] | bytes | str) -> CheckedEvent | ValidationError:
    """One item's shape: the fast check, else the contract's model (JSON text, or a mapping as from GraphQL)."""
    if isinstance(raw, bytes | str):
        checked = check_fast_json(raw)
        if checked is not None:
            return checked
        try:
            return CheckedEvent.of(EventIn.model_validate_json(raw))
        except ValidationError as error:
            # Unreadable JSON is the only error pydantic reports then (error_count is cheap, errors() is not).
            if error.error_count() == 1 and error.errors(include_url=False)[0]["type"] == "json_invalid":
                mapping = _read_as_graphql_does(raw)
                if mapping is not None:
                    return check_item(mapping)
            return error
    if type(raw) is dict:
        checked = check_fast(raw)
        if checked is not None:
            return checked
    try:
        return CheckedEvent.of(EventIn.model_validate(raw))
    except ValidationError as error:
        return error


def check_semantics(
    index: int,
    event: CheckedEvent,
    *,
    event_time_min: datetime = EVENT_TIME_MIN,
    event_time_max: datetime = EVENT_TIME_MAX,
) -> ItemProblem | None:
    """Rules across fields that need no database; `occurredAt` must fall in [event_time_min, event_time_max)."""
    if not event_time_min <= event.occurred_at < event_time_max:
        # Year 0001 or 9999 is a mistake, and Postgres cannot even read some of them back in UTC.
        return Problem(
            EventErrorCode.OCCURRED_AT_OUT_OF_RANGE,
            _(
                "occurredAt must be at or after {earliest} and before {latest}.",
                earliest=event_time_min.isoformat(),
                latest=event_time_max.isoformat(),
            ),
            "occurredAt",
            index,
        )
    if event.credits:
        total = sum((credit.share for credit in event.credits), Decimal(0))
        if total != SHARE_TOTAL:
            return Problem(
                EventErrorCode.SHARES_NOT_1, _("Credit shares add up to {total}, not 1.", total=total), "credits", index
            )
    if event.is_refund:
        if event.order_external_id is None:
            return Problem(EventErrorCode.REFUND_WITHOUT_ORDER, _REFUND_WITHOUT_ORDER, "attributes.order", index)
        if event.amount is None or event.amount >= 0:
            return Problem(EventErrorCode.REFUND_NOT_NEGATIVE, _REFUND_NOT_NEGATIVE, "amount", index)
    elif event.amount is not None and event.amount < 0:
        return Problem(EventErrorCode.NEGATIVE_AMOUNT, _NEGATIVE_AMOUNT, "amount", index)
    return None


_REFUND_WITHOUT_ORDER = _("A refund names its order's externalId in attributes.order.")
_REFUND_NOT_NEGATIVE = _("A refund has a negative amount.")
_NEGATIVE_AMOUNT = _("Only refunds have negative amounts.")


def _same_json(first: Any, second: Any) -> bool:
    """Equal as jsonb compares: numbers by value (1 and 1.0 alike), but true is not 1; depth is bounded (checked)."""
    if isinstance(first, bool) or isinstance(second, bool) or first is None or second is None:
        return type(first) is type(second) and first == second
    if isinstance(first, int | float) and isinstance(second, int | float):
        return first == second
    if isinstance(first, dict):
        return (
            isinstance(second, dict)
            and first.keys() == second.keys()
            and all(_same_json(value, second[key]) for key, value in first.items())
        )
    if isinstance(first, list | tuple):
        return (
            isinstance(second, list | tuple)
            and len(first) == len(second)
            and all(_same_json(a, b) for a, b in zip(first, second, strict=True))
        )
    return type(first) is type(second) and bool(first == second)


def _sent_credits(event: CheckedEvent) -> list[tuple[str, str, Decimal]]:
    # A set: the same credits in another order are the same credits.
    return sorted((credit.staff or "", credit.team or "", credit.share) for credit in event.credits or ())


def sent_difference(first: CheckedEvent, resent: CheckedEvent) -> str | None:
    """The first field (its contract name) in which a resend of an externalId differs from what was sent first.

    What was sent counts, not how it was written: the same instant at another offset, 7.5 and 7.50, attributes in
    another key order are the same content. An empty credit list is no credits (both leave them to the rules).
    """
    if first.type != resent.type:
        return "type"
    if first.occurred_at != resent.occurred_at:
        return "occurredAt"
    for name in ("staff", "customer", "team", "amount", "value"):
        if getattr(first, name) != getattr(resent, name):
            return name
    if not _same_json(first.attributes, resent.attributes):
        return "attributes"
    if _sent_credits(first) != _sent_credits(resent):
        return "credits"
    return None


def conflict_problem(index: int, external_id: str, difference: str) -> ItemProblem:
    return Problem(
        EventErrorCode.EXTERNAL_ID_CONFLICT,
        _(
            "externalId {external_id} was already sent with a different {difference}: a resend must repeat the "
            "event unchanged (a new event needs a new externalId).",
            external_id=repr(external_id),  # quoted, control characters escaped
            difference=difference,
        ),
        difference,
        index,
    )


def occurred_utc(event: EventIn | CheckedEvent) -> datetime:
    return event.occurred_at
