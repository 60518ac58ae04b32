"""Period close: aggregate in SQL, score with the pure engine, write scorecards and ledger lines in one transaction.

- Exclusive per tenant, scheme and period: a transaction-level advisory lock; a second close waits, then finds the
  period closed and posts nothing (idempotent).
- All or nothing: scorecards, lines and the period's new state commit together, so a worker killed mid-close leaves
  no partial result and the retry computes the very same lines (the engine is deterministic).
- Consistent with ingestion: the close holds the tenant's ingestion lock exclusively, so no event can commit between
  the aggregation and the state change without marking the period stale afterwards.
- Re-close (stale or forced): revision n+1; posts only adjustment lines (new minus everything already posted, per
  staff and rule). Nothing changed: no new revision, nothing posted. A period whose statements are approved
  (approvals.py) keeps its statement: the adjustment lines go into the next open period's statement, labelled with
  the period and revision they correct (prior.py).
- A close fails in one of two ways. Transient (connection lost, deadlock, serialization, resources): the original
  error is raised and the caller may retry. Permanent (the config or the data, which a retry cannot fix: a number out
  of range, a database limit, a config that no longer validates): after the failed transaction rolled back, the
  failure is recorded on the period (`failure`: its code, field and message template with parameters, as JSON, see
  errors.py; `failed_at`) in a transaction of its own, and a coded `CloseError` is raised. The cron does not retry
  a failed period (see scheduling); the next successful close clears the failure. Classifying and recording
  failures: failures.py.

The close's unit of work is opened once, here; resolution.py, computation.py and repository.py work on its
connection. Provisional refreshes are provisional.py, simulations simulate.py.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.db.uow import tenant_unit_of_work
from tenants.locks import advisory_key, ingestion_lock_key
from tenants.periods import repository
from tenants.periods.computation import Computed, compute
from tenants.periods.errors import CloseError, CloseErrorCode
from tenants.periods.failures import permanent_failure, record_close_failure
from tenants.periods.prior import labelled, next_open_period
from tenants.periods.repository import NewLine
from tenants.periods.resolution import ensure_ended, get_or_create_period, resolve_period
from tenants.periods.stored import flags_json
from tenants.rules.adjustments import adjustments
from tenants.rules.scorecard import PeriodResult
from tenants.tenancy.identity import TenantId

Progress = Callable[[str, int, int], Awaitable[None]]
log = structlog.get_logger("kaohe.close")


# Errors of a close that are not recorded on the period: the request itself was wrong, or time will fix it.
_NOT_RECORDED: Final = frozenset({CloseErrorCode.SCHEME_NOT_FOUND, CloseErrorCode.PERIOD_NOT_ENDED})


@dataclass(frozen=True)
class CloseOutcome:
    period_id: int
    period_key: str
    revision: int
    lines_posted: int
    scorecards: int
    changed: bool
    incremental: bool = False
    # The statement the posted lines went into: the period itself, or (its statement approved) the next open period.
    paid_in: str | None = None


async def _fault_injection_pause() -> None:
    """Tests kill a worker at this point (everything written, nothing committed); unset in every real deployment."""
    delay = os.environ.get("KAOHE_FAULT_CLOSE_DELAY_SECONDS")
    if delay:
        await asyncio.sleep(float(delay))


async def _noop_progress(stage: str, done: int, total: int) -> None:
    return None


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
        paid_in = period.key
        if changed:
            await repository.write_scorecards(
                conn, tenant_id, period.id, revision, resolved.version_id, cards, computed.states
            )
            if period.approved_at is not None and lines:
                # The approved statement stays as it is: the delta is paid in the next open period (prior.py).
                target = await next_open_period(conn, tenant_id, scheme_id, period)
                await repository.post_lines(
                    conn,
                    tenant_id,
                    target.id,
                    target.revision,
                    resolved.version_id,
                    labelled(lines, key, revision),
                    corrects=(period.id, revision),
                )
                paid_in = target.key
            else:
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
        period.id,
        key,
        revision,
        posted,
        len(cards) if changed else 0,
        changed,
        incremental=computed.incremental,
        paid_in=paid_in if posted else None,
    )
