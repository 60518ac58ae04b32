"""GraphQL types of the periods domain and their converters from the domain's records (tenants/periods).

Errors: `PeriodErrors` and a period's or job's `failure` are `Problem`s whose `code` is `PeriodErrorCode` and whose
`message` is in the reader's language (schema/errors.py); a failure kept since a close failed is rendered when it is
read, from its template and parameters (tenants/periods/errors.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated

import strawberry

from schema.common import global_id, parse_id
from schema.context import Info
from schema.errors import ProblemInterface, problem_fields
from schema.schemes import SchemeConfigError
from tenants.periods.errors import CloseError, CloseErrorCode, PeriodProblem, decode_failure, scheme_not_found
from tenants.periods.jobs import JobStatus
from tenants.periods.models import Period as PeriodRecord
from tenants.periods.stored import metrics_json
from tenants.rules.calendar import zone
from tenants.rules.scorecard import Scorecard as EngineScorecard
from tenants.scorecards.service import exact

strawberry.enum(CloseErrorCode, name="PeriodErrorCode")


@strawberry.type(description="One problem of a refused close, refresh or simulation.")
class PeriodError(ProblemInterface):
    code: CloseErrorCode = strawberry.field(description="What is wrong, for programs.")

    @classmethod
    def of(cls, problem: PeriodProblem) -> PeriodError:
        return cls(code=problem.code, **problem_fields(problem))


@strawberry.type(description="A close, refresh or simulation was refused; nothing was started or stored.")
class PeriodErrors:
    errors: list[PeriodError] = strawberry.field(description="Every problem found.")

    @classmethod
    def of(cls, error: CloseError) -> PeriodErrors:
        return cls(errors=[PeriodError.of(problem) for problem in error.problems])


@strawberry.type(description="Why a close failed: a period keeps its last failure until a close succeeds.")
class PeriodFailure(ProblemInterface):
    code: CloseErrorCode = strawberry.field(description="What is wrong, for programs.")
    at: datetime = strawberry.field(description="When the close failed.")

    @classmethod
    def of(cls, kept: str | PeriodProblem | None, at: datetime | None) -> PeriodFailure | None:
        """From a kept failure (a period's `failure` text, a job's decoded `error`)."""
        problem = decode_failure(kept) if isinstance(kept, str | None) else kept
        if problem is None or at is None:
            return None
        return cls(code=problem.code, at=at, **problem_fields(problem))


@strawberry.type(description="A background close or refresh and its progress.")
class Job:
    id: strawberry.ID = strawberry.field(description="The job's id (follow it with `job(id)`).")
    kind: str = strawberry.field(description="close or refresh.")
    status: str = strawberry.field(description="queued, running, complete or failed.")
    stage: str = strawberry.field(description="What the job is doing now (aggregating, scoring, writing, done...).")
    done: int = strawberry.field(description="Units of work done in this stage.")
    total: int = strawberry.field(description="Units of work in this stage.")
    failure: PeriodFailure | None = strawberry.field(description="Why it failed, when it did.")
    result: str | None = strawberry.field(description="What it did, in words, once complete.")
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


@strawberry.type(description="The close or refresh was queued.")
class CloseStarted:
    job: Job = strawberry.field(description="The job that runs it.")


@strawberry.type(description="One period (考核周期) of a scheme: [startsAt, endsAt) in the scheme's timezone.")
class Period:
    id: strawberry.ID = strawberry.field(description="Global id: the scheme and the period key.")
    scheme_id: strawberry.ID = strawberry.field(description="The scheme's id.")
    key: str = strawberry.field(description="The period key: 2026-W43, 2026-10, 2026-Q4 or 2026.")
    starts_at: datetime = strawberry.field(description="First instant, with the tenant's UTC offset.")
    ends_at: datetime = strawberry.field(description="End (exclusive), with the tenant's UTC offset.")
    first_day: date = strawberry.field(description="First local day in the scheme's timezone.")
    last_day: date = strawberry.field(description="Last local day (inclusive) in the scheme's timezone.")
    state: str = strawberry.field(description="open, closing, closed or stale (events arrived after the close).")
    revision: int = strawberry.field(description="The latest closed revision; 0 while only provisional.")
    scheme_version_id: strawberry.ID | None = strawberry.field(description="The version the latest close used.")
    closed_at: datetime | None = strawberry.field(description="When the latest revision was closed.")
    provisional_at: datetime | None = strawberry.field(description="When provisional scorecards were last computed.")
    failure: PeriodFailure | None = strawberry.field(
        description="The last close failed for a reason a retry cannot fix; the cron leaves the period alone until "
        "it is closed by hand or a version of the scheme is published. Cleared by a successful close."
    )

    @classmethod
    def of(cls, period: PeriodRecord, timezone: str) -> Period:
        """`timezone` (the scheme's calendar) tells the local days; the DateTime scalar shows the instants."""
        local = zone(timezone)
        return cls(
            id=global_id("Period", period.scheme_id, period.key),
            scheme_id=strawberry.ID(str(period.scheme_id)),
            key=period.key,
            starts_at=period.starts_at,
            ends_at=period.ends_at,
            first_day=period.starts_at.astimezone(local).date(),
            last_day=(period.ends_at.astimezone(local) - timedelta(days=1)).date(),
            state=period.state,
            revision=period.revision,
            scheme_version_id=strawberry.ID(str(period.scheme_version_id)) if period.scheme_version_id else None,
            closed_at=period.closed_at,
            provisional_at=period.provisional_at,
            failure=PeriodFailure.of(period.failure, period.failed_at),
        )


@strawberry.type(description="One metric of a simulated scorecard.")
class MetricScore:
    key: str = strawberry.field(description="The metric's key.")
    label: str = strawberry.field(description="The metric's label.")
    value: Decimal | None = strawberry.field(description="The value, exact; null when there is no data (0 / 0).")
    score: Decimal | None = strawberry.field(description="Points, 4 decimals; null for a helper metric.")
    weight: Decimal | None = strawberry.field(description="Weight in the total; null for a helper metric.")
    explanation: str = strawberry.field(description="How the score was computed.")

    @classmethod
    def of(cls, stored: dict[str, str | None]) -> MetricScore:
        """From a scorecard's metric entry in its stored form (numbers kept as exact strings)."""

        def number(raw: str | None) -> Decimal | None:
            return exact(Decimal(raw)) if raw is not None else None

        return cls(
            key=str(stored["key"]),
            label=str(stored["label"]),
            value=number(stored["value"]),
            score=Decimal(stored["score"]) if stored["score"] is not None else None,
            weight=number(stored["weight"]),
            explanation=str(stored["explanation"]),
        )


@strawberry.type(description="A money line a simulation computed (nothing is posted).")
class LedgerLine:
    revision: int = strawberry.field(description="Always 0: a simulation posts nothing.")
    rule_key: str = strawberry.field(description="The rule's key.")
    kind: str = strawberry.field(description="commission, bonus or penalty.")
    amount: Decimal = strawberry.field(description="The amount, to the cent (penalties negative).")
    derivation: str = strawberry.field(description="How it was computed.")


@strawberry.type(description="A scorecard as the simulated config would give it.")
class SimulatedScorecard:
    staff_code: str = strawberry.field(description="The staff member's code.")
    total: Decimal = strawberry.field(description="The total, 2 decimals.")
    grade: str | None = strawberry.field(description="The grade.")
    rank: int = strawberry.field(description="The rank among participants.")
    metrics: list[MetricScore] = strawberry.field(description="Every metric, config order.")
    lines: list[LedgerLine] = strawberry.field(description="The money lines it would post.")
    flags: list[str] = strawberry.field(description="Flags such as a demotion warning, in words.")
    net: Decimal = strawberry.field(description="The sum of its lines.")


@strawberry.type(description="A what-if: the period's real events through a config; nothing is stored.")
class Simulation:
    period: str = strawberry.field(description="The period key.")
    starts_at: datetime = strawberry.field(description="The period's first instant.")
    ends_at: datetime = strawberry.field(description="The period's end (exclusive).")
    scorecards: list[SimulatedScorecard] = strawberry.field(description="Every participant's simulated scorecard.")


@strawberry.type(description="The draft config does not validate: every problem, nothing simulated.")
class ConfigErrors:
    errors: list[SchemeConfigError] = strawberry.field(description="Every problem of the config.")


ClosePeriodResult = Annotated[CloseStarted | PeriodErrors, strawberry.union("ClosePeriodResult")]
SimulateResult = Annotated[Simulation | PeriodErrors | ConfigErrors, strawberry.union("SimulateResult")]


def simulated_scorecard(card: EngineScorecard, labels: Mapping[str, str]) -> SimulatedScorecard:
    """From the engine's scorecard of a simulation (nothing stored: its lines are revision 0); `labels` (metric key ->
    label, tenants/scorecards/labels.py) so that a helper metric never shows its key."""
    return SimulatedScorecard(
        staff_code=card.staff_code,
        total=card.total_display,
        grade=card.grade,
        rank=card.rank,
        metrics=[
            MetricScore.of({**stored, "label": labels.get(str(stored["key"]), stored["label"])})
            for stored in metrics_json(card)
        ],
        lines=[
            LedgerLine(
                revision=0, rule_key=line.rule_key, kind=line.kind, amount=line.amount, derivation=line.derivation
            )
            for line in card.lines
        ],
        flags=[flag.message for flag in card.flags],
        net=card.net,
    )


def scheme_id_of(raw: strawberry.ID) -> int:
    scheme_id = parse_id(raw)
    if scheme_id is None:
        raise scheme_not_found()
    return scheme_id
