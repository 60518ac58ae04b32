"""GraphQL for the events domain (tenants/events): types.py (types and converters from domain values), queries.py
(the events listing), mutations.py (recordEvents, confirmLargeOrders)."""

from schema.events.mutations import EventConfirmationMutation, EventsMutation
from schema.events.queries import EventsQuery

__all__ = ["EventConfirmationMutation", "EventsMutation", "EventsQuery"]
