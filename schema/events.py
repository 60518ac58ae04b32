"""GraphQL for events: recordEvents (the integration contract) and a paginated events query.

Refused items of recordEvents are `EventItemError`s: the `Problem` interface (field, a message in the reader's
language) with the item's `index` and a `code` from the `EventErrorCode` enum (never a free string). A batch over
MAX_BATCH items is refused whole: an EventError, answered as a GraphQL error with `extensions.code` TOO_MANY_ITEMS and a
message in the reader's language. `occurredAt` must fall in the deployment's range (settings.event_time_min/max).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types.arguments import InputContext
from strawberry.types.base import get_object_definition

from schema.common import JSON, page_args
from schema.context import Info
from schema.errors import ProblemInterface, problem_fields
from schema.permissions import tenant_access
from tenants.events import queries
from tenants.events.contract import MAX_BATCH, EventError, EventErrorCode, ItemProblem
from tenants.events.service import IngestResult, ingest
from tenants.i18n import _
from tenants.tenancy.auth import Role, Scope

strawberry.enum(
    EventErrorCode,
    name="EventErrorCode",
    description="Why an event was refused (an item of recordEvents or of POST /import/events); stable, never renamed.",
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

    @classmethod
    def of(cls, result: IngestResult) -> RecordEventsResult:
        return cls(
            accepted=result.accepted,
            duplicates=[DuplicateEvent(index=d.index, external_id=d.external_id) for d in result.duplicates],
            rejected=[EventItemError.of(problem) for problem in result.rejected],
        )


def _as_contract(event: EventInput) -> dict[str, Any]:
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
class Event:
    id: strawberry.ID
    external_id: str
    type: str
    occurred_at: datetime
    received_at: datetime
    staff_code: str | None
    customer_code: str | None
    team_code: str | None
    amount: Decimal | None
    value: Decimal | None
    attributes: JSON
    status: str


@strawberry.type
class EventPage:
    items: list[Event]
    total: int
    limit: int
    offset: int


@strawberry.type
class EventsQuery:
    @strawberry.field(extensions=tenant_access(Role.MANAGER, Scope.EVENTS_READ))
    async def events(
        self,
        info: Info,
        type: str | None = None,
        staff: str | None = None,
        occurred_from: datetime | None = None,
        occurred_to: datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> EventPage:
        page = page_args(info, limit, offset)
        found = await queries.list_events(
            info.context.tenant_id,
            queries.EventFilter(type=type, staff_code=staff, occurred_from=occurred_from, occurred_to=occurred_to),
            page.limit,
            page.offset,
        )
        return EventPage(
            items=[Event(**{**row, "id": strawberry.ID(str(row["id"]))}) for row in found.rows],
            total=found.total,
            limit=page.limit,
            offset=page.offset,
        )


@strawberry.type
class EventsMutation:
    @strawberry.mutation(extensions=tenant_access(Role.ADMIN, Scope.EVENTS_WRITE))
    async def record_events(self, info: Info, events: list[EventInput]) -> RecordEventsResult:
        if len(events) > MAX_BATCH:
            raise EventError.of(
                EventErrorCode.TOO_MANY_ITEMS,
                _(
                    "At most {limit:,} events per call; got {count:,}. Nothing was stored; use POST /import/events "
                    "for more.",
                    limit=MAX_BATCH,
                    count=len(events),
                ),
                "events",
            )
        settings = info.context.settings
        result = await ingest(
            info.context.tenant_id,
            ((i, _as_contract(e)) for i, e in enumerate(events)),
            event_time_min=settings.event_time_min,
            event_time_max=settings.event_time_max,
        )
        return RecordEventsResult.of(result)
