"""Provisional scorecards of an open period (revision 0): rewritten in one unit of work, never posting money."""

from __future__ import annotations

from tenants.db.uow import tenant_unit_of_work
from tenants.periods import repository
from tenants.periods.computation import compute
from tenants.periods.failures import permanent_failure
from tenants.periods.resolution import get_or_create_period, resolve_period
from tenants.tenancy.identity import TenantId


async def refresh_provisional(tenant_id: TenantId, scheme_id: int, key: str) -> int:
    """Provisional scorecards of an open period (revision 0): rewritten, never posting money.
    A permanent failure is a `CloseError` (not recorded: the period is still open); a transient one is raised as is."""
    try:
        return await _refresh_provisional(tenant_id, scheme_id, key)
    except Exception as error:
        failure = permanent_failure(error)
        if failure is None or failure is error:
            raise
        raise failure from error


async def _refresh_provisional(tenant_id: TenantId, scheme_id: int, key: str) -> int:
    async with tenant_unit_of_work(tenant_id) as conn:
        resolved = await resolve_period(conn, tenant_id, scheme_id, key)
        period = await get_or_create_period(conn, tenant_id, scheme_id, resolved)
        if period.state != "open":
            return 0
        computed = await compute(conn, tenant_id, scheme_id, resolved)
        await repository.delete_provisional_scorecards(conn, tenant_id, period.id)
        await repository.write_scorecards(
            conn,
            tenant_id,
            period.id,
            0,
            resolved.version_id,
            computed.result.scorecards,
            computed.states,
            provisional=True,
        )
        await repository.mark_provisional_refreshed(conn, tenant_id, period.id)
        return len(computed.result.scorecards)
