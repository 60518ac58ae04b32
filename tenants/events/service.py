"""Event ingestion: one pipeline behind both entry points (GraphQL recordEvents and the NDJSON import).

Per batch: check each item's shape (contract.py; a `Batch` takes items as they arrive), then in one transaction
resolve the merchant's codes (one query per kind), resolve credits, and store the rows with one INSERT ... SELECT
... RETURNING: duplicates (earlier batches, or a concurrent retry) are exactly the ids the insert did not return, so a
retried batch is counted once and reported. Closed periods that receive events are marked stale by the same
statement, so a late event is never missed.

Bulk path. Postgres refuses COPY FROM into a table with row level security, so the rows go by COPY (text format,
written here) into a temporary staging table, which has no RLS, and from there into `event` by INSERT ... SELECT,
which the `event` policy checks like any insert. The insert first runs without ON CONFLICT (the common case: nothing
is a duplicate, and the unique index still refuses any); when the unique index refuses a row, the transaction rolls
back and the batch is stored again with ON CONFLICT DO NOTHING, which sorts accepted from duplicates exactly, also
against concurrent retries. A stream of batches (the NDJSON import) passes each batch's `store` the previous one
(`after`): resolving and staging overlap the previous batch's insert, the inserts stay one after the other.

An externalId is an idempotency key: a resend of what was sent before is a duplicate; a resend with other content
(type, occurredAt's instant, codes, amount, value, attributes, credits as sent) is a conflict, rejected and nothing
changed. Credits resolved by the tenant's rules were not sent: only whether credits were sent (`credits_sent`) and,
when they were, the credits themselves take part. Within a batch the items are compared as checked; against stored
events, only on the path that found some already stored (the common path pays nothing).

Answers keep complete counts; a `report_limit` (the NDJSON import's) keeps only the first duplicates and problems, so
an import of any size holds a bounded answer. Problems are `ItemProblem`s (contract.py: a code, the item's index, an
i18n message that each entry point renders in its reader's language).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

import asyncpg
from pydantic import ValidationError
from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.errors import Problem
from tenants.events.contract import (
    EVENT_TIME_MAX,
    EVENT_TIME_MIN,
    CheckedEvent,
    EventErrorCode,
    ItemProblem,
    check_fast_json,
    check_item,
    check_semantics,
    conflict_problem,
    problem_from_validation,
    sent_difference,
)
from tenants.i18n import Message, _
from tenants.locks import ingestion_lock_key
from tenants.statistics import MIN_CHANGED_ROWS, refresh_statistics
from tenants.tenancy.identity import TenantId
from tenants.tenancy.uow import tenant_unit_of_work

ONE = Decimal(1)


@dataclass(frozen=True)
class Duplicate:
    index: int
    external_id: str


class IngestResult:
    """What ingestion did: complete counts, and the duplicates and problems in index order (with a `report_limit`,
    only the first that many of each)."""

    __slots__ = ("accepted", "duplicate_count", "duplicates", "rejected", "rejected_count", "report_limit")

    def __init__(self, report_limit: int | None = None) -> None:
        self.accepted = 0
        self.duplicate_count = 0
        self.rejected_count = 0
        self.duplicates: list[Duplicate] = []
        self.rejected: list[ItemProblem] = []
        self.report_limit = report_limit

    @property
    def truncated(self) -> bool:
        return self.duplicate_count > len(self.duplicates) or self.rejected_count > len(self.rejected)

    def merge(self, later: IngestResult) -> None:
        """Adds the result of a later batch (all its indexes after this one's)."""
        self.accepted += later.accepted
        self.duplicate_count += later.duplicate_count
        self.rejected_count += later.rejected_count
        limit = self.report_limit
        if limit is None:
            self.duplicates.extend(later.duplicates)
            self.rejected.extend(later.rejected)
        else:
            self.duplicates.extend(later.duplicates[: max(limit - len(self.duplicates), 0)])
            self.rejected.extend(later.rejected[: max(limit - len(self.rejected), 0)])


@dataclass(frozen=True)
class AttributionRules:
    """Tenant rules for orders without explicit credits (tenant.settings["attribution"])."""

    exclusive_guide_days: int | None = None  # protection window after bound_since; None: no binding rule
    o2o_attribute: str | None = None  # e.g. "channel"
    o2o_value: str | None = None  # e.g. "o2o"
    o2o_splits: tuple[tuple[str, Decimal], ...] = ()  # (attribute naming the staff code, share)
    large_order_threshold: Decimal | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> AttributionRules:
        attribution = settings.get("attribution") or {}
        guide = attribution.get("exclusive_guide")
        o2o = attribution.get("o2o") or {}
        threshold = settings.get("large_order_threshold")
        return cls(
            exclusive_guide_days=int(guide.get("protection_days", 36500)) if guide else None,
            o2o_attribute=o2o.get("attribute"),
            o2o_value=o2o.get("value"),
            o2o_splits=tuple((s["staff_attribute"], Decimal(str(s["share"]))) for s in o2o.get("splits", [])),
            large_order_threshold=Decimal(str(threshold)) if threshold is not None else None,
        )

    def o2o_staff_codes(self, event: CheckedEvent) -> list[str] | None:
        if not self.o2o_splits or self.o2o_attribute is None:
            return None
        if str(event.attributes.get(self.o2o_attribute)) != self.o2o_value:
            return None
        codes = [event.attributes.get(attribute) for attribute, _ in self.o2o_splits]
        return [str(code) for code in codes] if all(isinstance(code, str) and code for code in codes) else None


@dataclass(frozen=True)
class Credits:
    staff_ids: tuple[int, ...] = ()
    shares: tuple[Decimal, ...] = ()
    pool_team_id: int | None = None
    pool_share: Decimal | None = None  # None: the whole amount goes to the pool

    @cached_property
    def copy_text(self) -> str:
        """The credit_staff_ids, credit_shares, pool_team_id and pool_share columns of a COPY text row."""
        ids = ",".join(str(staff_id) for staff_id in self.staff_ids)
        shares = ",".join(str(share) for share in self.shares)
        pool = _NULL if self.pool_team_id is None else str(self.pool_team_id)
        pool_share = _NULL if self.pool_share is None else str(self.pool_share)
        return f"{{{ids}}}\t{{{shares}}}\t{pool}\t{pool_share}"


@dataclass(frozen=True)
class _Customer:
    id: int
    guide_staff_id: int | None
    bound_since: datetime | None


class Batch:
    """One batch's items checked on their own (no database yet), in the caller's indexes; filled as items arrive.

    Valid items are kept once per externalId (the first); later ones are duplicates of the batch, or conflicts when
    their content differs. They are kept as plain tuples, which the garbage collector stops tracking (it does not for
    tuple subclasses such as CheckedEvent): an import holds thousands of them at a time, and tracking them made the
    collector scan the whole heap repeatedly. Duplicates and problems are counted; with a `report_limit`, only the
    first that many of each are kept. `occurredAt` must fall in [event_time_min, event_time_max).
    """

    __slots__ = (
        "_kept",
        "_seen",
        "duplicate_count",
        "duplicates",
        "event_time_max",
        "event_time_min",
        "rejected",
        "rejected_count",
        "report_limit",
    )

    def __init__(
        self,
        *,
        report_limit: int | None = None,
        event_time_min: datetime = EVENT_TIME_MIN,
        event_time_max: datetime = EVENT_TIME_MAX,
    ) -> None:
        self._kept: list[tuple[int, tuple[Any, ...]]] = []
        self.duplicates: list[Duplicate] = []
        self.rejected: list[ItemProblem] = []
        self.duplicate_count = 0
        self.rejected_count = 0
        self.report_limit = report_limit
        self.event_time_min = event_time_min
        self.event_time_max = event_time_max
        self._seen: dict[str, int] = {}  # externalId -> its position in _kept

    def __len__(self) -> int:
        return len(self._kept) + self.duplicate_count + self.rejected_count

    def __bool__(self) -> bool:
        return bool(self._kept or self.duplicate_count or self.rejected_count)

    @property
    def valid(self) -> int:
        return len(self._kept)

    def add(self, index: int, raw: Mapping[str, Any] | bytes | str) -> None:
        """An item as a mapping (GraphQL, the JSON contract's names) or as JSON text (an NDJSON line)."""
        checked = check_item(raw)
        if isinstance(checked, ValidationError):
            self._reject(problem_from_validation(index, checked))
        else:
            self._keep(index, checked)

    def reject(self, index: int, code: EventErrorCode, message: Message) -> None:
        """An item refused before its shape could be checked (an NDJSON line too long to read)."""
        self._reject(Problem(code, message, None, index))

    def _reject(self, problem: ItemProblem) -> None:
        self.rejected_count += 1
        if self.report_limit is None or len(self.rejected) < self.report_limit:
            self.rejected.append(problem)

    def _duplicate(self, index: int, external_id: str) -> None:
        self.duplicate_count += 1
        if self.report_limit is None or len(self.duplicates) < self.report_limit:
            self.duplicates.append(Duplicate(index, external_id))

    def add_json(self, index: int, line: bytes) -> None:
        checked = check_fast_json(line)
        if checked is None:
            self.add(index, line)
        else:
            self._keep(index, checked)

    def _keep(self, index: int, event: CheckedEvent) -> None:
        problem = check_semantics(index, event, event_time_min=self.event_time_min, event_time_max=self.event_time_max)
        if problem is not None:
            self._reject(problem)
            return
        external_id = event.external_id
        first = self._seen.get(external_id)
        if first is None:
            self._seen[external_id] = len(self._kept)
            self._kept.append((index, tuple(event)))
            return
        kept = self._kept[first][1]
        # The same line sent twice is the same tuple (attributes as the same JSON text): no need to compare content.
        same_line = event.attributes_value is None and event == kept
        difference = None if same_line else sent_difference(_event(kept), event)
        if difference is None:
            self._duplicate(index, external_id)
        else:
            self._reject(conflict_problem(index, external_id, difference))


def _event(values: tuple[Any, ...]) -> CheckedEvent:
    return tuple.__new__(CheckedEvent, values)


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
        return _answer(batch, None)
    at = received_at or datetime.now(UTC)
    rows: _Rows | None = None
    inserting = False
    try:
        async with tenant_unit_of_work(tenant_id) as conn:
            connection = _asyncpg(conn)
            rows = await _prepare(connection, tenant_id, batch)
            if rows.lines:
                await _stage(connection, rows.lines)
            if after is not None:
                await after
            inserting = True
            written = await _write(connection, tenant_id, rows, at, only_new=False)
    except asyncpg.UniqueViolationError as error:
        if not inserting or rows is None or error.constraint_name != "event_external_id_uniq":
            raise
        # Some externalId is already stored (a retry) or being stored (a concurrent one): sort them out exactly.
        async with tenant_unit_of_work(tenant_id) as conn:
            connection = _asyncpg(conn)
            if rows.lines:
                await _stage(connection, rows.lines)
            written = await _write(connection, tenant_id, rows, at, only_new=True)
    return _answer(batch, written)


def _answer(batch: Batch, written: IngestResult | None) -> IngestResult:
    """The batch's own duplicates and problems with those of the database, in index order (the first ones only,
    with a limit: the first of each kind are among the first of each side)."""
    result = IngestResult(batch.report_limit)
    result.duplicate_count = batch.duplicate_count
    result.rejected_count = batch.rejected_count
    duplicates, rejected = batch.duplicates, batch.rejected
    if written is not None:
        result.accepted = written.accepted
        result.duplicate_count += written.duplicate_count
        result.rejected_count += written.rejected_count
        duplicates = sorted(duplicates + written.duplicates, key=lambda duplicate: duplicate.index)
        rejected = sorted(rejected + written.rejected, key=_item_index)
    limit = batch.report_limit
    result.duplicates = duplicates[:limit] if limit is not None else list(duplicates)
    result.rejected = rejected[:limit] if limit is not None else list(rejected)
    return result


def _item_index(problem: ItemProblem) -> int:
    index = problem.index
    if index is None:  # every problem of a batch is made with its item's index
        raise ValueError(f"an event problem without an index: {problem.code}")
    return index


@dataclass
class _Rows:
    """A batch resolved against master data: COPY text rows, the items they store, and what is still open."""

    lines: list[str]
    stored: list[tuple[int, str]]
    rejected: list[ItemProblem]
    # Refunds of orders that are not in the batch: resolved when writing, against the stored orders.
    refunds: list[tuple[int, CheckedEvent, int | None]]
    resolver: _Resolver


def _asyncpg(conn: BaseDBAsyncClient) -> asyncpg.Connection:
    """The asyncpg connection of a Tortoise transaction (COPY and prepared statements go to it directly)."""
    connection = conn._connection
    assert isinstance(connection, asyncpg.Connection)
    return connection


async def _ids_by_code(
    connection: asyncpg.Connection, tenant_id: TenantId, table: str, codes: set[str]
) -> dict[str, int]:
    if not codes:
        return {}
    rows = await connection.fetch(
        f"SELECT code, id FROM {table} WHERE tenant_id = $2 AND code = ANY($1::text[])", list(codes), tenant_id
    )
    return {row["code"]: row["id"] for row in rows}


async def _prepare(connection: asyncpg.Connection, tenant_id: TenantId, batch: Batch) -> _Rows:
    settings = await connection.fetchval("SELECT settings FROM tenant WHERE id = $1", tenant_id)
    rules = AttributionRules.from_settings(json.loads(settings) if isinstance(settings, str) else settings or {})

    staff_codes: set[str] = set()
    team_codes: set[str] = set()
    customer_codes: set[str] = set()
    orders: list[tuple[int, tuple[Any, ...]]] = []  # items as kept by the batch
    refunds: list[tuple[int, tuple[Any, ...]]] = []
    batch_orders: set[str] = set()
    o2o = bool(rules.o2o_splits)
    for item in batch._kept:
        event = _event(item[1])
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
            staff_codes.update(rules.o2o_staff_codes(event) or ())
        # Orders before refunds, so a refund can follow its order within one batch.
        if event.is_refund:
            refunds.append(item)
        else:
            orders.append(item)
            batch_orders.add(event.external_id)
    staff = await _ids_by_code(connection, tenant_id, "staff", staff_codes)
    teams = await _ids_by_code(connection, tenant_id, "team", team_codes)
    customers: dict[str, _Customer] = {}
    if customer_codes:
        found = await connection.fetch(
            "SELECT code, id, guide_staff_id, bound_since FROM customer "
            "WHERE tenant_id = $2 AND code = ANY($1::text[])",
            list(customer_codes),
            tenant_id,
        )
        customers = {r["code"]: _Customer(r["id"], r["guide_staff_id"], r["bound_since"]) for r in found}

    resolver = _Resolver(staff, teams, customers, rules, remember=bool(refunds))
    rows = _Rows([], [], [], [], resolver)
    for index, values in orders + refunds if refunds else orders:
        event = _event(values)
        staff_id = staff.get(event.staff) if event.staff is not None else None
        if (
            (staff_id is None and event.staff is not None)
            or event.team is not None
            or event.customer is not None
            or event.credits
        ):
            problem = _unknown_code(index, event, staff, teams, customers)
            if problem is not None:
                rows.rejected.append(problem)
                continue
        # Orders come first: a refund's order in this batch is known here only if that order was stored.
        if event.is_refund and event.order_external_id not in resolver.batch_credits:
            rows.refunds.append((index, event, staff_id))
        else:
            resolver.add_row(rows, index, event, staff_id)
    return rows


async def _write(
    connection: asyncpg.Connection, tenant_id: TenantId, rows: _Rows, received_at: datetime, *, only_new: bool
) -> IngestResult:
    """Insert the staged rows, after the refunds of orders from outside the batch (their rows are staged here)."""
    # Shared: ingestions run side by side; a running close (exclusive) holds them until it committed.
    await connection.execute("SELECT pg_advisory_xact_lock_shared($1)", ingestion_lock_key(tenant_id))
    result = IngestResult()  # complete lists: a batch's (one chunk's) at most
    result.rejected = list(rows.rejected)
    lines, stored = rows.lines, rows.stored
    if rows.refunds:
        # Their orders were stored by earlier batches (committed before this transaction) or do not exist.
        refs = list({event.order_external_id or "" for _, event, _ in rows.refunds})
        found = await connection.fetch(
            "SELECT external_id, credit_staff_ids, credit_shares, pool_team_id, pool_share, status FROM event "
            "WHERE tenant_id = $2 AND external_id = ANY($1::text[])",
            refs,
            tenant_id,
        )
        stored_orders = {
            r["external_id"]: Credits(
                tuple(r["credit_staff_ids"]), tuple(r["credit_shares"]), r["pool_team_id"], r["pool_share"]
            )
            for r in found
        }
        rows.resolver.pending_orders.update(r["external_id"] for r in found if r["status"] == "pending")
        resolver = rows.resolver.fork()
        late = _Rows(list(lines), list(stored), result.rejected, [], resolver)
        for index, event, staff_id in rows.refunds:
            ref = event.order_external_id or ""
            if ref not in stored_orders:
                late.rejected.append(
                    Problem(
                        EventErrorCode.UNKNOWN_ORDER,
                        _("No order {order} for this refund.", order=repr(ref)),
                        "attributes.order",
                        index,
                    )
                )
            else:
                resolver.add_row(late, index, event, staff_id, stored_orders[ref])
        if len(late.lines) > len(lines):
            await _stage(connection, late.lines[len(lines) :])
        stored = late.stored
    if not stored:
        result.rejected_count = len(result.rejected)
        return result
    if only_new:
        inserted = {row[0] for row in await connection.fetch(INSERT_NEW_SQL, tenant_id, received_at)}
        already = [(index, external_id) for index, external_id in stored if external_id not in inserted]
        result.accepted = len(stored) - len(already)
        if already:
            # Read after the insert: a concurrent retry's rows, which the insert waited for, are committed by now.
            differences = dict(
                await connection.fetch(CONFLICTS_SQL, tenant_id, [external_id for _, external_id in already])
            )
            for index, external_id in already:
                difference = differences.get(external_id)
                if difference is None:
                    result.duplicates.append(Duplicate(index, external_id))
                else:
                    result.rejected.append(conflict_problem(index, external_id, difference))
        result.rejected.sort(key=_item_index)
    else:
        count = await connection.fetchval(INSERT_ALL_SQL, tenant_id, received_at)
        if count != len(stored):
            raise RuntimeError(f"stored {count} events of {len(stored)}")
        result.accepted = len(stored)
    result.duplicate_count = len(result.duplicates)
    result.rejected_count = len(result.rejected)
    return result


async def _stage(connection: asyncpg.Connection, lines: list[str]) -> None:
    await connection.execute(STAGE_SQL)
    await connection.copy_to_table(
        "event_stage",
        schema_name="pg_temp",
        source=memoryview("".join(lines).encode()),  # a buffer: bytes would be taken for a file name
    )


class _Resolver:
    """Who is credited, in DESIGN.md's order: explicit credits, a refund's order, binding, O2O split, actor, pool."""

    def __init__(
        self,
        staff: Mapping[str, int],
        teams: Mapping[str, int],
        customers: Mapping[str, _Customer],
        rules: AttributionRules,
        *,
        remember: bool,
    ) -> None:
        self.staff = staff
        self.teams = teams
        self.customers = customers
        self.rules = rules
        self.remember = remember  # keep each row's credits: refunds in the batch are credited like their order
        self.batch_credits: dict[str, Credits] = {}
        self.pending_orders: set[str] = set()  # orders waiting for confirmation: their refunds wait too
        self._actors: dict[int, Credits] = {}
        self._by_customer = rules.exclusive_guide_days is not None
        self._o2o = bool(rules.o2o_splits)
        self._threshold = rules.large_order_threshold

    def fork(self) -> _Resolver:
        """A copy that can go on adding rows (a write that may be retried) without changing this one."""
        fork = copy.copy(self)
        fork.batch_credits = dict(self.batch_credits)
        fork.pending_orders = set(self.pending_orders)
        return fork

    def add_row(
        self, rows: _Rows, index: int, event: CheckedEvent, staff_id: int | None, order: Credits | None = None
    ) -> None:
        """The item's row, or its problem when nobody can be credited (codes are known to exist)."""
        credits = self.credits(event, staff_id, order)
        if credits is None:
            rows.rejected.append(Problem(EventErrorCode.NO_ATTRIBUTION, _NO_ATTRIBUTION, "staff", index))
            return
        if self.remember:
            self.batch_credits[event.external_id] = credits
        threshold = self._threshold
        large = (
            threshold is not None and event.type == "order" and event.amount is not None and event.amount >= threshold
        )
        if large:
            self.pending_orders.add(event.external_id)
        # A refund of an order still waiting for confirmation waits with it (confirming the order confirms it).
        pending = large or (event.is_refund and (event.order_external_id or "") in self.pending_orders)
        team_id = None if event.team is None else self.teams[event.team]
        customer_id = None if event.customer is None else self.customers[event.customer].id
        rows.lines.append(
            f"{_copy_text(event.external_id)}\t{event.type}\t{event.occurred_text}\t"
            f"{_NULL if staff_id is None else staff_id}\t{_NULL if customer_id is None else customer_id}\t"
            f"{_NULL if team_id is None else team_id}\t{event.amount_text or _NULL}\t{event.value_text or _NULL}\t"
            f"{_attributes_text(event)}\t"
            f"{_NULL if event.order_external_id is None else _copy_text(event.order_external_id)}\t"
            f"{credits.copy_text}\t{'pending' if pending else 'counted'}\t{'t' if event.credits else 'f'}\n"
        )
        rows.stored.append((index, event.external_id))

    def credits(self, event: CheckedEvent, staff_id: int | None, order: Credits | None) -> Credits | None:
        if event.credits:
            staff = self.staff
            staff_credits = [(staff[c.staff], c.share) for c in event.credits if c.staff]
            team_shares = [c for c in event.credits if c.team]
            # A team credit in an explicit list goes to that team's pool with its share (one team per event).
            pool = self.teams[team_shares[0].team] if team_shares and team_shares[0].team else None
            pool_share = team_shares[0].share if pool is not None else None
            return Credits(tuple(s for s, _ in staff_credits), tuple(sh for _, sh in staff_credits), pool, pool_share)
        if event.is_refund:
            # Its order in this batch (when that was stored: rows are made orders first), else the stored one.
            return self.batch_credits.get(event.order_external_id or "") or order or Credits()
        if self._by_customer and event.customer is not None:
            customer = self.customers[event.customer]
            days = self.rules.exclusive_guide_days
            assert days is not None
            if (
                customer.guide_staff_id is not None
                and customer.bound_since is not None
                and customer.bound_since <= event.occurred_at < customer.bound_since + timedelta(days=days)
            ):
                return Credits((customer.guide_staff_id,), (ONE,))
        if self._o2o:
            o2o_codes = self.rules.o2o_staff_codes(event)
            if o2o_codes is not None and all(code in self.staff for code in o2o_codes):
                return Credits(
                    tuple(self.staff[code] for code in o2o_codes), tuple(share for _, share in self.rules.o2o_splits)
                )
        if staff_id is not None:
            actor = self._actors.get(staff_id)
            if actor is None:
                actor = self._actors[staff_id] = Credits((staff_id,), (ONE,))
            return actor
        if event.team is not None:
            return Credits((), (), self.teams[event.team])
        return None


_NO_ATTRIBUTION = _("The event names no staff, credits or team: nobody can be credited.")
_ONE_TEAM_CREDIT = _("At most one team credit per event (one team pool).")


def _unknown_staff(index: int, code: str, field: str) -> ItemProblem:
    return Problem(EventErrorCode.UNKNOWN_STAFF, _("No staff with code {code}.", code=repr(code)), field, index)


def _unknown_team(index: int, code: str, field: str) -> ItemProblem:
    return Problem(EventErrorCode.UNKNOWN_TEAM, _("No team with code {code}.", code=repr(code)), field, index)


def _unknown_code(
    index: int,
    event: CheckedEvent,
    staff: Mapping[str, int],
    teams: Mapping[str, int],
    customers: Mapping[str, _Customer],
) -> ItemProblem | None:
    # Codes are quoted with repr: they are the caller's text, control characters included.
    if event.staff and event.staff not in staff:
        return _unknown_staff(index, event.staff, "staff")
    if event.team and event.team not in teams:
        return _unknown_team(index, event.team, "team")
    if event.customer and event.customer not in customers:
        return Problem(
            EventErrorCode.UNKNOWN_CUSTOMER,
            _("No customer with code {code}.", code=repr(event.customer)),
            "customer",
            index,
        )
    for position, credit in enumerate(event.credits or ()):
        if credit.staff and credit.staff not in staff:
            return _unknown_staff(index, credit.staff, f"credits[{position}].staff")
        if credit.team and credit.team not in teams:
            return _unknown_team(index, credit.team, f"credits[{position}].team")
    if sum(1 for credit in event.credits or () if credit.team) > 1:
        return Problem(EventErrorCode.CREDIT_TARGET, _ONE_TEAM_CREDIT, "credits", index)
    return None


# COPY text format: tab-separated columns, \N for NULL, backslash escapes in values.
_NULL = "\\N"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def _attributes_text(event: CheckedEvent) -> str:
    if event.attributes_json is not None:
        return _copy_text(event.attributes_json)
    if not event.attributes:
        return "{}"
    text = _dumps(event.attributes)  # JSON escapes control characters, so only backslashes need COPY escaping
    return text.replace("\\", "\\\\") if "\\" in text else text


_COLUMNS = (
    "external_id, type, occurred_at, staff_id, customer_id, team_id, amount, value, attributes, order_external_id, "
    "credit_staff_ids, credit_shares, pool_team_id, pool_share, status, credits_sent"
)
# Per connection, emptied at each commit; temporary tables have no RLS, `event` keeps its policy on the INSERT.
STAGE_SQL = """
CREATE TEMP TABLE IF NOT EXISTS event_stage (
    external_id text, type text, occurred_at timestamptz, staff_id bigint, customer_id bigint, team_id bigint,
    amount numeric, value numeric, attributes jsonb, order_external_id text, credit_staff_ids bigint[],
    credit_shares numeric[], pool_team_id bigint, pool_share numeric, status text, credits_sent boolean
) ON COMMIT DELETE ROWS
"""
_INSERT = f"""
WITH inserted AS (
    INSERT INTO event (tenant_id, received_at, {_COLUMNS})
    -- A fixed key order: concurrent batches sharing ids wait on each other instead of deadlocking.
    SELECT $1, $2, {_COLUMNS} FROM pg_temp.event_stage ORDER BY external_id
    {{conflict}}
    RETURNING external_id, occurred_at
), stale AS (
    -- A closed period that receives an event is stale: its numbers no longer match its events.
    UPDATE period p SET state = 'stale'
    WHERE p.tenant_id = $1 AND p.state = 'closed'
      AND p.starts_at <= (SELECT max(occurred_at) FROM inserted)
      AND p.ends_at > (SELECT min(occurred_at) FROM inserted)
      AND EXISTS (SELECT 1 FROM inserted i WHERE i.occurred_at >= p.starts_at AND i.occurred_at < p.ends_at)
)
"""
INSERT_ALL_SQL = _INSERT.format(conflict="") + "SELECT count(*) FROM inserted"
INSERT_NEW_SQL = (
    _INSERT.format(conflict="ON CONFLICT (tenant_id, external_id) DO NOTHING") + "SELECT external_id FROM inserted"
)


def _credit_pairs(row: str) -> str:
    # Explicit credits as a set: the same staff and shares in another order are the same credits.
    return (
        f"ARRAY(SELECT ROW(c.staff_id, c.share) FROM unnest({row}.credit_staff_ids, {row}.credit_shares) "
        "AS c(staff_id, share) ORDER BY c.staff_id, c.share)"
    )


# The staged resends of stored events, with the first field (its contract name) whose content differs. Numbers
# compare as numbers, instants as instants, attributes as jsonb (key order and 1.0 vs 1 do not matter). Credits
# resolved by the tenant's rules were not sent: events stored before `credits_sent` existed (NULL) compare credits
# only when the resend sends some.
CONFLICTS_SQL = f"""
SELECT external_id, difference FROM (
    SELECT s.external_id, CASE
        WHEN e.type IS DISTINCT FROM s.type THEN 'type'
        WHEN e.occurred_at IS DISTINCT FROM s.occurred_at THEN 'occurredAt'
        WHEN e.staff_id IS DISTINCT FROM s.staff_id THEN 'staff'
        WHEN e.customer_id IS DISTINCT FROM s.customer_id THEN 'customer'
        WHEN e.team_id IS DISTINCT FROM s.team_id THEN 'team'
        WHEN e.amount IS DISTINCT FROM s.amount THEN 'amount'
        WHEN e.value IS DISTINCT FROM s.value THEN 'value'
        WHEN e.attributes IS DISTINCT FROM s.attributes THEN 'attributes'
        WHEN e.credits_sent IS NOT NULL AND e.credits_sent IS DISTINCT FROM s.credits_sent THEN 'credits'
        WHEN s.credits_sent AND (
            e.pool_team_id IS DISTINCT FROM s.pool_team_id OR e.pool_share IS DISTINCT FROM s.pool_share
            OR {_credit_pairs("e")} IS DISTINCT FROM {_credit_pairs("s")}
        ) THEN 'credits'
    END AS difference
    FROM pg_temp.event_stage s JOIN event e ON e.tenant_id = $1 AND e.external_id = s.external_id
    WHERE s.external_id = ANY($2::text[])
) resent WHERE difference IS NOT NULL
"""
