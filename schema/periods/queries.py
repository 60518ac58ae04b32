"""Periods queries: periods (staff may read them), job progress, what-if simulation. Scorecards and statements are
read through schema/scorecards (issue 8)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.common import JSON, parse_id
from schema.context import Info
from schema.periods.types import (
    ConfigErrors,
    Job,
    Period,
    PeriodErrors,
    SimulateResult,
    Simulation,
    scheme_id_of,
    simulated_scorecard,
)
from schema.permissions import tenant_access
from schema.schemes import SchemeConfigError
from tenants.periods import queries
from tenants.periods.errors import CloseError, version_not_found
from tenants.periods.jobs import read_job
from tenants.periods.simulate import simulate
from tenants.rules.config import SchemeConfigInvalid, parse_scheme_config
from tenants.scorecards.labels import metric_labels
from tenants.tenancy.auth import Role


@strawberry.type
class PeriodsQuery:
    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="The scheme's periods, newest first (read only; staff too). Another tenant's scheme has none.",
    )
    async def periods(
        self, info: Info, scheme_id: Annotated[strawberry.ID, strawberry.argument(description="The scheme.")]
    ) -> list[Period]:
        scheme = parse_id(scheme_id)
        if scheme is None:
            return []
        listings = await queries.list_periods_with_zones(info.context.tenant_id, scheme)
        return [Period.of(listing.period, listing.timezone) for listing in listings]

    @strawberry.field(
        extensions=tenant_access(Role.MANAGER),
        description="A close or refresh job's progress; null for an unknown job or another tenant's.",
    )
    async def job(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The job's id.")]
    ) -> Job | None:
        status = await read_job(info.context.redis, info.context.tenant_id, str(id))
        return Job.of(status) if status is not None else None

    @strawberry.field(
        extensions=tenant_access(Role.ADMIN),
        description="What-if: the period's real events through a draft config or a version; nothing is stored.",
    )
    async def simulate_scheme(
        self,
        info: Info,
        scheme_id: Annotated[strawberry.ID, strawberry.argument(description="The scheme.")],
        period: Annotated[str, strawberry.argument(description="The period key.")],
        config: Annotated[JSON | None, strawberry.argument(description="A draft config to try.")] = None,
        version_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="A version to try (default: the one in force).")
        ] = None,
    ) -> SimulateResult:
        """What-if: the period's real events through a draft config or a version; nothing is stored."""
        try:
            parsed = parse_scheme_config(config) if config is not None else None
        except SchemeConfigInvalid as invalid:
            return ConfigErrors(errors=[SchemeConfigError.of(problem) for problem in invalid.problems])
        try:
            version = parse_id(version_id) if version_id is not None else None
            if version_id is not None and version is None:
                raise version_not_found()
            resolved, result = await simulate(
                info.context.tenant_id, scheme_id_of(scheme_id), period, config=parsed, version_id=version
            )
        except CloseError as error:
            return PeriodErrors.of(error)
        labels = metric_labels(resolved.config)
        return Simulation(
            period=resolved.key,
            starts_at=resolved.starts_at,
            ends_at=resolved.ends_at,
            scorecards=[simulated_scorecard(card, labels) for card in result.scorecards],
        )
