"""Entry points that start background work on a period: a close (or re-close) and a refresh of provisional scorecards.

Each opens one unit of work, validates the request in it (the scheme is the tenant's, the period key is one of the
calendar of the version in force; a close only once the period has ended) and enqueues the job through the unit of
work's after-commit hook (tenants/jobs.py): nothing is enqueued before the commit, nor when validation fails. The
job's tracking id is returned: the hook has run when the unit of work closed, inside the function. Errors are
`CloseError`s with their codes (tenants/periods/errors.py).
"""

from __future__ import annotations

from tenants.db.uow import tenant_unit_of_work
from tenants.jobs import enqueue_after_commit
from tenants.periods.resolution import ensure_ended, resolve_period
from tenants.tenancy.identity import TenantId


async def request_close(tenant_id: TenantId, scheme_id: int, period_key: str, *, force: bool) -> str:
    """Close the period in the background; `force` re-computes it even when closed and not stale. A second request
    while its close is queued or running gets that close's id."""
    async with tenant_unit_of_work(tenant_id) as conn:
        resolved = await resolve_period(conn, tenant_id, scheme_id, period_key)
        ensure_ended(resolved)
        job = enqueue_after_commit(lambda queue: queue.enqueue_close(tenant_id, scheme_id, resolved.key, force=force))
    return job.id


async def request_refresh(tenant_id: TenantId, scheme_id: int, period_key: str) -> str:
    """Recompute an open period's provisional scorecards soon (no money is posted). While a refresh of the period is
    pending, asking again returns that job's id."""
    async with tenant_unit_of_work(tenant_id) as conn:
        resolved = await resolve_period(conn, tenant_id, scheme_id, period_key)
        job = enqueue_after_commit(lambda queue: queue.enqueue_refresh(tenant_id, scheme_id, resolved.key))
    return job.id
