"""Reading events back (operators, dashboards, integrators checking what arrived): pages of the tenant's events,
oldest first, with the merchant's codes; one event by its externalId (issue 8 item 8).

The operators' reads are their own module (the ingestion's statements are in tenants/events/repository.py); every
statement here is built with BindParams and runs on the unit of work opened by the entry point.

Fast on a big table (millions of events per tenant):
- Every filter is a condition on `event` itself, served by an index that leads with tenant_id: externalId by
  event_external_id_uniq, a staff code as the staff id (looked up once, inside the statement) by
  event_staff_customer_idx, `status = 'pending'` (large orders waiting for a manager: few rows) by the partial
  event_pending_idx (migration 0012) in the listing's order, time ranges by event_occurred_idx.
- The page is cut from `event` alone, then only its rows are joined to staff, customer and team for their codes.
- The total is counted only when asked for (`with_total`), without joins.
A manager sees the events of the staff and teams in its scope (tenants/access/scope.py): their actor (`staff`) is in
scope, or the event names (`team`) or was pooled to a team in scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from tenants.access.scope import AccessScope, read_access_scope
from tenants.db.codecs import json_value
from tenants.db.paging import PageRequest
from tenants.db.params import BindParams
from tenants.db.uow import tenant_unit_of_work
from tenants.events.repository import EventRecord
from tenants.tenancy.auth import Principal
from tenants.tenancy.identity import TenantId

__all__ = ["EventFilter", "EventListing", "EventRecord", "EventStatus", "event_by_external_id", "list_events"]


class EventStatus(StrEnum):
    """The stored `event.status` values (a check constraint of migration 0004)."""

    COUNTED = "counted"
    PENDING = "pending"  # a large order (or its refund) waiting for a manager's confirmation


@dataclass(frozen=True, slots=True)
class EventFilter:
    type: str | None = None
    staff_code: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    status: EventStatus | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class EventListing:
    items: list[EventRecord]
    total: int | None  # None when not asked for
    limit: int
    offset: int


_COLUMNS = "e.id, e.external_id, e.type, e.occurred_at, e.received_at, e.amount, e.value, e.attributes, e.status"


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    values: list[Any]


def listing_statements(
    tenant_id: TenantId, where: EventFilter, scope: AccessScope, page: PageRequest
) -> tuple[Statement, Statement]:
    """The count and the page statements of a listing (tests EXPLAIN these very statements)."""
    binds = BindParams(int(tenant_id))
    binds.where("e.tenant_id = $1")
    binds.where_value("e.external_id = {}", where.external_id)
    binds.where_value("e.type = {}", where.type)
    binds.where_value("e.status = {}", where.status.value if where.status is not None else None)
    binds.where_value(
        "e.staff_id = (SELECT s.id FROM staff s WHERE s.tenant_id = $1 AND s.code = {})", where.staff_code
    )
    binds.where_value("e.occurred_at >= {}", where.occurred_from)
    binds.where_value("e.occurred_at < {}", where.occurred_to)
    if not scope.whole_tenant:
        staff_in_scope = scope.staff_condition(binds, "s")
        teams = binds.add(sorted(scope.team_ids or ()))
        binds.where(
            f"(e.staff_id IN (SELECT s.id FROM staff s WHERE s.tenant_id = $1 AND {staff_in_scope}) "
            f"OR e.team_id = ANY({teams}::bigint[]) OR e.pool_team_id = ANY({teams}::bigint[]))"
        )
    count = Statement(f"SELECT count(*) AS n FROM event e WHERE {binds.sql}", list(binds.values))
    limit, offset = binds.add(page.limit), binds.add(page.offset)
    rows = Statement(
        f"SELECT {_COLUMNS}, s.code AS staff_code, c.code AS customer_code, t.code AS team_code FROM ("
        f"SELECT e.tenant_id, {_COLUMNS}, e.staff_id, e.customer_id, e.team_id FROM event e WHERE {binds.sql} "
        f"ORDER BY e.occurred_at, e.id LIMIT {limit} OFFSET {offset}) e "
        "LEFT JOIN staff s ON s.tenant_id = e.tenant_id AND s.id = e.staff_id "
        "LEFT JOIN customer c ON c.tenant_id = e.tenant_id AND c.id = e.customer_id "
        "LEFT JOIN team t ON t.tenant_id = e.tenant_id AND t.id = e.team_id "
        "ORDER BY e.occurred_at, e.id",
        binds.values,
    )
    return count, rows


def _record(row: dict[str, Any]) -> EventRecord:
    return EventRecord(
        id=row["id"],
        external_id=row["external_id"],
        type=row["type"],
        occurred_at=row["occurred_at"],
        received_at=row["received_at"],
        staff_code=row["staff_code"],
        customer_code=row["customer_code"],
        team_code=row["team_code"],
        amount=row["amount"],
        value=row["value"],
        attributes=json_value(row["attributes"]),
        status=row["status"],
    )


async def list_events(
    tenant_id: TenantId, principal: Principal, where: EventFilter, page: PageRequest, *, with_total: bool = True
) -> EventListing:
    """One page of the events in the caller's scope, oldest first (ties by id), and (`with_total`) how many match."""
    async with tenant_unit_of_work(tenant_id) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        count, page_rows = listing_statements(tenant_id, where, scope, page)
        total = None
        if with_total:
            total = int((await conn.execute_query_dict(count.sql, count.values))[0]["n"])
        items = [_record(row) for row in await conn.execute_query_dict(page_rows.sql, page_rows.values)]
    return EventListing(items=items, total=total, limit=page.limit, offset=page.offset)


async def event_by_external_id(tenant_id: TenantId, principal: Principal, external_id: str) -> EventRecord | None:
    """The event with this externalId, when it exists in the tenant and the caller's scope."""
    listing = await list_events(
        tenant_id, principal, EventFilter(external_id=external_id), PageRequest(limit=1, offset=0), with_total=False
    )
    return listing.items[0] if listing.items else None
