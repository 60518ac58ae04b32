"""Large orders wait for a manager's confirmation (DESIGN.md "Events") before they count.

Confirming flips `pending` to `counted`. A confirmed order may fall in a period that is already closed: that period
becomes stale, and its watermark is cleared because the order's id is older than the watermark, so the re-close must
aggregate the whole period instead of only the events received after the last close.

At most MAX_CONFIRM ids per call: more are refused whole (an `EventError` TOO_MANY_ITEMS), nothing confirmed.
Given the caller (`principal`), only orders in its access scope are confirmed (DESIGN.md: a manager confirms in the
subtree of the teams they manage); the others read as not pending, like another tenant's ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tenants.access.scope import read_access_scope
from tenants.audit.service import Actor, record
from tenants.db.uow import tenant_unit_of_work
from tenants.events import repository
from tenants.events.errors import EventError, EventErrorCode
from tenants.i18n import _
from tenants.tenancy.auth import Principal
from tenants.tenancy.identity import TenantId

MAX_CONFIRM = 1_000


@dataclass(frozen=True)
class ConfirmResult:
    confirmed: list[str]
    not_pending: list[str]  # unknown ids, other tenants' ids, and orders already counted


async def confirm_large_orders(
    tenant_id: TenantId, actor: Actor, external_ids: Sequence[str], principal: Principal | None = None
) -> ConfirmResult:
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
        await repository.hold_ingestion_lock(conn, tenant_id)
        scope = None if principal is None else await read_access_scope(conn, tenant_id, principal)
        counted = await repository.confirm_pending_orders(conn, tenant_id, wanted, scope)
        confirmed = sorted(external_id for external_id, _occurred_at in counted)
        if counted:
            # Refunds of these orders waited with them.
            counted += await repository.confirm_pending_refunds(conn, tenant_id, confirmed)
            await repository.mark_periods_stale_for_confirmed(
                conn, tenant_id, [occurred_at for _external_id, occurred_at in counted]
            )
            await record(conn, tenant_id, actor, "confirm", "event", None, before=None, after={"confirmed": confirmed})
    return ConfirmResult(confirmed, sorted(set(wanted) - set(confirmed)))
