"""Missed follow-ups: find overdue orders under the tenant's follow-up rules and emit one event per order.

Rules (tenants/rules/followups.py)
- An order (the rule's `after` type) with a staff member needs a `needs` event by the same staff member, for the same
  customer when the order names one, no later than its deadline (occurred_at + within_hours; a follow-up exactly at
  the deadline is in time). An order without a staff member has nobody to follow it up and is left alone.
- An order is overdue once its deadline is more than GRACE in the past (follow-ups sent by a merchant's system a few
  minutes late still count), and is looked at for LOOKBACK after its deadline (a tenant that adds a rule is not
  charged for its whole history).
- The missed follow-up is an event of the rule's `emits` type, dated at the deadline, for the order's staff member
  and customer, with its own external id derived from the order's (tenants/rules/followups.missed_external_id):
  emitting it again is a duplicate for the events service, and the statement skips orders already handled, so
  running the detection twice emits nothing new. `per_event` penalties count these events like any other; a
  complaint may reference one (`attributes.missed_follow_up`, with `caused_by_follow_up: true` for the penalty
  filter).
- Events are stored through the events service's public `ingest`, as any merchant's batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import structlog

from tenants.db.uow import platform_unit_of_work, tenant_unit_of_work
from tenants.events.service import ingest
from tenants.followups import repository
from tenants.grading.service import read_rules
from tenants.rules.followups import FollowUpRule, missed_external_id
from tenants.tenancy.identity import TenantId, tenant_id_for_system

GRACE: Final = timedelta(minutes=30)
LOOKBACK: Final = timedelta(days=35)
BATCH: Final = 5_000
log = structlog.get_logger("kaohe.followups")


@dataclass(frozen=True)
class DetectionOutcome:
    emitted: int  # missed follow-ups stored by this run
    duplicates: int  # already stored (a concurrent run)
    rejected: int  # refused by the events service (e.g. the staff member was deleted meanwhile)


def missed_event(rule: FollowUpRule, order: repository.OverdueOrder) -> dict[str, Any]:
    deadline = rule.deadline(order.occurred_at)
    event: dict[str, Any] = {
        "externalId": missed_external_id(rule, order.external_id),
        "type": rule.emits,
        "occurredAt": deadline.isoformat(),
        "staff": order.staff_code,
        "attributes": {"follow_up_of": order.external_id, "needs": rule.needs, "within_hours": rule.within_hours},
    }
    if order.customer_code is not None:
        event["customer"] = order.customer_code
    return event


async def detect_missed(tenant_id: TenantId, now: datetime) -> DetectionOutcome:
    """Emit the missed follow-ups of one tenant as of `now`."""
    async with tenant_unit_of_work(tenant_id) as conn:
        rules = await read_rules(conn, tenant_id)
    emitted = duplicates = rejected = 0
    for rule in rules.follow_up:
        while True:
            async with tenant_unit_of_work(tenant_id) as conn:
                orders = await repository.overdue_orders(
                    conn,
                    tenant_id,
                    after_type=rule.after,
                    needs_type=rule.needs,
                    within=rule.within,
                    since=now - LOOKBACK - rule.within,
                    overdue_before=now - GRACE,
                    limit=BATCH,
                )
            if not orders:
                break
            result = await ingest(tenant_id, enumerate(missed_event(rule, order) for order in orders))
            emitted += result.accepted
            duplicates += result.duplicate_count
            rejected += result.rejected_count
            if result.rejected_count:
                log.warning("missed follow-ups refused", tenant_id=int(tenant_id), count=result.rejected_count)
            if len(orders) < BATCH or result.accepted == 0:
                break  # nothing more, or nothing this run can store: the next run looks again
    return DetectionOutcome(emitted, duplicates, rejected)


async def detect_all_tenants(now: datetime) -> int:
    """The cron: every tenant's rules; one tenant's failure is logged and costs only that tenant."""
    async with platform_unit_of_work() as conn:
        tenant_ids = await repository.tenants_with_rules(conn)
    total = 0
    for raw in tenant_ids:
        try:
            total += (await detect_missed(tenant_id_for_system(raw), now)).emitted
        except Exception as error:  # pragma: no cover - logged, the other tenants go on
            log.error("follow-up detection failed for a tenant", tenant_id=raw, exc_info=error)
    return total
