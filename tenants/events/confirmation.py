"""Large orders wait for a manager's confirmation (DESIGN.md "Events") before they count.

Confirming flips `pending` to `counted`. A confirmed order may fall in a period that is already closed: that period
becomes stale, and its watermark is cleared because the order's id is older than the watermark, so the re-close must
aggregate the whole period instead of only the events received after the last close.

At most MAX_CONFIRM ids per call: more are refused whole (an `EventError` TOO_MANY_ITEMS), nothing confirmed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tenants.audit.service import Actor, record
from tenants.events.contract import EventError, EventErrorCode
from tenants.i18n import _
from tenants.locks import ingestion_lock_key
from tenants.tenancy.identity import TenantId
from tenants.tenancy.uow import tenant_unit_of_work

MAX_CONFIRM = 1_000


@dataclass(frozen=True)
class ConfirmResult:
    confirmed: list[str]
    not_pending: list[str]  # unknown ids, other tenants' ids, and orders already counted


async def confirm_large_orders(tenant_id: TenantId, actor: Actor, external_ids: Sequence[str]) -> ConfirmResult:
    if len(external_ids) > MAX_CONFIRM:
        raise EventError.of(
            EventErrorCode.TOO_MANY_ITEMS,
            _(
                "At most {limit:,} order ids per call; got {count:,}. Nothing was confirmed.",
                limit=MAX_CONFIRM,
                count=len(external_ids),
            ),
            "externalIds",
        )
    wanted = list(dict.fromkeys(external_ids))
    async with tenant_unit_of_work(tenant_id) as conn:
        # Like an ingestion: never between a running close's aggregation and its commit (see tenants/locks.py).
        await conn.execute_query("SELECT pg_advisory_xact_lock_shared($1)", [ingestion_lock_key(tenant_id)])
        rows = await conn.execute_query_dict(
            "UPDATE event SET status = 'counted' WHERE tenant_id = $1 AND external_id = ANY($2::text[]) "
            "AND status = 'pending' RETURNING external_id, occurred_at",
            [tenant_id, wanted],
        )
        confirmed = sorted(row["external_id"] for row in rows)
        if rows:
            # Refunds of these orders waited with them.
            rows += await conn.execute_query_dict(
                "UPDATE event SET status = 'counted' WHERE tenant_id = $1 AND type = 'refund' "
                "AND order_external_id = ANY($2::text[]) AND status = 'pending' RETURNING external_id, occurred_at",
                [tenant_id, confirmed],
            )
            await conn.execute_query(
                "UPDATE period p SET state = CASE WHEN p.state = 'closed' THEN 'stale' ELSE p.state END, "
                "watermark_event_id = NULL WHERE p.tenant_id = $1 AND p.revision > 0 AND EXISTS "
                "(SELECT 1 FROM unnest($2::timestamptz[]) AS t(at) WHERE t.at >= p.starts_at AND t.at < p.ends_at)",
                [tenant_id, [row["occurred_at"] for row in rows]],
            )
            await record(tenant_id, actor, "confirm", "event", None, before=None, after={"confirmed": confirmed})
    return ConfirmResult(confirmed, sorted(set(wanted) - set(confirmed)))
