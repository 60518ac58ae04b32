"""Event ingestion: one pipeline behind both entry points (GraphQL recordEvents and the NDJSON import).

Per batch: check each item's shape (contract.py), resolve the merchant's codes in one query per kind, resolve credits,
then one INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING RETURNING: duplicates (earlier batches, or a
concurrent retry) are exactly the ids the insert did not return, so a retried batch is counted once and reported.
COPY cannot be used: Postgres refuses COPY FROM into a table with row level security.
Closed periods that receive events are marked stale in the same transaction, so a late event is never missed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.events.contract import EventErrorCode, EventIn, ItemProblem, check_semantics, problem_from_validation
from tenants.tenancy.identity import TenantId
from tenants.tenancy.uow import tenant_unit_of_work

ONE = Decimal(1)


@dataclass(frozen=True)
class Duplicate:
    index: int
    external_id: str


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: list[Duplicate] = field(default_factory=list)
    rejected: list[ItemProblem] = field(default_factory=list)

    def merge(self, other: IngestResult) -> None:
        self.accepted += other.accepted
        self.duplicates.extend(other.duplicates)
        self.rejected.extend(other.rejected)


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

    def o2o_staff_codes(self, event: EventIn) -> list[str] | None:
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


@dataclass(frozen=True)
class _Customer:
    id: int
    guide_staff_id: int | None
    bound_since: datetime | None


@dataclass(frozen=True)
class _Row:
    index: int
    event: EventIn
    staff_id: int | None
    customer_id: int | None
    team_id: int | None
    credits: Credits
    status: str


def parse_items(
    items: Iterable[tuple[int, Mapping[str, Any] | bytes | str]],
) -> tuple[list[tuple[int, EventIn]], list[ItemProblem]]:
    """Shape checks; items come as dicts (GraphQL) or raw JSON text (NDJSON lines, parsed and checked in one pass)."""
    valid: list[tuple[int, EventIn]] = []
    problems: list[ItemProblem] = []
    for index, raw in items:
        try:
            event = EventIn.model_validate_json(raw) if isinstance(raw, bytes | str) else EventIn.model_validate(raw)
        except ValidationError as error:
            problems.append(problem_from_validation(index, error))
            continue
        problem = check_semantics(index, event)
        if problem is not None:
            problems.append(problem)
        else:
            valid.append((index, event))
    return valid, problems


async def ingest(
    tenant_id: TenantId,
    items: Iterable[tuple[int, Mapping[str, Any] | bytes | str]],
    *,
    received_at: datetime | None = None,
) -> IngestResult:
    """Store the valid items of one batch (indexes are the caller's: position in the request or the file)."""
    valid, problems = parse_items(items)
    result = IngestResult(rejected=problems)
    first_seen: dict[str, int] = {}
    unique: list[tuple[int, EventIn]] = []
    for index, event in valid:
        if event.external_id in first_seen:
            result.duplicates.append(Duplicate(index, event.external_id))
        else:
            first_seen[event.external_id] = index
            unique.append((index, event))
    if unique:
        async with tenant_unit_of_work(tenant_id) as conn:
            await _store(conn, tenant_id, unique, result, received_at or datetime.now(UTC))
    result.rejected.sort(key=lambda problem: problem.index)
    result.duplicates.sort(key=lambda duplicate: duplicate.index)
    return result


async def _ids_by_code(conn: BaseDBAsyncClient, table: str, codes: set[str]) -> dict[str, int]:
    if not codes:
        return {}
    rows = await conn.execute_query_dict(f"SELECT code, id FROM {table} WHERE code = ANY($1::text[])", [list(codes)])
    return {row["code"]: row["id"] for row in rows}


async def _store(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    items: list[tuple[int, EventIn]],
    result: IngestResult,
    received_at: datetime,
) -> None:
    tenant_rows = await conn.execute_query_dict("SELECT settings FROM tenant WHERE id = $1", [tenant_id])
    settings = tenant_rows[0]["settings"] if tenant_rows else {}
    rules = AttributionRules.from_settings(json.loads(settings) if isinstance(settings, str) else settings)

    staff_codes: set[str] = set()
    team_codes: set[str] = set()
    customer_codes: set[str] = set()
    order_refs: set[str] = set()
    for _, event in items:
        if event.staff:
            staff_codes.add(event.staff)
        if event.team:
            team_codes.add(event.team)
        if event.customer:
            customer_codes.add(event.customer)
        for credit in event.credits or ():
            if credit.staff:
                staff_codes.add(credit.staff)
            if credit.team:
                team_codes.add(credit.team)
        staff_codes.update(rules.o2o_staff_codes(event) or ())
        if event.is_refund and event.order_external_id:
            order_refs.add(event.order_external_id)
    staff = await _ids_by_code(conn, "staff", staff_codes)
    teams = await _ids_by_code(conn, "team", team_codes)
    customers: dict[str, _Customer] = {}
    if customer_codes:
        rows = await conn.execute_query_dict(
            "SELECT code, id, guide_staff_id, bound_since FROM customer WHERE code = ANY($1::text[])",
            [list(customer_codes)],
        )
        customers = {r["code"]: _Customer(r["id"], r["guide_staff_id"], r["bound_since"]) for r in rows}
    batch_orders = {e.external_id: e for _, e in items if not e.is_refund}
    stored_orders: dict[str, Credits] = {}
    missing_refs = [ref for ref in order_refs if ref not in batch_orders]
    if missing_refs:
        rows = await conn.execute_query_dict(
            "SELECT external_id, credit_staff_ids, credit_shares, pool_team_id FROM event "
            "WHERE external_id = ANY($1::text[])",
            [missing_refs],
        )
        stored_orders = {
            r["external_id"]: Credits(tuple(r["credit_staff_ids"]), tuple(r["credit_shares"]), r["pool_team_id"])
            for r in rows
        }

    rows_to_insert: list[_Row] = []
    resolved_credits: dict[str, Credits] = {}
    # Orders before refunds, so a refund can follow its order within one batch.
    for index, event in sorted(items, key=lambda item: (item[1].is_refund, item[0])):
        problem = _unknown_code(index, event, staff, teams, customers)
        if problem is None and event.is_refund:
            ref = event.order_external_id or ""
            if ref not in batch_orders and ref not in stored_orders:
                problem = ItemProblem(
                    index, EventErrorCode.UNKNOWN_ORDER, f"No order {ref!r} for this refund.", "attributes.order"
                )
        if problem is None:
            credits = _credits(event, staff, teams, customers, rules, resolved_credits, stored_orders)
            if credits is None:
                problem = ItemProblem(
                    index,
                    EventErrorCode.NO_ATTRIBUTION,
                    "The event names no staff, credits or team: nobody can be credited.",
                    "staff",
                )
        if problem is not None:
            result.rejected.append(problem)
            continue
        assert credits is not None
        resolved_credits[event.external_id] = credits
        large = (
            rules.large_order_threshold is not None
            and event.type == "order"
            and event.amount is not None
            and event.amount >= rules.large_order_threshold
        )
        rows_to_insert.append(
            _Row(
                index=index,
                event=event,
                staff_id=staff.get(event.staff) if event.staff else None,
                customer_id=customers[event.customer].id if event.customer else None,
                team_id=teams.get(event.team) if event.team else None,
                credits=credits,
                status="pending" if large else "counted",
            )
        )
    if not rows_to_insert:
        return
    inserted = await _insert(conn, tenant_id, rows_to_insert, received_at)
    for row in rows_to_insert:
        if row.event.external_id in inserted:
            result.accepted += 1
        else:
            result.duplicates.append(Duplicate(row.index, row.event.external_id))
    occurred = [row.event.occurred_at for row in rows_to_insert if row.event.external_id in inserted]
    if occurred:
        await mark_periods_stale(conn, occurred)


def _unknown_code(
    index: int,
    event: EventIn,
    staff: Mapping[str, int],
    teams: Mapping[str, int],
    customers: Mapping[str, _Customer],
) -> ItemProblem | None:
    if event.staff and event.staff not in staff:
        return ItemProblem(index, EventErrorCode.UNKNOWN_STAFF, f"No staff with code {event.staff!r}.", "staff")
    if event.team and event.team not in teams:
        return ItemProblem(index, EventErrorCode.UNKNOWN_TEAM, f"No team with code {event.team!r}.", "team")
    if event.customer and event.customer not in customers:
        return ItemProblem(
            index, EventErrorCode.UNKNOWN_CUSTOMER, f"No customer with code {event.customer!r}.", "customer"
        )
    for position, credit in enumerate(event.credits or ()):
        if credit.staff and credit.staff not in staff:
            return ItemProblem(
                index,
                EventErrorCode.UNKNOWN_STAFF,
                f"No staff with code {credit.staff!r}.",
                f"credits[{position}].staff",
            )
        if credit.team and credit.team not in teams:
            return ItemProblem(
                index, EventErrorCode.UNKNOWN_TEAM, f"No team with code {credit.team!r}.", f"credits[{position}].team"
            )
    return None


def _credits(
    event: EventIn,
    staff: Mapping[str, int],
    teams: Mapping[str, int],
    customers: Mapping[str, _Customer],
    rules: AttributionRules,
    batch_credits: Mapping[str, Credits],
    stored_orders: Mapping[str, Credits],
) -> Credits | None:
    """Who is credited, in DESIGN.md's order: explicit credits, a refund's order, binding, O2O split, actor, pool."""
    if event.credits:
        staff_credits = [(staff[c.staff], c.share) for c in event.credits if c.staff]
        team_shares = [c for c in event.credits if c.team]
        # A team credit in an explicit list goes to that team's pool (one pool per event).
        pool = teams[team_shares[0].team] if team_shares and team_shares[0].team else None
        return Credits(tuple(s for s, _ in staff_credits), tuple(sh for _, sh in staff_credits), pool)
    if event.is_refund:
        ref = event.order_external_id or ""
        return batch_credits.get(ref) or stored_orders.get(ref) or Credits()
    customer = customers.get(event.customer) if event.customer else None
    if (
        rules.exclusive_guide_days is not None
        and customer is not None
        and customer.guide_staff_id is not None
        and customer.bound_since is not None
        and customer.bound_since
        <= event.occurred_at
        < customer.bound_since + timedelta(days=rules.exclusive_guide_days)
    ):
        return Credits((customer.guide_staff_id,), (ONE,))
    o2o_codes = rules.o2o_staff_codes(event)
    if o2o_codes is not None and all(code in staff for code in o2o_codes):
        return Credits(tuple(staff[code] for code in o2o_codes), tuple(share for _, share in rules.o2o_splits))
    if event.staff:
        return Credits((staff[event.staff],), (ONE,))
    if event.team:
        return Credits((), (), teams[event.team])
    return None


INSERT_SQL = """
INSERT INTO event (tenant_id, external_id, type, occurred_at, received_at, staff_id, customer_id, team_id, amount,
                   value, attributes, order_external_id, credit_staff_ids, credit_shares, pool_team_id, status)
SELECT $1, e.external_id, e.type, e.occurred_at, $2, e.staff_id, e.customer_id, e.team_id, e.amount, e.value,
       e.attributes::jsonb, e.order_external_id, e.credit_staff_ids::bigint[], e.credit_shares::numeric[],
       e.pool_team_id, e.status
FROM unnest($3::text[], $4::text[], $5::timestamptz[], $6::bigint[], $7::bigint[], $8::bigint[], $9::numeric[],
            $10::numeric[], $11::text[], $12::text[], $13::text[], $14::text[], $15::bigint[], $16::text[])
     AS e(external_id, type, occurred_at, staff_id, customer_id, team_id, amount, value, attributes,
          order_external_id, credit_staff_ids, credit_shares, pool_team_id, status)
ON CONFLICT (tenant_id, external_id) DO NOTHING
RETURNING external_id
"""


def _array_literal(values: Sequence[object]) -> str:
    return "{" + ",".join(str(value) for value in values) + "}"


async def _insert(
    conn: BaseDBAsyncClient, tenant_id: TenantId, rows: Sequence[_Row], received_at: datetime
) -> set[str]:
    columns: list[list[Any]] = [[] for _ in range(14)]
    for row in rows:
        event = row.event
        values = (
            event.external_id,
            event.type,
            event.occurred_at,
            row.staff_id,
            row.customer_id,
            row.team_id,
            event.amount,
            event.value,
            json.dumps(event.attributes, ensure_ascii=False, separators=(",", ":")),
            event.order_external_id if event.is_refund else None,
            _array_literal(row.credits.staff_ids),
            _array_literal(row.credits.shares),
            row.credits.pool_team_id,
            row.status,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    returned = await conn.execute_query_dict(INSERT_SQL, [tenant_id, received_at, *columns])
    return {record["external_id"] for record in returned}


async def mark_periods_stale(conn: BaseDBAsyncClient, occurred: Sequence[datetime]) -> None:
    """A closed period that receives an event is stale: its numbers no longer match its events."""
    await conn.execute_query(
        "UPDATE period p SET state = 'stale' WHERE p.state = 'closed' AND p.starts_at <= $2 AND p.ends_at > $1 "
        "AND EXISTS (SELECT 1 FROM unnest($3::timestamptz[]) AS t(at) WHERE t.at >= p.starts_at AND t.at < p.ends_at)",
        [min(occurred), max(occurred), list(occurred)],
    )
