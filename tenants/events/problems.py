"""Refused items in our words: a pydantic `ValidationError` of the contract's model becomes one `ItemProblem`.

A stable `EventErrorCode` integrators act on, the contract `field` (camelCase path) and a message for people, an i18n
template rendered in the reader's language at the edge. pydantic's own wording reaches nobody except inside the rare
catch-all INVALID_VALUE message (as its `reason`). The contract's validators refuse with markers (keys of
_VALUE_ERROR_CODES). Messages are made only for refused items: accepted ones cost nothing more.
"""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from tenants.errors import Problem
from tenants.events.contract import MAX_ATTRIBUTES_DEPTH, SHARE_DECIMALS, VALUE_DECIMALS
from tenants.events.errors import EventErrorCode, ItemProblem
from tenants.i18n import Message, _
from tenants.text import has_lone_surrogate

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
