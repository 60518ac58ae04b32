"""Periods queries: periods, job progress, scorecards (staff see only their own), what-if simulation."""

from __future__ import annotations

import strawberry

from schema.common import JSON, parse_id
from schema.context import Info
from schema.periods.types import (
    ConfigErrors,
    Job,
    Period,
    PeriodErrors,
    ScorecardType,
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
from tenants.tenancy.auth import Role


@strawberry.type
class PeriodsQuery:
    @strawberry.field(extensions=tenant_access(Role.MANAGER))
    async def periods(self, info: Info, scheme_id: strawberry.ID) -> list[Period]:
        scheme = parse_id(scheme_id)
        if scheme is None:
            return []
        return [Period.of(p) for p in await queries.list_periods(info.context.tenant_id, scheme)]

    @strawberry.field(extensions=tenant_access(Role.MANAGER))
    async def job(self, info: Info, id: strawberry.ID) -> Job | None:
        status = await read_job(info.context.redis, info.context.tenant_id, str(id))
        return Job.of(status) if status is not None else None

    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="Scorecards of the latest revision (provisional while open). Staff see only their own.",
    )
    async def scorecards(
        self, info: Info, scheme_id: strawberry.ID, period: str, staff: str | None = None
    ) -> list[ScorecardType]:
        scheme = parse_id(scheme_id)
        if scheme is None:
            return []
        user = info.context.user
        if user is not None and user.role == Role.STAFF:
            own = await queries.staff_code_of_user(info.context.tenant_id, user.user_id)
            if own is None or (staff is not None and staff != own):
                return []
            staff = own
        cards = await queries.scorecards(info.context.tenant_id, scheme, period, staff)
        return [ScorecardType.of(c) for c in cards]

    @strawberry.field(extensions=tenant_access(Role.ADMIN))
    async def simulate_scheme(
        self,
        info: Info,
        scheme_id: strawberry.ID,
        period: str,
        config: JSON | None = None,
        version_id: strawberry.ID | None = None,
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
        return Simulation(
            period=resolved.key,
            starts_at=resolved.starts_at,
            ends_at=resolved.ends_at,
            scorecards=[simulated_scorecard(card) for card in result.scorecards],
        )
