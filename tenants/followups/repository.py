"""The statement that finds overdue orders of one follow-up rule; it takes the unit of work's connection.

One statement per rule: the rule's `after` events (orders) whose deadline passed, without a `needs` event by the same
staff member (for the same customer when the order names one) between the order and its deadline (both ends
included), and without the missed follow-up emitted already (its external id derived in the statement exactly as
tenants/rules/followups.missed_external_id does, hashed order ids included). The probe per order is an index lookup on
event (tenant_id, staff_id, customer_id, occurred_at).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.rules.followups import MAX_EXTERNAL_ID, MISSED_PREFIX
from tenants.tenancy.identity import TenantId


@dataclass(frozen=True)
class OverdueOrder:
    external_id: str
    occurred_at: datetime
    staff_code: str
    customer_code: str | None


async def overdue_orders(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    *,
    after_type: str,
    needs_type: str,
    within: timedelta,
    since: datetime,
    overdue_before: datetime,
    limit: int,
) -> list[OverdueOrder]:
    """Orders from `since` whose deadline (occurred_at + within) is before `overdue_before`, oldest first."""
    rows = await conn.execute_query_dict(
        """
        SELECT o.external_id, o.occurred_at, s.code AS staff_code, cu.code AS customer_code
        FROM event o
        JOIN staff s ON s.tenant_id = o.tenant_id AND s.id = o.staff_id
        LEFT JOIN customer cu ON cu.tenant_id = o.tenant_id AND cu.id = o.customer_id
        WHERE o.tenant_id = $1 AND o.type = $2 AND o.status = 'counted' AND o.staff_id IS NOT NULL
          AND o.occurred_at >= $4 AND o.occurred_at < $5::timestamptz - $6::interval
          AND NOT EXISTS (
              SELECT 1 FROM event f
              WHERE f.tenant_id = o.tenant_id AND f.staff_id = o.staff_id
                AND (o.customer_id IS NULL OR f.customer_id = o.customer_id)
                AND f.type = $3 AND f.status = 'counted'
                AND f.occurred_at >= o.occurred_at AND f.occurred_at <= o.occurred_at + $6::interval
          )
          AND NOT EXISTS (
              -- missed_external_id (tenants/rules/followups.py), as an expression of the order's row
              SELECT 1 FROM event m WHERE m.tenant_id = o.tenant_id AND m.external_id = CASE
                  WHEN length($7 || $3 || ':' || o.external_id) <= $9 THEN $7 || $3 || ':' || o.external_id
                  ELSE $7 || $3 || ':#' || encode(sha256(convert_to(o.external_id, 'UTF8')), 'hex') END
          )
        ORDER BY o.occurred_at, o.id
        LIMIT $8
        """,
        [tenant_id, after_type, needs_type, since, overdue_before, within, MISSED_PREFIX, limit, MAX_EXTERNAL_ID],
    )
    return [
        OverdueOrder(row["external_id"], row["occurred_at"], row["staff_code"], row["customer_code"]) for row in rows
    ]


async def tenants_with_rules(conn: BaseDBAsyncClient) -> list[int]:
    """Tenant ids (a platform unit of work; service_rules is read per tenant afterwards under its own policy)."""
    rows = await conn.execute_query_dict("SELECT id FROM tenant ORDER BY id")
    return [int(row["id"]) for row in rows]
