"""Entry points that start background work on a period: a close (or re-close) and a refresh of provisional scorecards.

Each opens one unit of work, validates the request in it (the scheme is the tenant's, the period key is one of the
calendar of the version in force; a close only once the period has ended) and enqueues the job through the unit of
work's after-commit hook (tenants/jobs.py): nothing is enqueued before the commit, nor when validation fails. The
job's tracking id is returned: the hook has run when the unit of work closed, inside the function. Errors are
`CloseError`s with their codes (tenants/periods/errors.py).

A close request is audited (`period.close_requested`: who, the scheme, the period key, `force`, and the tracking id
of the close that serves it, `job_id`, with `joined`) in that same unit of work, so a close is never enqueued without
its audit entry, whoever asks (console, API), and a refused request leaves none. The audit log is append-only (a
trigger refuses updates), so the id must be known before the commit: the queue reserves it inside the unit of work
(tenants/jobs.py `close_after_commit`) and enqueues that very close after the commit. A request while a close of the
period is reserved, queued or running joins it: its entry names that close's id (`joined`: true; that close runs with
the `force` of the request that queued it), the id the caller gets too. The entry's `job_id` is the id the caller
follows (GraphQL `job(id)`, the console's progress page) while its status lives (JOB_TTL_SECONDS); what the close
leaves for good is the period's next revision. If the enqueue itself fails after the commit, the caller gets the
error and the entry's close stays reserved: the next request for the period (or the cron) queues it.
"""

from __future__ import annotations

import structlog

from tenants.audit import service as audit
from tenants.audit.service import Actor
from tenants.db.uow import tenant_unit_of_work
from tenants.jobs import close_after_commit, enqueue_after_commit
from tenants.periods.repository import find_period
from tenants.periods.resolution import ensure_ended, resolve_period
from tenants.tenancy.identity import TenantId

CLOSE_REQUESTED = "period.close_requested"

log = structlog.get_logger("kaohe.periods")


async def request_close(tenant_id: TenantId, scheme_id: int, period_key: str, *, force: bool, actor: Actor) -> str:
    """Close the period in the background; `force` re-computes it even when closed and not stale. A second request
    while its close is queued or running gets that close's id. `actor` is audited with the request and the id."""
    async with tenant_unit_of_work(tenant_id) as conn:
        resolved = await resolve_period(conn, tenant_id, scheme_id, period_key)
        ensure_ended(resolved)
        job = await close_after_commit(tenant_id, scheme_id, resolved.key, force=force)
        period = await find_period(conn, tenant_id, scheme_id, resolved.key)  # none before the first close
        await audit.record(
            conn,
            tenant_id,
            actor,
            CLOSE_REQUESTED,
            "period",
            int(period.id) if period is not None else None,
            # what the close will start from: the period as it stands (none before its first close)
            before=None
            if period is None
            else {
                "state": period.state,
                "revision": period.revision,
                "closed_at": period.closed_at,
                "approved_revision": period.approved_revision,
            },
            after={
                "scheme_id": scheme_id,
                "period": resolved.key,
                "force": force,
                "job_id": job.job_id,
                "joined": job.joined,
            },
        )
    log.info(
        "close requested",
        tenant_id=int(tenant_id),
        scheme_id=scheme_id,
        period=resolved.key,
        force=force,
        job_id=job.job_id,
        joined=job.joined,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
    )
    return job.job_id


async def request_refresh(tenant_id: TenantId, scheme_id: int, period_key: str) -> str:
    """Recompute an open period's provisional scorecards soon (no money is posted). While a refresh of the period is
    pending, asking again returns that job's id."""
    async with tenant_unit_of_work(tenant_id) as conn:
        resolved = await resolve_period(conn, tenant_id, scheme_id, period_key)
        job = enqueue_after_commit(lambda queue: queue.enqueue_refresh(tenant_id, scheme_id, resolved.key))
    return job.id
