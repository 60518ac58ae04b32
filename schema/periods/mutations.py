"""Periods mutations: closePeriod and refreshScorecards.

Both call the periods service (tenants/periods/service.py), which validates the request and enqueues the job after
its unit of work commits; resolvers open no unit of work and enqueue nothing themselves (an import-linter contract,
pyproject.toml).
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.common import actor_of
from schema.context import Info
from schema.periods.types import ClosePeriodResult, CloseStarted, Job, PeriodErrors, scheme_id_of
from schema.permissions import tenant_access
from tenants.periods.errors import CloseError
from tenants.periods.jobs import read_job
from tenants.periods.service import request_close, request_refresh
from tenants.tenancy.auth import Role


@strawberry.type
class PeriodsMutation:
    @strawberry.mutation(
        extensions=tenant_access(Role.MANAGER),
        description="Recompute an open period's provisional scorecards soon (no money is posted); follow it with "
        "job(id). While a refresh of the period is pending, asking again returns that job.",
    )
    async def refresh_scorecards(
        self,
        info: Info,
        scheme_id: Annotated[strawberry.ID, strawberry.argument(description="The scheme.")],
        period: Annotated[str, strawberry.argument(description="The period key.")],
    ) -> ClosePeriodResult:
        """Recompute an open period's provisional scorecards soon (no money is posted); follow it with job(id). While a
        refresh of the period is pending, asking again returns that job."""
        tenant_id = info.context.tenant_id
        try:
            job_id = await request_refresh(tenant_id, scheme_id_of(scheme_id), period)
        except CloseError as error:
            return PeriodErrors.of(error)
        return await _started(info, job_id)

    @strawberry.mutation(
        extensions=tenant_access(Role.ADMIN),
        description="Close the period in the background (re-close a closed or stale one); follow it with job(id).",
    )
    async def close_period(
        self,
        info: Info,
        scheme_id: Annotated[strawberry.ID, strawberry.argument(description="The scheme.")],
        period: Annotated[str, strawberry.argument(description="The period key.")],
    ) -> ClosePeriodResult:
        """Closes the period in the background (re-closes a closed or stale one); follow it with job(id)."""
        tenant_id = info.context.tenant_id
        try:
            job_id = await request_close(tenant_id, scheme_id_of(scheme_id), period, force=True, actor=actor_of(info))
        except CloseError as error:
            return PeriodErrors.of(error)
        return await _started(info, job_id)


async def _started(info: Info, job_id: str) -> CloseStarted:
    status = await read_job(info.context.redis, info.context.tenant_id, job_id)
    assert status is not None  # the service enqueued it (and wrote its status) before returning its id
    return CloseStarted(job=Job.of(status))
