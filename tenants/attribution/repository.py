"""Every SQL statement of the attribution domain. Each function takes the unit of work's connection (never opens one)
and filters by tenant as well as relying on RLS, so another tenant's rows read as absent.

Rule versions are append-only (a trigger refuses UPDATE and DELETE). Credits are updated set-based: one statement for
many events (arrays bound as parameters), never a statement per event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.access.scope import AccessScope
from tenants.db.codecs import json_value
from tenants.db.paging import Page, PageRequest
from tenants.db.params import BindParams
from tenants.events import repository as events
from tenants.locks import advisory_key
from tenants.rules.attribution import Credits, GuideBinding
from tenants.tenancy.identity import TenantId


@dataclass(frozen=True, slots=True)
class RuleVersion:
    id: int
    number: int
    config: dict[str, Any]
    effective_from: date
    effective_at: datetime
    created_by_user_id: int | None
    created_by_api_key_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CreditRecord:
    staff_id: int | None
    staff_code: str | None
    team_id: int | None
    team_code: str | None
    share: Decimal | None  # a pool credit without a share takes the whole amount


@dataclass(frozen=True, slots=True)
class PendingRecord:
    """An order waiting for a manager's confirmation, with the merchant's codes."""

    id: int
    external_id: str
    occurred_at: datetime
    amount: Decimal | None
    staff_code: str | None
    customer_code: str | None
    team_code: str | None
    attributes: dict[str, Any]
    credits: list[CreditRecord]


@dataclass(frozen=True, slots=True)
class LockedEvent:
    id: int
    external_id: str
    type: str
    status: str
    occurred_at: datetime
    staff_id: int | None
    team_id: int | None
    credits: Credits
    credits_edited: bool


@dataclass(frozen=True, slots=True)
class StoredForRederive:
    """An event whose credits came from the rules (not sent, not edited): what re-deriving them needs."""

    id: int
    occurred_at: datetime
    staff_id: int | None
    customer_id: int | None
    team_id: int | None
    attributes: dict[str, Any]
    credits: Credits


# --- rule versions ----------------------------------------------------------------------------------------------------


async def lock_rules(conn: BaseDBAsyncClient, tenant_id: TenantId) -> None:
    """Serialises saves of one tenant's rules (numbers are max + 1) until the unit of work ends."""
    await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [advisory_key("attribution-rules", tenant_id)])


async def tenant_timezone(conn: BaseDBAsyncClient, tenant_id: TenantId) -> str:
    rows = await conn.execute_query_dict("SELECT timezone FROM tenant WHERE id = $1", [tenant_id])
    return str(rows[0]["timezone"]) if rows else "Asia/Shanghai"


_VERSION_COLUMNS = (
    "id, number, config, effective_from, effective_at, created_by_user_id, created_by_api_key_id, created_at"
)


def _version(row: Mapping[str, Any]) -> RuleVersion:
    return RuleVersion(
        id=row["id"],
        number=row["number"],
        config=json_value(row["config"]),
        effective_from=row["effective_from"],
        effective_at=row["effective_at"],
        created_by_user_id=row["created_by_user_id"],
        created_by_api_key_id=row["created_by_api_key_id"],
        created_at=row["created_at"],
    )


async def rule_versions(conn: BaseDBAsyncClient, tenant_id: TenantId) -> list[RuleVersion]:
    """Every version, by number."""
    rows = await conn.execute_query_dict(
        f"SELECT {_VERSION_COLUMNS} FROM attribution_rule_version WHERE tenant_id = $1 ORDER BY number", [tenant_id]
    )
    return [_version(row) for row in rows]


async def insert_version(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    *,
    config: dict[str, Any],
    effective_from: date,
    effective_at: datetime,
    user_id: int | None,
    api_key_id: int | None,
) -> RuleVersion:
    """The next number (callers hold `lock_rules`)."""
    rows = await conn.execute_query_dict(
        "INSERT INTO attribution_rule_version (tenant_id, number, config, effective_from, effective_at, "
        "created_by_user_id, created_by_api_key_id) SELECT $1, coalesce(max(number), 0) + 1, $2::jsonb, $3, $4, $5, $6 "
        f"FROM attribution_rule_version WHERE tenant_id = $1 RETURNING {_VERSION_COLUMNS}",
        [tenant_id, json.dumps(config), effective_from, effective_at, user_id, api_key_id],
    )
    return _version(rows[0])


# --- pending orders ---------------------------------------------------------------------------------------------------


_CREDIT_CODES = """
ARRAY(SELECT st.code FROM unnest(e.credit_staff_ids) WITH ORDINALITY AS u(id, n)
      LEFT JOIN staff st ON st.tenant_id = e.tenant_id AND st.id = u.id ORDER BY u.n) AS credit_codes
"""


async def pending_page(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    page: PageRequest,
    scope: AccessScope,
) -> Page[PendingRecord]:
    """Orders waiting for a manager, oldest first, within the caller's scope, with the total."""
    params = BindParams(tenant_id)
    params.where("e.tenant_id = $1")
    params.where("e.status = 'pending'")
    params.where("e.type <> 'refund'")  # a refund of a pending order waits with it and is confirmed with it
    events.order_scope_condition(params, scope)
    base = (
        "FROM event e LEFT JOIN staff s ON s.tenant_id = e.tenant_id AND s.id = e.staff_id "
        "LEFT JOIN customer c ON c.tenant_id = e.tenant_id AND c.id = e.customer_id "
        "LEFT JOIN team t ON t.tenant_id = e.tenant_id AND t.id = e.team_id "
        "LEFT JOIN team p ON p.tenant_id = e.tenant_id AND p.id = e.pool_team_id "
        f"WHERE {params.sql}"
    )
    total = await conn.execute_query_dict(f"SELECT count(*) AS n {base}", params.values)
    limit, offset = params.add(page.limit), params.add(page.offset)
    rows = await conn.execute_query_dict(
        "SELECT e.id, e.external_id, e.occurred_at, e.amount, e.attributes, e.credit_staff_ids, e.credit_shares, "
        "e.pool_team_id, e.pool_share, s.code AS staff_code, c.code AS customer_code, t.code AS team_code, "
        f"p.code AS pool_code, {_CREDIT_CODES} {base} ORDER BY e.occurred_at, e.id LIMIT {limit} OFFSET {offset}",
        params.values,
    )
    return Page(items=[_pending(row) for row in rows], total=total[0]["n"], limit=page.limit, offset=page.offset)


def _pending(row: Mapping[str, Any]) -> PendingRecord:
    credits = [
        CreditRecord(staff_id, code, None, None, share)
        for staff_id, code, share in zip(
            row["credit_staff_ids"], row["credit_codes"], row["credit_shares"], strict=True
        )
    ]
    if row["pool_team_id"] is not None:
        credits.append(CreditRecord(None, None, row["pool_team_id"], row["pool_code"], row["pool_share"]))
    return PendingRecord(
        id=row["id"],
        external_id=row["external_id"],
        occurred_at=row["occurred_at"],
        amount=row["amount"],
        staff_code=row["staff_code"],
        customer_code=row["customer_code"],
        team_code=row["team_code"],
        attributes=json_value(row["attributes"]),
        credits=credits,
    )


async def lock_event(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    event_id: int,
    scope: AccessScope,
) -> LockedEvent | None:
    """The event, row-locked until the unit of work ends, when it is in the caller's scope."""
    params = BindParams(tenant_id)
    params.where("e.tenant_id = $1")
    params.where(f"e.id = {params.add(event_id)}")
    events.order_scope_condition(params, scope)
    rows = await conn.execute_query_dict(
        "SELECT e.id, e.external_id, e.type, e.status, e.occurred_at, e.staff_id, e.team_id, e.credit_staff_ids, "
        f"e.credit_shares, e.pool_team_id, e.pool_share, e.credits_edited FROM event e WHERE {params.sql} "
        "FOR UPDATE OF e",
        params.values,
    )
    if not rows:
        return None
    row = rows[0]
    return LockedEvent(
        id=row["id"],
        external_id=row["external_id"],
        type=row["type"],
        status=row["status"],
        occurred_at=row["occurred_at"],
        staff_id=row["staff_id"],
        team_id=row["team_id"],
        credits=_credits(row),
        credits_edited=row["credits_edited"],
    )


def _credits(row: Mapping[str, Any]) -> Credits:
    return Credits(tuple(row["credit_staff_ids"]), tuple(row["credit_shares"]), row["pool_team_id"], row["pool_share"])


async def set_event_credits(conn: BaseDBAsyncClient, tenant_id: TenantId, event_id: int, credits: Credits) -> None:
    """A manager's credits for one event (kept by later reattributions)."""
    await conn.execute_query(
        "UPDATE event SET credit_staff_ids = $3::bigint[], credit_shares = $4::numeric[], pool_team_id = $5, "
        "pool_share = $6, credits_edited = true WHERE tenant_id = $1 AND id = $2",
        [tenant_id, event_id, list(credits.staff_ids), list(credits.shares), credits.pool_team_id, credits.pool_share],
    )


# Refunds credited by the rules follow their order's credits (the clawback hits whoever the sale was credited to).
_FOLLOW_ORDERS = """
UPDATE event r SET credit_staff_ids = o.credit_staff_ids, credit_shares = o.credit_shares,
    pool_team_id = o.pool_team_id, pool_share = o.pool_share
FROM event o
WHERE r.tenant_id = $1 AND o.tenant_id = $1 AND r.type = 'refund' AND r.credits_sent IS FALSE
  AND NOT r.credits_edited AND o.external_id = r.order_external_id AND ({which})
  AND (r.credit_staff_ids, r.credit_shares, r.pool_team_id, r.pool_share)
      IS DISTINCT FROM (o.credit_staff_ids, o.credit_shares, o.pool_team_id, o.pool_share)
RETURNING r.occurred_at
"""


async def refunds_follow_orders(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    order_ids: Sequence[int],
    occurred_from: datetime | None = None,
    occurred_to: datetime | None = None,
) -> list[datetime]:
    """Refunds (credited by the rules) of these orders, and of any order when the refund occurred in [from, to), take
    their order's stored credits where they differ; the occurredAt of each refund changed."""
    if occurred_from is not None and occurred_to is not None:
        which = "o.id = ANY($2::bigint[]) OR (r.occurred_at >= $3 AND r.occurred_at < $4)"
        params: list[Any] = [tenant_id, list(order_ids), occurred_from, occurred_to]
    else:
        which = "o.id = ANY($2::bigint[])"
        params = [tenant_id, list(order_ids)]
    rows = await conn.execute_query_dict(_FOLLOW_ORDERS.format(which=which), params)
    return [row["occurred_at"] for row in rows]


# --- reattribution ----------------------------------------------------------------------------------------------------


async def rederivable_events(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    occurred_from: datetime,
    occurred_to: datetime,
    after_id: int,
    limit: int,
) -> list[StoredForRederive]:
    """The next `limit` events (by id, after `after_id`) in [from, to) whose credits the rules resolved: not sent,
    not set by a manager, not refunds (those follow their order)."""
    rows = await conn.execute_query_dict(
        "SELECT id, occurred_at, staff_id, customer_id, team_id, attributes, credit_staff_ids, credit_shares, "
        "pool_team_id, pool_share FROM event WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3 "
        "AND id > $4 AND credits_sent IS FALSE AND NOT credits_edited AND type <> 'refund' ORDER BY id LIMIT $5",
        [tenant_id, occurred_from, occurred_to, after_id, limit],
    )
    return [
        StoredForRederive(
            id=row["id"],
            occurred_at=row["occurred_at"],
            staff_id=row["staff_id"],
            customer_id=row["customer_id"],
            team_id=row["team_id"],
            attributes=json_value(row["attributes"]),
            credits=_credits(row),
        )
        for row in rows
    ]


async def binding_histories(
    conn: BaseDBAsyncClient, tenant_id: TenantId, customer_ids: Iterable[int]
) -> dict[int, tuple[GuideBinding, ...]]:
    """Every binding of these customers since history began, by bound_since."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return {}
    rows = await conn.execute_query_dict(
        "SELECT customer_id, guide_staff_id, bound_since FROM customer_binding "
        "WHERE tenant_id = $1 AND customer_id = ANY($2::bigint[]) ORDER BY customer_id, bound_since",
        [tenant_id, wanted],
    )
    histories: dict[int, list[GuideBinding]] = {}
    for row in rows:
        histories.setdefault(row["customer_id"], []).append(GuideBinding(row["guide_staff_id"], row["bound_since"]))
    return {customer_id: tuple(history) for customer_id, history in histories.items()}


def _array_text(values: Iterable[object]) -> str:
    return "{" + ",".join(str(value) for value in values) + "}"


async def update_credits(
    conn: BaseDBAsyncClient, tenant_id: TenantId, changes: Sequence[tuple[int, Credits]]
) -> list[datetime]:
    """New credits for many events in one statement; the occurredAt of each event changed."""
    if not changes:
        return []
    rows = await conn.execute_query_dict(
        "UPDATE event e SET credit_staff_ids = x.staff::bigint[], credit_shares = x.shares::numeric[], "
        "pool_team_id = x.pool, pool_share = x.pool_share "
        "FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::numeric[]) "
        "AS x(id, staff, shares, pool, pool_share) WHERE e.tenant_id = $1 AND e.id = x.id RETURNING e.occurred_at",
        [
            tenant_id,
            [event_id for event_id, _ in changes],
            [_array_text(credits.staff_ids) for _, credits in changes],
            [_array_text(credits.shares) for _, credits in changes],
            [credits.pool_team_id for _, credits in changes],
            [credits.pool_share for _, credits in changes],
        ],
    )
    return [row["occurred_at"] for row in rows]
