"""GraphQL queries of the events domain: pages of the tenant's events (filters for operators: status, externalId,
type, staff, time) and one event by its externalId (issue 8 item 8). Times come with the tenant's UTC offset."""

from __future__ import annotations

from datetime import MINYEAR, UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from schema.common import tenant_zone
from schema.context import Info
from schema.events.types import Event, EventPage
from schema.pagination import page_request
from schema.permissions import tenant_access
from tenants.events.listing import EventFilter, EventStatus, event_by_external_id, list_events
from tenants.tenancy.auth import Role, Scope


def _asks_for(selections: list[Selection], name: str) -> bool:
    """Whether `name` is selected at this level (directly or through fragments)."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == name:
                return True
        elif _asks_for(selection.selections, name):
            return True
    return False


# The first and last instants a datetime can hold (and the database can be given): no stored event lies beyond them.
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def _bound(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A time bound as a UTC instant; without an offset it is a wall-clock time in the tenant's timezone. A bound
    whose instant lies outside datetime's years (a naive 0001-01-01 east of UTC, 9999-12-31 at -12:00) is the first or
    last instant there is, not an overflow on its way to the database."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return _EARLIEST if moment.year == MINYEAR else _LATEST


@strawberry.type
class EventsQuery:
    @strawberry.field(
        extensions=tenant_access(Role.MANAGER, Scope.EVENTS_READ),
        description=(
            "The tenant's events, oldest first; a manager sees those of its teams' staff and teams. Filters combine "
            "(AND). E.g. large orders waiting for confirmation: status PENDING, type order, with total."
        ),
    )
    async def events(
        self,
        info: Info,
        type: Annotated[str | None, strawberry.argument(description="Only this event type.")] = None,
        staff: Annotated[str | None, strawberry.argument(description="Only events of this staff code.")] = None,
        status: Annotated[EventStatus | None, strawberry.argument(description="Only counted, or pending.")] = None,
        external_id: Annotated[
            str | None, strawberry.argument(description="Only the event with this externalId.")
        ] = None,
        occurred_from: Annotated[
            datetime | None,
            strawberry.argument(description="Occurred at or after; without an offset: the tenant's local time."),
        ] = None,
        occurred_to: Annotated[
            datetime | None,
            strawberry.argument(description="Occurred before; without an offset: the tenant's local time."),
        ] = None,
        limit: Annotated[int | None, strawberry.argument(description="Page size (default 50, capped).")] = None,
        offset: Annotated[int | None, strawberry.argument(description="Events to skip.")] = None,
    ) -> EventPage:
        zone = await tenant_zone(info)
        principal = info.context.principal
        assert principal is not None  # the permission requires one
        found = await list_events(
            info.context.tenant_id,
            principal,
            EventFilter(
                type=type,
                staff_code=staff,
                status=status,
                external_id=external_id,
                occurred_from=_bound(occurred_from, zone),
                occurred_to=_bound(occurred_to, zone),
            ),
            page_request(info, limit, offset),
            with_total=_asks_for(info.selected_fields[0].selections, "total"),
        )
        return EventPage.of(found)

    @strawberry.field(
        extensions=tenant_access(Role.MANAGER, Scope.EVENTS_READ),
        description="The event with this externalId; null when there is none (in your scope).",
    )
    async def event(
        self,
        info: Info,
        external_id: Annotated[str, strawberry.argument(description="The merchant's id of the event.")],
    ) -> Event | None:
        principal = info.context.principal
        assert principal is not None
        found = await event_by_external_id(info.context.tenant_id, principal, external_id)
        return Event.of(found) if found is not None else None
