"""Entry points that start background work on a period: a close (or re-close) and a refresh of provisional scorecards.

Each opens one unit of work, validates the request in it (the scheme is the tenant's, the period key is one of the
calendar of the version in force; a close only once the period has ended) and enqueues the job through the unit of
work's after-commit hook (tenants/jobs.py): nothing is enqueued before the commit, nor when validation fails. The
job's tracking id is returned: the hook has run when the unit of work closed, inside the function. Errors are
`CloseError`s with their codes (tenants/periods/errors.py).

A close request is audited (`period.close_requested`: who, the scheme, the period key, `force`) in that same unit of
work, so a close is never enqueued without its audit entry, whoever asks (console, API), and a refused request leaves
none. The entry cannot name the job's tracking id: the queue chooses it when it enqueues, after the commit (and a
request that joins a close already queued or running gets that close's id), while the audit log is append-only (a
trigger refuses updates). The tracking id is a short-lived Redis key (JOB_TTL_SECONDS) anyway; what the close
leaves for good is the period's next revision, found from the entry's period and time, and the id is logged with
the request's tenant, scheme and period once known. If the enqueue itself fails after the commit, the caller gets
the error and the entry stands for a request that was made but never queued.
"""

from __future__ import annotations

import structlog

from tenants.audit import service as audit
from tenants.audit.service import Actor
from tenants.db.uow import tenant_unit_of_work
from tenants.jobs import enqueue_after_commit
from tenants.periods.repository import find_period
from tenants.periods.resolution import ensure_ended, resolve_period
from tenants.tenancy.identity import TenantId

CLOSE_REQUESTED = "period.close_requested"

log = structlog.get_logger("kaohe.periods")


async def request_close(tenant_id: TenantId, scheme_id: int, period_key: str, *, force: bool, actor: Actor) -> str:
    """Close the period in the background; `force` re-computes it even when closed and not stale. A second request
    while its close is queued or running gets that close's id. `actor` is audited with the request."""
    async with tenant_unit_of_work(tenant_id) as conn:
        resolved = await resolve_period(conn, tenant_id, scheme_id, period_key)
        ensure_ended(resolved)
        job = enqueue_after_commit(lambda queue: queue.enqueue_close(tenant_id, scheme_id, resolved.key, force=force))
        period = await find_period(conn, tenant_id, scheme_id, resolved.key)  # none before the first close
        await audit.record(
            conn,
            tenant_id,
            actor,
            CLOSE_REQUESTED,
            "period",
            int(period.id) if period is not None else None,
            after={"scheme_id": scheme_id, "period": resolved.key, "force": force},
        )
    log.info(
        "close requested",
        tenant_id=int(tenant_id),
        scheme_id=scheme_id,
        period=resolved.key,
        force=force,
        job_id=job.id,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
    )
    return job.id


async def request_refresh(tenant_id: TenantId, scheme_id: int, period_key: str) -> str:
    """Recompute an open period's provisional scorecards soon (no money is posted). While a refresh of the period is
    pending, asking again returns that job's id."""
    async with tenant_unit_of_work(tenant_id) as conn:
        resolved = await resolve_period(conn, tenant_id, scheme_id, period_key)
        job = enqueue_after_commit(lambda queue: queue.enqueue_refresh(tenant_id, scheme_id, resolved.key))
    return job.id
