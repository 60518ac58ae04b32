"""GraphQL types of the events domain, and their converters from domain values.

Refused items of recordEvents are `EventItemError`s: the `Problem` interface (field, a message in the reader's
language) with the item's `index` and a `code` from the `EventErrorCode` enum (never a free string). `EventInput` is
handed to the domain in the JSON contract's shape (`as_contract`), so GraphQL and the NDJSON import run the very same
checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types.arguments import InputContext
from strawberry.types.base import get_object_definition

from schema.common import JSON
from schema.errors import ProblemInterface, problem_fields
from tenants.events.batch import IngestResult
from tenants.events.confirmation import ConfirmResult
from tenants.events.errors import EventErrorCode, ItemProblem
from tenants.events.listing import EventListing, EventRecord, EventStatus

strawberry.enum(
    EventErrorCode,
    name="EventErrorCode",
    description="Why an event was refused (an item of recordEvents or of POST /import/events); stable, never renamed.",
)


strawberry.enum(
    EventStatus,
    name="EventStatus",
    description="Whether an event counts: COUNTED, or PENDING (a large order or its refund awaiting confirmation).",
)


@strawberry.input(description="One business event; strings for time and money so each item is checked on its own.")
class CreditInput:
    staff: str | None = None
    team: str | None = None
    share: str


@strawberry.input
class EventInput:
    external_id: str
    type: str
    occurred_at: str = strawberry.field(description="ISO 8601 with an offset, e.g. 2026-10-05T10:00:00+08:00")
    staff: str | None = None
    customer: str | None = None
    team: str | None = None
    amount: str | None = strawberry.field(default=None, description='Decimal string, e.g. "1200.00"')
    value: str | None = None
    attributes: JSON | None = None
    credits: list[CreditInput] | None = None


def as_contract(event: EventInput) -> dict[str, Any]:
    """The GraphQL input in the JSON contract's shape, so both entry points run the very same checks."""
    raw: dict[str, Any] = {"externalId": event.external_id, "type": event.type, "occurredAt": event.occurred_at}
    for name in ("staff", "customer", "team", "amount", "value", "attributes"):
        value = getattr(event, name)
        if value is not None:
            raw[name] = value
    if event.credits is not None:
        raw["credits"] = [
            {k: v for k, v in (("staff", c.staff), ("team", c.team), ("share", c.share)) if v is not None}
            for c in event.credits
        ]
    return raw


def _event_input(cls: type, value: Mapping[str, Any], context: InputContext) -> EventInput:
    """Builds an EventInput from its coerced GraphQL value (keyed by GraphQL names).

    The same result as Strawberry's generic conversion, which walks every field of every item through the type
    machinery and costs more than the whole ingestion of the item: recordEvents takes thousands of them per call.
    """
    get = value.get
    credits = get("credits")
    return EventInput(
        external_id=value["externalId"],
        type=value["type"],
        occurred_at=value["occurredAt"],
        staff=get("staff"),
        customer=get("customer"),
        team=get("team"),
        amount=get("amount"),
        value=get("value"),
        attributes=get("attributes"),
        credits=None
        if credits is None
        else [CreditInput(staff=c.get("staff"), team=c.get("team"), share=c["share"]) for c in credits],
    )


get_object_definition(EventInput, strict=True).from_input = _event_input


@strawberry.type
class DuplicateEvent:
    index: int
    external_id: str


@strawberry.type(
    name="EventItemError",
    description="A refused event of a batch; the other events are unaffected.",
)
class EventItemError(ProblemInterface):
    index: int = strawberry.field(description="The event's position in the batch (0-based).")
    code: EventErrorCode

    @classmethod
    def of(cls, problem: ItemProblem) -> EventItemError:
        if problem.index is None:  # ingestion indexes every problem of a batch
            raise ValueError(f"an event problem without an index: {problem.code}")
        return cls(index=problem.index, code=problem.code, **problem_fields(problem))


@strawberry.type
class RecordEventsResult:
    accepted: int
    duplicates: list[DuplicateEvent]
    rejected: list[EventItemError]
    customers_created: int = strawberry.field(
        default=0,
        description=(
            "Customers created because an event named an unknown customer code (empty name, marked as created from "
            "an event), unless the tenant's attribution rules turn that off (create_unknown_customers)."
        ),
    )

    @classmethod
    def of(cls, result: IngestResult) -> RecordEventsResult:
        return cls(
            accepted=result.accepted,
            duplicates=[DuplicateEvent(index=d.index, external_id=d.external_id) for d in result.duplicates],
            rejected=[EventItemError.of(problem) for problem in result.rejected],
            customers_created=result.customers_created,
        )


@strawberry.type(description="A stored business event, with the merchant's codes.")
class Event:
    id: strawberry.ID = strawberry.field(description="Our id of the event.")
    external_id: str = strawberry.field(description="The merchant's id of the event, unique in the tenant.")
    type: str = strawberry.field(description="order, refund, customer_added, follow_up_missed, complaint, ...")
    occurred_at: datetime = strawberry.field(description="When it happened, with the tenant's UTC offset.")
    received_at: datetime = strawberry.field(description="When we stored it, with the tenant's UTC offset.")
    staff_code: str | None = strawberry.field(description="The actor's staff code.")
    customer_code: str | None = strawberry.field(description="The customer's code.")
    team_code: str | None = strawberry.field(description="The team code the event named.")
    amount: Decimal | None = strawberry.field(description="Money, as a decimal string (refunds negative).")
    value: Decimal | None = strawberry.field(description="A measured value, as a decimal string.")
    attributes: JSON = strawberry.field(description="The merchant's attributes, as sent.")
    status: str = strawberry.field(
        description="counted, or pending (a large order, or its refund, waiting for a manager's confirmation)."
    )

    @classmethod
    def of(cls, event: EventRecord) -> Event:
        return cls(
            id=strawberry.ID(str(event.id)),
            external_id=event.external_id,
            type=event.type,
            occurred_at=event.occurred_at,
            received_at=event.received_at,
            staff_code=event.staff_code,
            customer_code=event.customer_code,
            team_code=event.team_code,
            amount=event.amount,
            value=event.value,
            attributes=JSON(event.attributes),
            status=event.status,
        )


@strawberry.type(name="EventPage", description="One page of events, oldest first (ties by id).")
class EventPage:
    items: list[Event] = strawberry.field(description="The events of the page.")
    total: int = strawberry.field(
        description="How many events match the filters (in your scope); counted only when this field is asked for."
    )
    limit: int = strawberry.field(description="The page size used (capped by the deployment's maximum).")
    offset: int = strawberry.field(description="How many matching events come before this page.")

    @classmethod
    def of(cls, listing: EventListing) -> EventPage:
        return cls(
            items=[Event.of(event) for event in listing.items],
            total=listing.total if listing.total is not None else 0,
            limit=listing.limit,
            offset=listing.offset,
        )


@strawberry.type
class LargeOrdersConfirmed:
    confirmed: list[str]
    not_pending: list[str] = strawberry.field(description="Unknown ids and orders that were not waiting.")

    @classmethod
    def of(cls, result: ConfirmResult) -> LargeOrdersConfirmed:
        return cls(confirmed=result.confirmed, not_pending=result.not_pending)
