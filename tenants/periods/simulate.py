"""What-if (simulateScheme): the period's real events through a config or a given version, storing nothing."""

from __future__ import annotations

from tenants.db.uow import tenant_unit_of_work
from tenants.periods import repository
from tenants.periods.computation import compute
from tenants.periods.errors import version_not_found
from tenants.periods.failures import permanent_failure
from tenants.periods.resolution import ResolvedPeriod, resolve_period
from tenants.rules.config import SchemeConfig, parse_scheme_config
from tenants.rules.scorecard import PeriodResult
from tenants.tenancy.identity import TenantId


async def simulate(
    tenant_id: TenantId, scheme_id: int, key: str, config: SchemeConfig | None = None, version_id: int | None = None
) -> tuple[ResolvedPeriod, PeriodResult]:
    """What-if: the period's real events through a config (or a given version), storing nothing.
    A config that cannot be computed is a `CloseError` with its code, as it would be for a close."""
    try:
        return await _simulate(tenant_id, scheme_id, key, config, version_id)
    except Exception as error:
        failure = permanent_failure(error)
        if failure is None or failure is error:
            raise
        raise failure from error


async def _simulate(
    tenant_id: TenantId, scheme_id: int, key: str, config: SchemeConfig | None, version_id: int | None
) -> tuple[ResolvedPeriod, PeriodResult]:
    async with tenant_unit_of_work(tenant_id) as conn:
        override = config
        if version_id is not None:
            version = await repository.scheme_version(conn, tenant_id, scheme_id, version_id)
            if version is None:
                raise version_not_found()
            override = parse_scheme_config(version.config)
        resolved = await resolve_period(conn, tenant_id, scheme_id, key, config_override=override)
        computed = await compute(conn, tenant_id, scheme_id, resolved)
    return resolved, computed.result
