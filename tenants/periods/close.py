"""Period close: aggregate in SQL, score with the pure engine, write scorecards and ledger lines in one transaction.

- Exclusive per tenant, scheme and period: a transaction-level advisory lock; a second close waits, then finds the
  period closed and posts nothing (idempotent).
- All or nothing: scorecards, lines and the period's new state commit together, so a worker killed mid-close leaves
  no partial result and the retry computes the very same lines (the engine is deterministic).
- Consistent with ingestion: the close holds the tenant's ingestion lock exclusively, so no event can commit between
  the aggregation and the state change without marking the period stale afterwards.
- Re-close (stale or forced): revision n+1; posts only adjustment lines (new minus everything already posted, per
  staff and rule). Nothing changed: no new revision, nothing posted.
- A close fails in one of two ways. Transient (connection lost, deadlock, serialization, resources): the original
  error is raised and the caller may retry. Permanent (the config or the data, which a retry cannot fix: a number out
  of range, a database limit, a config that no longer validates): after the failed transaction rolled back, the
  failure is recorded on the period (`failure`: its code, field and message template with parameters, as JSON, see
  errors.py; `failed_at`) in a transaction of its own, and a coded `CloseError` is raised. The cron does not retry
  a failed period (see scheduling); the next successful close clears the failure.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

import asyncpg
import redis.exceptions
import structlog
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import DBConnectionError

from tenants.i18n import _
from tenants.locks import advisory_key, ingestion_lock_key
from tenants.periods import repository
from tenants.periods.aggregation import IncrementalNotPossible, State, aggregate_period, supports_incremental

# CloseError and CloseErrorCode are re-exported: callers import them from here.
from tenants.periods.errors import CloseError as CloseError
from tenants.periods.errors import CloseErrorCode as CloseErrorCode
from tenants.periods.errors import (
    encode_failure,
    period_not_ended,
    scheme_not_found,
    version_not_found,
)
from tenants.periods.models import Period
from tenants.periods.repository import NewLine, flags_json
from tenants.rules.adjustments import adjustments
from tenants.rules.calendar import CalendarError, parse_period_key, period_containing, period_window
from tenants.rules.config import DemotionPenalty, SchemeConfig, SchemeConfigInvalid, parse_scheme_config
from tenants.rules.engine import compute_period
from tenants.rules.scorecard import ParticipantInput, PeriodResult
from tenants.schemes.models import SchemeVersion
from tenants.schemes.service import pick_version_in_force
from tenants.tenancy.identity import TenantId
from tenants.tenancy.uow import tenant_unit_of_work

Progress = Callable[[str, int, int], Awaitable[None]]
log = structlog.get_logger("kaohe.close")


# Errors of a close that are not recorded on the period: the request itself was wrong, or time will fix it.
_NOT_RECORDED: Final = frozenset({CloseErrorCode.SCHEME_NOT_FOUND, CloseErrorCode.PERIOD_NOT_ENDED})
# SQLSTATE classes that a retry can fix: connection (08), transaction rollback: deadlock and serialization (40),
# insufficient resources (53), operator intervention: cancel, shutdown (57), system error (58); and lock timeouts.
_TRANSIENT_SQLSTATE_CLASSES: Final = frozenset({"08", "40", "53", "57", "58"})
_TRANSIENT_SQLSTATES: Final = frozenset({"55P03", "55006"})
_TRANSIENT_TYPES: Final = (
    ConnectionError,
    TimeoutError,
    OSError,
    asyncpg.InterfaceError,
    DBConnectionError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def _causes(error: BaseException) -> list[BaseException]:
    """The error and what it wraps (Tortoise wraps asyncpg's errors), outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 16:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def permanent_failure(error: BaseException) -> CloseError | None:
    """The coded failure that `error` means for a close, or None when it is transient (a retry may succeed).

    Only known transient conditions are retried; anything else (a bug included) fails once, visibly, instead of
    looping. Messages name the kind of problem, never the driver's text (that goes to the log with the trace)."""
    chain = _causes(error)
    for cause in chain:
        if isinstance(cause, CloseError):
            return cause
        if isinstance(cause, SchemeConfigInvalid):
            return config_invalid(cause)
    for cause in chain:
        sqlstate = getattr(cause, "sqlstate", None) if isinstance(cause, asyncpg.PostgresError) else None
        if sqlstate is not None:
            if sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES or sqlstate in _TRANSIENT_SQLSTATES:
                return None
            if sqlstate.startswith("22"):
                return _out_of_range(f"SQLSTATE {sqlstate}")
            if sqlstate.startswith("54"):
                return _too_large(f"SQLSTATE {sqlstate}")
            return _unexpected(f"SQLSTATE {sqlstate}")
        if isinstance(cause, _TRANSIENT_TYPES):
            return None
    for cause in chain:
        if isinstance(cause, ArithmeticError):  # OverflowError, decimal overflow or invalid operation
            return _out_of_range(type(cause).__name__)
        if isinstance(cause, RecursionError | MemoryError):
            return _too_large(type(cause).__name__)
    return _unexpected(type(error).__name__)


def _out_of_range(reason: str) -> CloseError:
    return CloseError.of(
        CloseErrorCode.CONFIG_OUT_OF_RANGE,
        _(
            "A number in the scheme's config or in the period's data is out of range for the close ({reason}); "
            "correct the config and close the period again.",
            reason=reason,
        ),
        "config",
    )


def _too_large(reason: str) -> CloseError:
    return CloseError.of(
        CloseErrorCode.CONFIG_TOO_LARGE,
        _("The scheme's config is too large for the close ({reason}): use fewer metrics or rules.", reason=reason),
        "config",
    )


def _unexpected(reason: str) -> CloseError:
    return CloseError.of(
        CloseErrorCode.CLOSE_FAILED,
        _(
            "The close failed ({reason}) and will not be retried automatically; close the period again by hand.",
            reason=reason,
        ),
    )


@dataclass(frozen=True)
class CloseOutcome:
    period_id: int
    period_key: str
    revision: int
    lines_posted: int
    scorecards: int
    changed: bool
    incremental: bool = False


@dataclass(frozen=True)
class ResolvedPeriod:
    key: str
    starts_at: datetime
    ends_at: datetime
    local_start: date
    local_end: date
    version: SchemeVersion | None  # None only for a simulation of an unpublished config
    config: SchemeConfig

    @property
    def version_id(self) -> int:
        if self.version is None:
            raise CloseError.of(
                CloseErrorCode.NO_VERSION, _("No published version is in force for this period."), "period"
            )
        return int(self.version.id)


async def _fault_injection_pause() -> None:
    """Tests kill a worker at this point (everything written, nothing committed); unset in every real deployment."""
    delay = os.environ.get("KAOHE_FAULT_CLOSE_DELAY_SECONDS")
    if delay:
        await asyncio.sleep(float(delay))


async def _noop_progress(stage: str, done: int, total: int) -> None:
    return None


_PUBLISHED_CONFIGS: dict[tuple[int, int], SchemeConfig] = {}
_PUBLISHED_CONFIGS_MAX = 4096


def published_config(version: SchemeVersion) -> SchemeConfig:
    """Parsed once per process: a published version never changes (a trigger refuses it), so its parse can be kept.
    Closing many small tenants, parsing every time would be a tenth of each close."""
    if version.status != "published":
        return parse_scheme_config(version.config)
    key = (int(version.tenant_id), int(version.id))
    config = _PUBLISHED_CONFIGS.get(key)
    if config is None:
        if len(_PUBLISHED_CONFIGS) >= _PUBLISHED_CONFIGS_MAX:
            _PUBLISHED_CONFIGS.clear()
        config = _PUBLISHED_CONFIGS[key] = parse_scheme_config(version.config)
    return config


@dataclass(frozen=True)
class Calendar:
    cycle: str
    timezone: str


_DEFAULT_TIMEZONE: Final[str] = str(SchemeConfig.model_fields["timezone"].default)


def version_calendar(version: SchemeVersion) -> Calendar | None:
    """A published version's cycle and timezone. A version that no longer validates (the rules tightened after it was
    published) keeps its calendar, so that its periods are still found, closed and fail visibly (CONFIG_INVALID);
    None when even the calendar is unusable."""
    try:
        config = published_config(version)
    except SchemeConfigInvalid:
        pass
    else:
        return Calendar(config.cycle, config.timezone)
    raw: Any = version.config
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    if not isinstance(raw, dict):
        return None
    cycle, timezone = raw.get("cycle"), raw.get("timezone", _DEFAULT_TIMEZONE)
    if not isinstance(cycle, str) or not isinstance(timezone, str):
        return None
    try:
        period_window(cycle, period_containing(cycle, datetime.now(UTC), timezone), timezone)
    except (ValueError, TypeError, OverflowError):
        return None
    return Calendar(cycle, timezone)


def config_invalid(invalid: SchemeConfigInvalid) -> CloseError:
    """The first of the config's problems says what to correct (its message stays a message of the schemes domain,
    rendered in the reader's language with this one)."""
    first = invalid.problems[0] if invalid.problems else None
    if first is None or not first.field:
        message = _("The scheme version in force no longer validates; publish a corrected version.")
    else:
        message = _(
            "The scheme version in force no longer validates ({path}: {problem}); publish a corrected version.",
            path=first.field,
            problem=first.message,
        )
    return CloseError.of(CloseErrorCode.CONFIG_INVALID, message, "config")


Window = tuple[date, date, datetime, datetime]  # local start and end days, then the instants


def _version_in_force(versions: Sequence[SchemeVersion], key: str) -> tuple[SchemeVersion, Window]:
    """The version in force at the period's start governs the period, its calendar included (cycle and timezone):
    try the versions newest first and keep the one that is in force at the start of the window it defines."""
    if not versions:
        raise CloseError.of(CloseErrorCode.NO_VERSION, _("The scheme has no published version."), "schemeId")
    problem: CloseError | None = None
    for candidate in sorted(versions, key=lambda v: (v.effective_from or date.min, v.number), reverse=True):
        calendar = version_calendar(candidate)
        if calendar is None:
            problem = problem or CloseError.of(
                CloseErrorCode.CONFIG_INVALID,
                _("Version {number} of the scheme has no usable cycle and timezone.", number=candidate.number),
                "config",
            )
            continue
        try:
            window = _window(calendar.cycle, calendar.timezone, key)
        except CloseError as error:
            problem = problem or error
            continue
        if pick_version_in_force(versions, window[2]) is candidate:
            return candidate, window
        problem = problem or CloseError.of(
            CloseErrorCode.NO_VERSION,
            _("No version of the scheme is in force on {day}.", day=window[0].isoformat()),
            "period",
        )
    assert problem is not None
    raise problem


async def _published_versions(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int) -> list[SchemeVersion]:
    versions = await repository.published_versions(conn, tenant_id, scheme_id)
    if versions is None:
        raise scheme_not_found()
    return versions


async def resolve_period(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, key: str, config_override: SchemeConfig | None = None
) -> ResolvedPeriod:
    versions = await _published_versions(conn, tenant_id, scheme_id)
    if config_override is not None:
        # A simulation of an unpublished config: its own calendar; the version in force there, if any, for reference.
        local_start, local_end, starts_at, ends_at = _window(config_override.cycle, config_override.timezone, key)
        version = pick_version_in_force(versions, starts_at)
        return ResolvedPeriod(key, starts_at, ends_at, local_start, local_end, version, config_override)
    candidate, (local_start, local_end, starts_at, ends_at) = _version_in_force(versions, key)
    try:
        config = published_config(candidate)
    except SchemeConfigInvalid as invalid:
        raise config_invalid(invalid) from invalid
    return ResolvedPeriod(key, starts_at, ends_at, local_start, local_end, candidate, config)


def ensure_ended(resolved: ResolvedPeriod, now: datetime | None = None) -> None:
    """A period is closed only once it has ended (PERIOD_NOT_ENDED: not recorded on the period, time fixes it)."""
    if resolved.ends_at > (now or datetime.now(UTC)):
        raise period_not_ended(resolved.key)


def _window(cycle: str, timezone: str, key: str) -> Window:
    try:
        local_start, local_end = parse_period_key(cycle, key)
        starts_at, ends_at = period_window(cycle, key, timezone)
    except CalendarError as error:
        # The calendar says what is wrong with the key (its form, its year, its week...), in the reader's language.
        raise CloseError.of(CloseErrorCode.BAD_PERIOD, error.message, "period") from error
    return local_start, local_end, starts_at, ends_at


@dataclass(frozen=True)
class Computed:
    result: PeriodResult
    states: dict[int, State]  # staff id -> exact aggregates, stored with the scorecards
    incremental: bool


async def _stored_states(conn: BaseDBAsyncClient, tenant_id: TenantId, period: Period) -> dict[int, State] | None:
    states = await repository.stored_states(conn, tenant_id, period.id, period.revision)
    # Scorecards written before states were stored have none: those periods re-close with a full pass.
    complete = states and all(isinstance(state, dict) and state.get("m") is not None for state in states.values())
    return states if complete else None


async def compute(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    scheme_id: int,
    resolved: ResolvedPeriod,
    *,
    reclose_of: Period | None = None,
) -> Computed:
    """Aggregate and score. Re-closing with the same version, only the events after the last close's watermark are
    aggregated and added to the stored aggregates (exactly what a full pass gives; tests compare both)."""
    aggregates = None
    window = (resolved.starts_at, resolved.ends_at, resolved.local_start, resolved.local_end)
    if (
        reclose_of is not None
        and reclose_of.watermark_event_id is not None
        and reclose_of.scheme_version_id == (resolved.version.id if resolved.version else None)
        and supports_incremental(resolved.config)
    ):
        previous_states = await _stored_states(conn, tenant_id, reclose_of)
        if previous_states is not None:
            try:
                aggregates = await aggregate_period(
                    conn,
                    tenant_id,
                    resolved.config,
                    *window,
                    since_event_id=reclose_of.watermark_event_id,
                    previous_states=previous_states,
                )
            except IncrementalNotPossible:
                aggregates = None
    incremental = aggregates is not None
    if aggregates is None:
        aggregates = await aggregate_period(conn, tenant_id, resolved.config, *window)
    depth = max((p.periods for p in resolved.config.penalties if isinstance(p, DemotionPenalty)), default=0)
    previous = await repository.previous_totals(conn, tenant_id, scheme_id, resolved.starts_at, depth) if depth else {}
    participants = [
        ParticipantInput(
            staff_id=row.staff_id,
            staff_code=row.staff_code,
            team_code=row.team_code,
            metrics=row.metrics,
            penalty_counts=row.penalty_counts,
            previous_totals=previous.get(row.staff_id, ()),
        )
        for row in aggregates.participants
    ]
    result = compute_period(resolved.config, participants, aggregates.team_pool_credits)
    return Computed(result, {row.staff_id: row.state for row in aggregates.participants}, incremental)


async def _adjustments(
    conn: BaseDBAsyncClient, tenant_id: TenantId, period_id: int, revision: int, result: PeriodResult
) -> list[NewLine]:
    """New minus everything posted so far, per staff and rule (tenants/rules/adjustments.py); only non-zero lines."""
    posted = await repository.posted_sums(conn, tenant_id, period_id)
    return [
        NewLine(a.staff_id, a.rule_key, a.kind, a.amount, a.derivation)
        for a in adjustments(revision, posted, result.scorecards)
    ]


async def _same_scorecards(
    conn: BaseDBAsyncClient, tenant_id: TenantId, period_id: int, revision: int, computed: Computed, version_id: int
) -> bool:
    """Nothing at all changed: same version, same totals, grades, ranks and exact aggregates.
    (Aggregates can move while every score stays capped: that is a change, and the next re-close builds on it.)"""

    # Metric values follow from the aggregates and the version, so comparing those (not the metrics) is enough.
    def canonical(value: Any) -> str:
        return json.dumps(value, sort_keys=True)

    stored = {
        (s.staff_id, s.scheme_version_id, s.total, s.grade, s.rank, canonical(s.flags), canonical(s.state))
        for s in await repository.stored_scorecards(conn, tenant_id, period_id, revision)
    }
    fresh = {
        (
            c.staff_id,
            version_id,
            c.total,
            c.grade,
            c.rank,
            canonical(json.loads(flags_json(c))),
            canonical(computed.states.get(c.staff_id, {})),
        )
        for c in computed.result.scorecards
    }
    return stored == fresh


async def get_or_create_period(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, resolved: ResolvedPeriod
) -> Period:
    await repository.insert_period_if_absent(
        conn, tenant_id, scheme_id, resolved.key, resolved.starts_at, resolved.ends_at
    )
    period = await repository.period_for_update(conn, tenant_id, scheme_id, resolved.key)
    assert period is not None
    return period


async def mark_closing(tenant_id: TenantId, scheme_id: int, key: str) -> None:
    """Make a running close visible (its own short transaction; the close itself commits everything at once)."""
    # One statement: a period seen before (provisional scorecards, an earlier close) shows the close; a period's
    # very first close creates its row in the close transaction itself.
    async with tenant_unit_of_work(tenant_id) as conn:
        await repository.mark_closing(conn, tenant_id, scheme_id, key)


async def close_period(
    tenant_id: TenantId,
    scheme_id: int,
    key: str,
    *,
    progress: Progress | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> CloseOutcome:
    """Close (or re-close) one period. `force` re-computes a closed period even when nothing marked it stale.

    Raises `CloseError` for a permanent failure (recorded on the period unless the request itself was wrong) and the
    original error for a transient one."""
    try:
        return await _close_period(tenant_id, scheme_id, key, progress=progress, force=force, now=now)
    except Exception as error:
        failure = permanent_failure(error)
        if failure is None:
            raise
        if failure.code not in _NOT_RECORDED:
            if not isinstance(error, CloseError):
                log.error(
                    "close failed permanently",
                    tenant_id=int(tenant_id),
                    scheme_id=scheme_id,
                    period=key,
                    failure=str(failure),
                    exc_info=error,
                )
            await record_close_failure(tenant_id, scheme_id, key, failure)
        if failure is error:
            raise
        raise failure from error


async def record_close_failure(tenant_id: TenantId, scheme_id: int, key: str, failure: CloseError) -> None:
    """Record a close that failed for good on its period, in a transaction of its own (the close's rolled back).

    A period closed for the first time has no row yet (the failed close created it and rolled back): it is created,
    so that the cron sees the failure. A period left 'closing' goes back to what it was before the close started."""
    async with tenant_unit_of_work(tenant_id) as conn:
        await repository.advisory_xact_locks(conn, advisory_key("close", tenant_id, scheme_id, key))
        try:
            # The window only: the version's config may be what failed.
            _version, window = _version_in_force(await _published_versions(conn, tenant_id, scheme_id), key)
        except CloseError:
            window = None  # nothing to create a row from; a row that exists is still marked
        if window is not None:
            await repository.insert_period_if_absent(conn, tenant_id, scheme_id, key, window[2], window[3])
        await repository.record_failure(conn, tenant_id, scheme_id, key, encode_failure(failure.problem))


async def _close_period(
    tenant_id: TenantId, scheme_id: int, key: str, *, progress: Progress | None, force: bool, now: datetime | None
) -> CloseOutcome:
    report = progress or _noop_progress
    async with tenant_unit_of_work(tenant_id) as conn:
        await repository.advisory_xact_locks(
            conn, advisory_key("close", tenant_id, scheme_id, key), ingestion_lock_key(tenant_id)
        )
        resolved = await resolve_period(conn, tenant_id, scheme_id, key)
        ensure_ended(resolved, now)
        period = await get_or_create_period(conn, tenant_id, scheme_id, resolved)
        if period.state == "closed" and not force:
            await report("done", 1, 1)
            return CloseOutcome(period.id, key, period.revision, 0, 0, changed=False)
        await report("aggregating", 0, 1)
        computed = await compute(
            conn, tenant_id, scheme_id, resolved, reclose_of=period if period.revision > 0 else None
        )
        result = computed.result
        cards = result.scorecards
        await report("writing", 0, len(cards))
        revision = period.revision
        posted = 0
        changed = True
        if revision == 0:
            revision = 1
            lines = [
                NewLine(card.staff_id, line.rule_key, line.kind, line.amount, line.derivation)
                for card in cards
                for line in card.lines
            ]
        else:
            lines = await _adjustments(conn, tenant_id, period.id, revision + 1, result)
            if not lines and await _same_scorecards(
                conn, tenant_id, period.id, revision, computed, resolved.version_id
            ):
                changed = False
            else:
                revision += 1
        if changed:
            await repository.write_scorecards(
                conn, tenant_id, period.id, revision, resolved.version_id, cards, computed.states
            )
            await repository.post_lines(conn, tenant_id, period.id, revision, resolved.version_id, lines)
            posted = len(lines)
        await report("committing", len(cards), len(cards))
        await _fault_injection_pause()
        # The watermark can be read last: the ingestion lock held since the start lets no event in meanwhile.
        # Provisional scorecards go with the same round trip.
        if changed:
            await repository.mark_closed_with_revision(conn, tenant_id, period.id, revision, resolved.version_id)
        else:
            await repository.mark_closed_unchanged(conn, tenant_id, period.id)
        await report("writing", len(cards), len(cards))
    await report("done", 1, 1)
    return CloseOutcome(
        period.id, key, revision, posted, len(cards) if changed else 0, changed, incremental=computed.incremental
    )


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
