"""GraphQL for periods: close, job progress, periods, scorecards, statements, what-if simulation.

Errors: `PeriodErrors` (close, refresh, simulate) and a period's or job's `failure` are `Problem`s whose `code` is
`PeriodErrorCode` and whose `message` is in the reader's language (schema/errors.py); a failure kept since a close
failed is rendered when it is read, from its template and parameters (tenants/periods/errors.py). A draft config that
does not validate in `simulateScheme` answers `ConfigErrors` with the schemes domain's config errors
(`SchemeConfigError`, code `SchemeConfigErrorCode`): a query selecting `errors { code }` of both `ConfigErrors` and
`PeriodErrors` aliases one of them, as GraphQL does not merge one field of two enum types.

closePeriod and refreshScorecards call the periods service (tenants/periods/service.py), which validates the request
and enqueues the job after its unit of work commits; resolvers open no unit of work and enqueue nothing themselves
(an import-linter contract, pyproject.toml).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from schema.common import JSON, parse_id
from schema.context import Info
from schema.errors import ProblemInterface, problem_fields
from schema.permissions import tenant_access
from schema.schemes import SchemeConfigError
from tenants.periods import queries
from tenants.periods.errors import (
    CloseError,
    CloseErrorCode,
    PeriodProblem,
    decode_failure,
    scheme_not_found,
    version_not_found,
)
from tenants.periods.jobs import JobStatus, read_job
from tenants.periods.repository import metrics_json
from tenants.periods.service import request_close, request_refresh
from tenants.periods.simulate import simulate
from tenants.rules.config import SchemeConfigInvalid, parse_scheme_config
from tenants.rules.money import round2
from tenants.rules.scorecard import Scorecard as EngineScorecard
from tenants.tenancy.auth import Role

strawberry.enum(CloseErrorCode, name="PeriodErrorCode")


@strawberry.type
class PeriodError(ProblemInterface):
    code: CloseErrorCode

    @classmethod
    def of(cls, problem: PeriodProblem) -> PeriodError:
        return cls(code=problem.code, **problem_fields(problem))


@strawberry.type
class PeriodErrors:
    errors: list[PeriodError]

    @classmethod
    def of(cls, error: CloseError) -> PeriodErrors:
        return cls(errors=[PeriodError.of(problem) for problem in error.problems])


@strawberry.type(description="Why a close failed: a period keeps its last failure until a close succeeds.")
class PeriodFailure(ProblemInterface):
    code: CloseErrorCode
    at: datetime

    @classmethod
    def of(cls, kept: str | PeriodProblem | None, at: datetime | None) -> PeriodFailure | None:
        """From a kept failure (a period's `failure` text, a job's decoded `error`)."""
        problem = decode_failure(kept) if isinstance(kept, str | None) else kept
        if problem is None or at is None:
            return None
        return cls(code=problem.code, at=at, **problem_fields(problem))


@strawberry.type
class Job:
    id: strawberry.ID
    kind: str
    status: str
    stage: str
    done: int
    total: int
    failure: PeriodFailure | None
    result: str | None
    _error: strawberry.Private[PeriodProblem | None]

    @strawberry.field(
        description='"CODE: message" of a failure, or of the temporary failure a job waits to be retried after; the '
        "message in your language. See `failure`."
    )
    def error(self, info: Info) -> str | None:
        if self._error is None:
            return None
        return f"{self._error.code.value}: {self._error.message.render(info.context.locale)}"

    @classmethod
    def of(cls, status: JobStatus) -> Job:
        return cls(
            id=strawberry.ID(status.id),
            kind=status.kind,
            status=status.status,
            stage=status.stage,
            done=status.done,
            total=status.total,
            failure=PeriodFailure.of(status.error, status.failed_at) if status.status == "failed" else None,
            result=status.result,
            _error=status.error,
        )


@strawberry.type
class CloseStarted:
    job: Job


@strawberry.type
class Period:
    key: str
    starts_at: datetime
    ends_at: datetime
    state: str
    revision: int
    scheme_version_id: strawberry.ID | None
    closed_at: datetime | None
    provisional_at: datetime | None
    failure: PeriodFailure | None = strawberry.field(
        description="The last close failed for a reason a retry cannot fix; the cron leaves the period alone until "
        "it is closed by hand or a version of the scheme is published. Cleared by a successful close."
    )


@strawberry.type
class MetricScore:
    key: str
    label: str
    value: str | None
    score: str | None
    weight: str | None
    explanation: str

    @classmethod
    def of(cls, stored: dict[str, str | None]) -> MetricScore:
        """From a stored scorecard's metric entry (numbers kept as exact strings)."""
        return cls(
            key=str(stored["key"]),
            label=str(stored["label"]),
            value=stored["value"],
            score=stored["score"],
            weight=stored["weight"],
            explanation=str(stored["explanation"]),
        )


@strawberry.type
class LedgerLine:
    revision: int
    rule_key: str
    kind: str
    amount: Decimal
    derivation: str


@strawberry.type
class ScorecardType:
    staff_code: str
    staff_name: str
    team_code: str | None
    revision: int
    provisional: bool
    total: Decimal = strawberry.field(description="Rounded half-up to 2 decimals for display")
    total_exact: Decimal = strawberry.field(description="Kept to 4 decimals")
    grade: str | None
    rank: int
    metrics: list[MetricScore]
    flags: list[str]
    lines: list[LedgerLine]
    net: Decimal


@strawberry.type
class SimulatedScorecard:
    staff_code: str
    total: Decimal
    grade: str | None
    rank: int
    metrics: list[MetricScore]
    lines: list[LedgerLine]
    flags: list[str]
    net: Decimal


@strawberry.type
class Simulation:
    period: str
    starts_at: datetime
    ends_at: datetime
    scorecards: list[SimulatedScorecard]


@strawberry.type
class ConfigErrors:
    errors: list[SchemeConfigError]


ClosePeriodResult = Annotated[CloseStarted | PeriodErrors, strawberry.union("ClosePeriodResult")]
SimulateResult = Annotated[Simulation | PeriodErrors | ConfigErrors, strawberry.union("SimulateResult")]


def _simulated(card: EngineScorecard) -> SimulatedScorecard:
    return SimulatedScorecard(
        staff_code=card.staff_code,
        total=card.total_display,
        grade=card.grade,
        rank=card.rank,
        metrics=[MetricScore.of(stored) for stored in metrics_json(card)],
        lines=[
            LedgerLine(
                revision=0, rule_key=line.rule_key, kind=line.kind, amount=line.amount, derivation=line.derivation
            )
            for line in card.lines
        ],
        flags=[flag.message for flag in card.flags],
        net=card.net,
    )


def _scheme_id(raw: strawberry.ID) -> int:
    scheme_id = parse_id(raw)
    if scheme_id is None:
        raise scheme_not_found()
    return scheme_id


@strawberry.type
class PeriodsQuery:
    @strawberry.field(extensions=tenant_access(Role.MANAGER))
    async def periods(self, info: Info, scheme_id: strawberry.ID) -> list[Period]:
        scheme = parse_id(scheme_id)
        if scheme is None:
            return []
        return [
            Period(
                key=p.key,
                starts_at=p.starts_at,
                ends_at=p.ends_at,
                state=p.state,
                revision=p.revision,
                scheme_version_id=strawberry.ID(str(p.scheme_version_id)) if p.scheme_version_id else None,
                closed_at=p.closed_at,
                provisional_at=p.provisional_at,
                failure=PeriodFailure.of(p.failure, p.failed_at),
            )
            for p in await queries.list_periods(info.context.tenant_id, scheme)
        ]

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
        return [
            ScorecardType(
                staff_code=c.staff_code,
                staff_name=c.staff_name,
                team_code=c.team_code,
                revision=c.revision,
                provisional=c.provisional,
                total=round2(c.total),
                total_exact=c.total,
                grade=c.grade,
                rank=c.rank,
                metrics=[MetricScore.of(m) for m in c.metrics],
                flags=[f["message"] for f in c.flags],
                lines=[
                    LedgerLine(
                        revision=line.revision,
                        rule_key=line.rule_key,
                        kind=line.kind,
                        amount=line.amount,
                        derivation=line.derivation,
                    )
                    for line in c.lines
                ],
                net=c.net,
            )
            for c in cards
        ]

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
                info.context.tenant_id, _scheme_id(scheme_id), period, config=parsed, version_id=version
            )
        except CloseError as error:
            return PeriodErrors.of(error)
        return Simulation(
            period=resolved.key,
            starts_at=resolved.starts_at,
            ends_at=resolved.ends_at,
            scorecards=[_simulated(card) for card in result.scorecards],
        )


@strawberry.type
class PeriodsMutation:
    @strawberry.mutation(extensions=tenant_access(Role.MANAGER))
    async def refresh_scorecards(self, info: Info, scheme_id: strawberry.ID, period: str) -> ClosePeriodResult:
        """Recompute an open period's provisional scorecards soon (no money is posted); follow it with job(id). While a
        refresh of the period is pending, asking again returns that job."""
        tenant_id = info.context.tenant_id
        try:
            job_id = await request_refresh(tenant_id, _scheme_id(scheme_id), period)
        except CloseError as error:
            return PeriodErrors.of(error)
        return await _started(info, job_id)

    @strawberry.mutation(extensions=tenant_access(Role.ADMIN))
    async def close_period(self, info: Info, scheme_id: strawberry.ID, period: str) -> ClosePeriodResult:
        """Closes the period in the background (re-closes a closed or stale one); follow it with job(id)."""
        tenant_id = info.context.tenant_id
        try:
            job_id = await request_close(tenant_id, _scheme_id(scheme_id), period, force=True)
        except CloseError as error:
            return PeriodErrors.of(error)
        return await _started(info, job_id)


async def _started(info: Info, job_id: str) -> CloseStarted:
    status = await read_job(info.context.redis, info.context.tenant_id, job_id)
    assert status is not None  # the service enqueued it (and wrote its status) before returning its id
    return CloseStarted(job=Job.of(status))
