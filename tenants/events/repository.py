"""Every SQL statement of the events domain. Each function takes the unit of work's connection (never opens one).

Statements go through the transaction's Tortoise connection as raw SQL (they are set-based: staged rows, arrays of
ids, joins for codes; none is a QuerySet). The one exception is COPY, which Tortoise does not offer: `_asyncpg` reaches
the asyncpg connection behind the transaction for it, here and nowhere else. The merchant's staff and team codes are
looked up with `tenants.db.ids_by_code`; jsonb is read with `tenants.db.codecs.json_value`.

Bulk path. Postgres refuses COPY FROM into a table with row level security, so `stage` copies the rows (COPY text
format, built by rows.py) into a temporary staging table, which has no RLS, and `insert_staged` /
`insert_staged_new` move them into `event` with one INSERT ... SELECT, which the `event` policy checks like any insert.
The same statement marks stale the closed periods the new events fall in (`_MARK_STALE`, shared with the confirmation
of large orders), so a late event is never missed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from tenants.access.scope import AccessScope
from tenants.db.codecs import json_value
from tenants.db.params import BindParams
from tenants.locks import ingestion_lock_key
from tenants.rules.attribution import Credits, GuideBinding, binding_at
from tenants.tenancy.identity import TenantId

# The unique index of (tenant_id, external_id): a resent or concurrently sent externalId.
EXTERNAL_ID_INDEX = "event_external_id_uniq"


class ExternalIdTaken(Exception):
    """The staged rows hold an externalId that is already stored (or being stored by a concurrent transaction); the
    transaction is aborted: store the batch again with `insert_staged_new`."""


@dataclass(frozen=True, slots=True)
class StoredCustomer:
    id: int
    binding: GuideBinding  # as it is now
    # Every binding since history began (customer_binding, by bound_since); None: not read (no guide rule applies).
    history: tuple[GuideBinding, ...] | None = None

    def binding_at(self, moment: datetime) -> GuideBinding | None:
        """The binding in force at `moment`: a rebinding moves only the orders after it."""
        binding = self.binding
        if self.history:
            return binding_at(self.history, moment)
        if binding.bound_since is None or binding.bound_since > moment:
            return None
        return binding


@dataclass(frozen=True, slots=True)
class StoredOrder:
    credits: Credits
    pending: bool  # waiting for a manager's confirmation (its refunds wait with it)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored event as listed: the merchant's codes instead of our ids."""

    id: int
    external_id: str
    type: str
    occurred_at: datetime
    received_at: datetime
    staff_code: str | None
    customer_code: str | None
    team_code: str | None
    amount: Decimal | None
    value: Decimal | None
    attributes: dict[str, Any]
    status: str


def _asyncpg(conn: BaseDBAsyncClient) -> asyncpg.Connection:
    """The asyncpg connection of a Tortoise transaction, for COPY (which Tortoise does not offer). It reaches into
    Tortoise's private `_connection`: only `stage` uses it."""
    connection = conn._connection
    assert isinstance(connection, asyncpg.Connection)
    return connection


async def hold_ingestion_lock(conn: BaseDBAsyncClient, tenant_id: TenantId) -> None:
    """Shared: ingestions (and confirmations) run side by side; a running close (exclusive) holds them until it
    committed (tenants/locks.py)."""
    await conn.execute_query("SELECT pg_advisory_xact_lock_shared($1)", [ingestion_lock_key(tenant_id)])


@dataclass(frozen=True, slots=True)
class TimelineSource:
    """What a batch needs to know the rules by instant: the versions (id, start, config) and the legacy settings."""

    settings: Mapping[str, Any]
    versions: list[tuple[int, datetime, dict[str, Any]]]  # by effective_at, then number


async def timeline_source(conn: BaseDBAsyncClient, tenant_id: TenantId) -> TimelineSource:
    """The versions and the legacy settings in one statement (ingestion runs it once per batch)."""
    rows = await conn.execute_query_dict(
        "SELECT t.settings, v.id, v.effective_at, v.config FROM tenant t "
        "LEFT JOIN attribution_rule_version v ON v.tenant_id = t.id "
        "WHERE t.id = $1 ORDER BY v.effective_at, v.number",
        [tenant_id],
    )
    if not rows:
        return TimelineSource({}, [])
    settings = json_value(rows[0]["settings"]) or {}
    versions = [(row["id"], row["effective_at"], json_value(row["config"])) for row in rows if row["id"] is not None]
    return TimelineSource(settings, versions)


async def customers_by_code(
    conn: BaseDBAsyncClient, tenant_id: TenantId, codes: Iterable[str], *, with_history: bool = False
) -> dict[str, StoredCustomer]:
    """The stored customers with these codes, with their exclusive guide binding (and, `with_history`, every binding
    since history began: an order is credited by the binding of its own time)."""
    lookup = sorted(set(codes))
    if not lookup:
        return {}
    history = (
        ", ARRAY(SELECT b.guide_staff_id FROM customer_binding b WHERE b.tenant_id = c.tenant_id "
        "AND b.customer_id = c.id ORDER BY b.bound_since) AS history_guides, "
        "ARRAY(SELECT b.bound_since FROM customer_binding b WHERE b.tenant_id = c.tenant_id "
        "AND b.customer_id = c.id ORDER BY b.bound_since) AS history_since"
        if with_history
        else ""
    )
    rows = await conn.execute_query_dict(
        f"SELECT c.code, c.id, c.guide_staff_id, c.bound_since{history} FROM customer c "
        "WHERE c.tenant_id = $1 AND c.code = ANY($2::text[])",
        [tenant_id, lookup],
    )
    return {row["code"]: _stored_customer(row, with_history) for row in rows}


def _stored_customer(row: Mapping[str, Any], with_history: bool) -> StoredCustomer:
    binding = GuideBinding(row["guide_staff_id"], row["bound_since"])
    if not with_history:
        return StoredCustomer(row["id"], binding)
    history = tuple(
        GuideBinding(guide, since)
        for guide, since in zip(row["history_guides"] or (), row["history_since"] or (), strict=True)
    )
    return StoredCustomer(row["id"], binding, history)


# New codes in a fixed order (concurrent batches naming the same new customers wait on each other instead of
# deadlocking); a code a concurrent batch is creating waits for it and is then left to that batch (DO NOTHING).
_CREATE_CUSTOMERS = """
INSERT INTO customer AS c (tenant_id, code, name, created_from_event, created_at, updated_at)
SELECT $1, code, '', true, now(), now() FROM unnest($2::text[]) AS code ORDER BY code
ON CONFLICT (tenant_id, code) DO NOTHING
RETURNING c.code, c.id
"""


async def create_customers(
    conn: BaseDBAsyncClient, tenant_id: TenantId, codes: Iterable[str], *, with_history: bool = False
) -> tuple[dict[str, StoredCustomer], int]:
    """Customers first seen in an event: created (empty name, marked as created from an event) unless they exist by
    now; every code's customer, and how many this call created."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}, 0
    rows = await conn.execute_query_dict(_CREATE_CUSTOMERS, [tenant_id, wanted])
    found = {
        row["code"]: StoredCustomer(row["id"], GuideBinding(None, None), () if with_history else None) for row in rows
    }
    missing = [code for code in wanted if code not in found]
    if missing:
        # Created by a concurrent batch that committed while this insert waited: read them now.
        found.update(await customers_by_code(conn, tenant_id, missing, with_history=with_history))
    return found, len(rows)


async def stored_orders(
    conn: BaseDBAsyncClient, tenant_id: TenantId, external_ids: Iterable[str]
) -> dict[str, StoredOrder]:
    """Stored events with these externalIds (a refund's orders), with the credits they were stored with."""
    rows = await conn.execute_query_dict(
        "SELECT external_id, credit_staff_ids, credit_shares, pool_team_id, pool_share, status FROM event "
        "WHERE tenant_id = $1 AND external_id = ANY($2::text[])",
        [tenant_id, list(external_ids)],
    )
    return {
        row["external_id"]: StoredOrder(
            Credits(
                tuple(row["credit_staff_ids"]), tuple(row["credit_shares"]), row["pool_team_id"], row["pool_share"]
            ),
            row["status"] == "pending",
        )
        for row in rows
    }


_COLUMNS = (
    "external_id, type, occurred_at, staff_id, customer_id, team_id, amount, value, attributes, order_external_id, "
    "credit_staff_ids, credit_shares, pool_team_id, pool_share, status, credits_sent"
)
# Per connection, emptied at each commit; temporary tables have no RLS, `event` keeps its policy on the INSERT.
# rows.py writes COPY text rows of these columns, in this order.
_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS event_stage (
    external_id text, type text, occurred_at timestamptz, staff_id bigint, customer_id bigint, team_id bigint,
    amount numeric, value numeric, attributes jsonb, order_external_id text, credit_staff_ids bigint[],
    credit_shares numeric[], pool_team_id bigint, pool_share numeric, status text, credits_sent boolean
) ON COMMIT DELETE ROWS
"""


async def stage(conn: BaseDBAsyncClient, lines: Sequence[str]) -> None:
    """Add COPY text rows (each ending with a newline) to this transaction's staging table."""
    connection = _asyncpg(conn)
    await connection.execute(_STAGE)
    await connection.copy_to_table(
        "event_stage",
        schema_name="pg_temp",
        source=memoryview("".join(lines).encode()),  # a buffer: bytes would be taken for a file name
    )


def _mark_stale(events: str, *, older_than_watermark: bool) -> str:
    """Mark stale the tenant's ($1) closed periods that the events of relation `events` (an `occurred_at` column)
    fall in: their numbers no longer match their events, a re-close must make revision n+1.

    `older_than_watermark`: the events may have ids below a period's watermark (a large order stored long ago and
    confirmed now), so every period closed before (revision > 0, whatever its state now) also forgets its watermark:
    its re-close aggregates the whole period, not only the events received after the last close.
    """
    if older_than_watermark:
        changes = "state = CASE WHEN p.state = 'closed' THEN 'stale' ELSE p.state END, watermark_event_id = NULL"
        periods = "p.revision > 0"
    else:
        changes = "state = 'stale'"
        periods = "p.state = 'closed'"
    return f"""
    UPDATE period p SET {changes}
    WHERE p.tenant_id = $1 AND {periods}
      AND p.starts_at <= (SELECT max(occurred_at) FROM {events})
      AND p.ends_at > (SELECT min(occurred_at) FROM {events})
      AND EXISTS (SELECT 1 FROM {events} e WHERE e.occurred_at >= p.starts_at AND e.occurred_at < p.ends_at)
    """


_INSERT = f"""
WITH inserted AS (
    INSERT INTO event (tenant_id, received_at, {_COLUMNS})
    -- A fixed key order: concurrent batches sharing ids wait on each other instead of deadlocking.
    SELECT $1, $2, {_COLUMNS} FROM pg_temp.event_stage ORDER BY external_id
    {{conflict}}
    RETURNING external_id, occurred_at
), stale AS ({_mark_stale("inserted", older_than_watermark=False)})
"""
_INSERT_ALL = _INSERT.format(conflict="") + "SELECT count(*) AS n FROM inserted"
_INSERT_NEW = (
    _INSERT.format(conflict="ON CONFLICT (tenant_id, external_id) DO NOTHING") + "SELECT external_id FROM inserted"
)


async def insert_staged(conn: BaseDBAsyncClient, tenant_id: TenantId, received_at: datetime) -> int:
    """Insert every staged row (the common case: nothing is a duplicate); how many. Raises `ExternalIdTaken` when
    the unique index refuses one: no ON CONFLICT here, so a batch of new events pays nothing for duplicates."""
    try:
        rows = await conn.execute_query_dict(_INSERT_ALL, [tenant_id, received_at])
    except IntegrityError as error:
        cause = error.__cause__
        if isinstance(cause, asyncpg.UniqueViolationError) and cause.constraint_name == EXTERNAL_ID_INDEX:
            raise ExternalIdTaken from error
        raise
    inserted: int = rows[0]["n"]
    return inserted


async def insert_staged_new(conn: BaseDBAsyncClient, tenant_id: TenantId, received_at: datetime) -> set[str]:
    """Insert the staged rows whose externalId is not stored yet (also against concurrent retries, which this
    waits for); the externalIds inserted."""
    rows = await conn.execute_query_dict(_INSERT_NEW, [tenant_id, received_at])
    return {row["external_id"] for row in rows}


def _credit_pairs(row: str) -> str:
    # Explicit credits as a set: the same staff and shares in another order are the same credits.
    return (
        f"ARRAY(SELECT ROW(c.staff_id, c.share) FROM unnest({row}.credit_staff_ids, {row}.credit_shares) "
        "AS c(staff_id, share) ORDER BY c.staff_id, c.share)"
    )


# The staged resends of stored events, with the first field (its contract name) whose content differs. Numbers
# compare as numbers, instants as instants, attributes as jsonb (key order and 1.0 vs 1 do not matter). Credits
# resolved by the tenant's rules were not sent: events stored before `credits_sent` existed (NULL) compare credits
# only when the resend sends some. The same comparison as checks.sent_difference, for stored events.
_RESENT_DIFFERENCES = f"""
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


async def resent_differences(
    conn: BaseDBAsyncClient, tenant_id: TenantId, external_ids: Sequence[str]
) -> dict[str, str]:
    """Of these staged externalIds that are stored already, those sent with other content: externalId -> the first
    field that differs (the others are plain duplicates)."""
    rows = await conn.execute_query_dict(_RESENT_DIFFERENCES, [tenant_id, list(external_ids)])
    return {row["external_id"]: row["difference"] for row in rows}


def order_scope_condition(params: BindParams, scope: AccessScope) -> None:
    """The caller's scope (tenants/access/scope.py): a manager sees an order when its team, its pool team, its actor
    or a credited staff member is in one of their teams, or when it is their own; a staff login, its own orders
    (made or shared in); the whole tenant: every order."""
    if scope.team_ids is None:
        return
    conditions: list[str] = []
    if scope.team_ids:
        teams = params.add(sorted(scope.team_ids))
        conditions.append(
            f"e.team_id = ANY({teams}::bigint[]) OR e.pool_team_id = ANY({teams}::bigint[]) OR EXISTS ("
            "SELECT 1 FROM staff m WHERE m.tenant_id = e.tenant_id AND m.team_id = ANY("
            f"{teams}::bigint[]) AND (m.id = e.staff_id OR m.id = ANY(e.credit_staff_ids)))"
        )
    if scope.staff_id is not None:
        own = params.add(scope.staff_id)
        conditions.append(f"e.staff_id = {own} OR {own} = ANY(e.credit_staff_ids)")
    params.where(f"({' OR '.join(conditions)})" if conditions else "FALSE")


async def confirm_pending_orders(
    conn: BaseDBAsyncClient, tenant_id: TenantId, external_ids: Sequence[str], scope: AccessScope | None = None
) -> list[tuple[str, datetime]]:
    """Pending orders with these externalIds (within `scope`, when given) now count: (externalId, occurredAt) of
    each."""
    params = BindParams(tenant_id, list(external_ids))
    params.where("e.tenant_id = $1 AND e.external_id = ANY($2::text[]) AND e.status = 'pending'")
    if scope is not None:
        order_scope_condition(params, scope)
    rows = await conn.execute_query_dict(
        f"UPDATE event e SET status = 'counted' WHERE {params.sql} RETURNING e.external_id, e.occurred_at",
        params.values,
    )
    return [(row["external_id"], row["occurred_at"]) for row in rows]


async def confirm_pending_refunds(
    conn: BaseDBAsyncClient, tenant_id: TenantId, order_external_ids: Sequence[str]
) -> list[tuple[str, datetime]]:
    """The pending refunds of these orders (they waited with them) now count: (externalId, occurredAt) of each."""
    rows = await conn.execute_query_dict(
        "UPDATE event SET status = 'counted' WHERE tenant_id = $1 AND type = 'refund' "
        "AND order_external_id = ANY($2::text[]) AND status = 'pending' RETURNING external_id, occurred_at",
        [tenant_id, list(order_external_ids)],
    )
    return [(row["external_id"], row["occurred_at"]) for row in rows]


_MARK_STALE_CONFIRMED = "WITH confirmed AS (SELECT unnest($2::timestamptz[]) AS occurred_at)" + _mark_stale(
    "confirmed", older_than_watermark=True
)


async def mark_periods_stale_for_confirmed(
    conn: BaseDBAsyncClient, tenant_id: TenantId, occurred_at: Sequence[datetime]
) -> None:
    """Events stored earlier (below the watermarks) that count from now on: the periods they fall in must be
    re-closed, over the whole period."""
    await conn.execute_query_dict(_MARK_STALE_CONFIRMED, [tenant_id, list(occurred_at)])
