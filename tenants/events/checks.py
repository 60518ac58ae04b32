"""Checks of one item that need no database: its shape, the rules across its fields, and what a resend changed.

`check_item` runs the fast check (fast.py) and falls back to the contract's model (contract.py), whose errors
problems.py words. Codes that need the tenant's data (unknown staff, unknown order) are checked by the ingestion
service.

An externalId identifies one event: `sent_difference` says whether a resend sent other content (a conflict) or the
same content written another way (a duplicate); the ingestion service compares stored events the same way in SQL
(repository.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from tenants.errors import Problem
from tenants.events.contract import EVENT_TIME_MAX, EVENT_TIME_MIN, SHARE_TOTAL, CheckedEvent, EventIn
from tenants.events.errors import EventErrorCode, ItemProblem
from tenants.events.fast import check_fast, check_fast_json, read_as_graphql_does
from tenants.i18n import _


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
                mapping = read_as_graphql_does(raw)
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
