"""The contract's common shape, checked without pydantic: the bulk path of ingestion.

Strings for codes, money and time, an object of attributes: `check_fast` accepts only items the contract's model
(`EventIn`) accepts, with the very same values (tests/events/test_contract_fast.py holds it to that), and answers None
for anything else, valid or not, which then goes through `EventIn` (checks.py). `check_fast_json` reads one JSON text
(an NDJSON line) and keeps the attributes' own JSON text when it can, so they are stored as sent without re-encoding.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from json.scanner import make_scanner
from typing import Any, TypeGuard

from tenants.events.contract import (
    CODE_MAX,
    MAX_OFFSET,
    SHARE_TOTAL,
    TYPE_PATTERN,
    CheckedCredit,
    CheckedEvent,
    attributes_problem,
    checked_event,
)
from tenants.text import is_storable_text

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
    if not is_storable_text(external_id) or not (
        (staff is None or is_storable_text(staff))
        and (customer is None or is_storable_text(customer))
        and (team is None or is_storable_text(team))
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
                or not is_storable_text(credit_staff or credit_team or "")
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


def read_as_graphql_does(line: bytes | str) -> dict[str, Any] | None:
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
