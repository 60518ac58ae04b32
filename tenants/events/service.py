"""Event ingestion: one pipeline behind both entry points (GraphQL recordEvents and the NDJSON import).

Per batch: check each item's shape (batch.py; a `Batch` takes items as they arrive), then in one transaction look the
merchant's codes up (one query per kind), create the customers first seen in the batch (one INSERT ... ON CONFLICT DO
NOTHING in code order, so concurrent batches naming the same new customer create it once; unless the rules in force at
the event's time turn it off: then UNKNOWN_CUSTOMER), resolve credits and write COPY rows (rows.py, with the pure
attribution rules), stage them and store them with one INSERT ... SELECT ... RETURNING (repository.py): duplicates
(earlier batches, or a concurrent retry) are exactly the ids the insert did not return, so a retried batch is counted
once and reported. Closed periods that receive events are marked stale by the same statement, so a late event is never
missed.

The insert first runs without ON CONFLICT (the common case: nothing is a duplicate, and the unique index still refuses
any); when the unique index refuses a row, the transaction rolls back and the batch is stored again with ON CONFLICT
DO NOTHING, which sorts accepted from duplicates exactly, also against concurrent retries. A stream of batches (the
NDJSON import) passes each batch's `store` the previous one (`after`): resolving and staging overlap the previous
batch's insert, the inserts stay one after the other.

An externalId is an idempotency key: a resend of what was sent before is a duplicate; a resend with other content
(type, occurredAt's instant, codes, amount, value, attributes, credits as sent) is a conflict, rejected and nothing
changed. Credits resolved by the tenant's rules were not sent: only whether credits were sent (`credits_sent`) and,
when they were, the credits themselves take part. Within a batch the items are compared as checked; against stored
events, only on the path that found some already stored (the common path pays nothing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.db.codes import ids_by_code
from tenants.db.uow import tenant_unit_of_work
from tenants.errors import Problem
from tenants.events import repository
from tenants.events.batch import Batch, Duplicate, IngestResult, answer, item_index
from tenants.events.checks import conflict_problem
from tenants.events.contract import EVENT_TIME_MAX, EVENT_TIME_MIN, MAX_BATCH, restore_event
from tenants.events.errors import EventError, EventErrorCode
from tenants.events.repository import StoredCustomer
from tenants.events.rows import Codes, RowBuilder, Rows, unknown_code
from tenants.events.timeline import load_timeline
from tenants.i18n import _
from tenants.rules.attribution import GuideBinding, RulesTimeline
from tenants.statistics import MIN_CHANGED_ROWS, refresh_statistics
from tenants.tenancy.identity import TenantId

T = TypeVar("T")


async def record_events(
    tenant_id: TenantId,
    events: Sequence[T],
    as_contract: Callable[[T], Mapping[str, Any]],
    *,
    event_time_min: datetime = EVENT_TIME_MIN,
    event_time_max: datetime = EVENT_TIME_MAX,
) -> IngestResult:
    """A batch sent in one call (GraphQL recordEvents): at most MAX_BATCH events, more refuse the call whole (an
    `EventError` TOO_MANY_ITEMS, nothing stored; the NDJSON import takes any number).

    `as_contract` gives an event in the JSON contract's shape; it runs as each event is checked, so the batch is never
    held in both shapes at once (thousands of extra live objects make every garbage collection of the request slower).
    """
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
    return await ingest(
        tenant_id,
        ((index, as_contract(event)) for index, event in enumerate(events)),
        event_time_min=event_time_min,
        event_time_max=event_time_max,
    )


async def ingest(
    tenant_id: TenantId,
    items: Iterable[tuple[int, Mapping[str, Any] | bytes | str]],
    *,
    received_at: datetime | None = None,
    event_time_min: datetime = EVENT_TIME_MIN,
    event_time_max: datetime = EVENT_TIME_MAX,
) -> IngestResult:
    """Store the valid items of one batch (indexes are the caller's: position in the request or the file).

    `occurredAt` must fall in [event_time_min, event_time_max) (the deployment's settings; defaults: theirs).
    """
    batch = Batch(event_time_min=event_time_min, event_time_max=event_time_max)
    for index, raw in items:
        batch.add(index, raw)
    result = await store(tenant_id, batch, received_at=received_at)
    await refresh_event_statistics(result.accepted)
    return result


async def refresh_event_statistics(accepted: int) -> None:
    """After a batch or an import committed: the close's planner must see the new events (tenants/statistics.py)."""
    if accepted >= MIN_CHANGED_ROWS:
        await refresh_statistics("event", accepted)


async def store(
    tenant_id: TenantId,
    batch: Batch,
    *,
    received_at: datetime | None = None,
    after: Awaitable[object] | None = None,
) -> IngestResult:
    """Store a checked batch in one transaction; the answer lists problems and duplicates in index order.

    `after`: the store of the stream's previous batch. This batch's codes are resolved and its rows staged while that
    one is still running; its rows go into `event` (and its refunds look up their orders) only once that one has
    committed, so a stream stored in batches gives the answers of one stored batch after the other.
    """
    if not batch.valid:
        if after is not None:
            await after  # the batch after this one waits for this one only
        return answer(batch, None)
    at = received_at or datetime.now(UTC)
    rows: Rows | None = None
    inserting = False
    try:
        async with tenant_unit_of_work(tenant_id) as conn:
            rows = await _prepare(conn, tenant_id, batch, after)
            if rows.lines:
                await repository.stage(conn, rows.lines)
            if after is not None:
                await after
            inserting = True
            written = await _write(conn, tenant_id, rows, at, only_new=False)
    except repository.ExternalIdTaken:
        if not inserting or rows is None:
            raise
        # Some externalId is already stored (a retry) or being stored (a concurrent one): sort them out exactly.
        async with tenant_unit_of_work(tenant_id) as conn:
            if rows.customers_created:
                # The customers the first attempt created were rolled back with it: create them again.
                rows = await _prepare(conn, tenant_id, batch)
            if rows.lines:
                await repository.stage(conn, rows.lines)
            written = await _write(conn, tenant_id, rows, at, only_new=True)
    return answer(batch, written)


async def _prepare(
    conn: BaseDBAsyncClient, tenant_id: TenantId, batch: Batch, after: Awaitable[object] | None = None
) -> Rows:
    """The batch's rows: its codes looked up, unknown customers created (when the rules in force at the event's time
    allow it) and other unknown codes refused, credits resolved (refunds of orders from outside the batch are left to
    `_write`).

    `after` (a stream's previous chunk, still being stored): customers are created only once it has committed. That
    chunk may be creating the same customers: had this one inserted them first, that chunk's insert would wait for
    this transaction while this task waits for that chunk (a deadlock the database cannot see: one side waits in
    Python)."""
    timeline = await load_timeline(conn, tenant_id)
    single = timeline.single
    every_rules = timeline.all_rules
    o2o = any(rules.o2o_splits for rules in every_rules)
    guide_rule = any(rules.exclusive_guide_days is not None for rules in every_rules)

    staff_codes: set[str] = set()
    team_codes: set[str] = set()
    customer_codes: set[str] = set()
    orders: list[tuple[int, tuple[Any, ...]]] = []  # items as kept by the batch
    refunds: list[tuple[int, tuple[Any, ...]]] = []
    for item in batch.kept:
        event = restore_event(item[1])
        if event.staff is not None:
            staff_codes.add(event.staff)
        if event.team is not None:
            team_codes.add(event.team)
        if event.customer is not None:
            customer_codes.add(event.customer)
        if event.credits:
            for credit in event.credits:
                if credit.staff:
                    staff_codes.add(credit.staff)
                if credit.team:
                    team_codes.add(credit.team)
        if o2o:
            rules = single or timeline.at(event.occurred_at)
            staff_codes.update(rules.o2o_staff_codes(event.attributes) or ())
        # Orders before refunds, so a refund can follow its order within one batch.
        if event.is_refund:
            refunds.append(item)
        else:
            orders.append(item)
    codes = Codes(
        staff=await ids_by_code(conn, "staff", tenant_id, staff_codes),
        teams=await ids_by_code(conn, "team", tenant_id, team_codes),
        customers=await repository.customers_by_code(conn, tenant_id, customer_codes, with_history=guide_rule),
    )
    created = 0
    if len(codes.customers) < len(customer_codes):
        new_customers = _customers_to_create(batch, codes, timeline)
        if new_customers:
            if after is not None:
                await after
            made, created = await repository.create_customers(conn, tenant_id, new_customers, with_history=guide_rule)
            codes = Codes(codes.staff, codes.teams, {**codes.customers, **made})
    staff = codes.staff

    builder = RowBuilder(codes, timeline, remember=bool(refunds))
    rows = Rows([], [], [], [], builder, created)
    for index, values in orders + refunds if refunds else orders:
        event = restore_event(values)
        staff_id = staff.get(event.staff) if event.staff is not None else None
        if (
            (staff_id is None and event.staff is not None)
            or event.team is not None
            or event.customer is not None
            or event.credits
        ):
            problem = unknown_code(index, event, codes)
            if problem is not None:
                rows.rejected.append(problem)
                continue
        # Orders come first: a refund's order in this batch is known here only if that order was stored.
        if event.is_refund and event.order_external_id not in builder.batch_credits:
            rows.refunds.append((index, event, staff_id))
        else:
            builder.add_row(rows, index, event, staff_id)
    return rows


def _customers_to_create(batch: Batch, codes: Codes, timeline: RulesTimeline) -> set[str]:
    """The unknown customer codes to create: named by an event whose rules (at its time) create unknown customers
    and whose other codes are all known (an event refused for another code creates nothing)."""
    wanted: set[str] = set()
    known = codes.customers
    for _index, values in batch.kept:
        event = restore_event(values)
        customer = event.customer
        if customer is None or customer in known or customer in wanted:
            continue
        if not timeline.at(event.occurred_at).create_unknown_customers:
            continue
        if unknown_code(0, event, Codes(codes.staff, codes.teams, {customer: _PLACEHOLDER})) is None:
            wanted.add(customer)
    return wanted


_PLACEHOLDER = StoredCustomer(0, GuideBinding(None, None))


async def _write(
    conn: BaseDBAsyncClient, tenant_id: TenantId, rows: Rows, received_at: datetime, *, only_new: bool
) -> IngestResult:
    """Insert the staged rows, after the refunds of orders from outside the batch (their rows are staged here)."""
    await repository.hold_ingestion_lock(conn, tenant_id)
    result = IngestResult()  # complete lists: a batch's (one chunk's) at most
    result.customers_created = rows.customers_created
    result.rejected = list(rows.rejected)
    lines, stored = rows.lines, rows.stored
    if rows.refunds:
        # Their orders were stored by earlier batches (committed before this transaction) or do not exist.
        orders = await repository.stored_orders(
            conn, tenant_id, {event.order_external_id or "" for _, event, _ in rows.refunds}
        )
        rows.builder.pending_orders.update(ref for ref, order in orders.items() if order.pending)
        builder = rows.builder.fork()
        late = Rows(list(lines), list(stored), result.rejected, [], builder)
        for index, event, staff_id in rows.refunds:
            ref = event.order_external_id or ""
            order = orders.get(ref)
            if order is None:
                late.rejected.append(
                    Problem(
                        EventErrorCode.UNKNOWN_ORDER,
                        _("No order {order} for this refund.", order=repr(ref)),
                        "attributes.order",
                        index,
                    )
                )
            else:
                builder.add_row(late, index, event, staff_id, order.credits)
        if len(late.lines) > len(lines):
            await repository.stage(conn, late.lines[len(lines) :])
        stored = late.stored
    if not stored:
        result.rejected_count = len(result.rejected)
        return result
    if only_new:
        inserted = await repository.insert_staged_new(conn, tenant_id, received_at)
        already = [(index, external_id) for index, external_id in stored if external_id not in inserted]
        result.accepted = len(stored) - len(already)
        if already:
            # Read after the insert: a concurrent retry's rows, which the insert waited for, are committed by now.
            differences = await repository.resent_differences(
                conn, tenant_id, [external_id for _, external_id in already]
            )
            for index, external_id in already:
                difference = differences.get(external_id)
                if difference is None:
                    result.duplicates.append(Duplicate(index, external_id))
                else:
                    result.rejected.append(conflict_problem(index, external_id, difference))
        result.rejected.sort(key=item_index)
    else:
        count = await repository.insert_staged(conn, tenant_id, received_at)
        if count != len(stored):
            raise RuntimeError(f"stored {count} events of {len(stored)}")
        result.accepted = len(stored)
    result.duplicate_count = len(result.duplicates)
    result.rejected_count = len(result.rejected)
    return result
