"""What the cron must do now: periods to close (end + the tenant's grace passed), stale periods to re-close (unless
the tenant turned that off), open periods whose provisional scorecards are older than the refresh interval.

A period whose last close failed for good (`failed_at`, see close.py) is not closed again by the cron: the same
config would fail the same way every minute. It is tried again once a version of its scheme is published after the
failure (the usual fix; a version that does not govern the period just fails once more and is recorded again), and
any time someone closes it by hand (closePeriod, `kaohe close`); a successful close clears the failure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from tenants.db.codecs import json_value
from tenants.db.uow import platform_unit_of_work, tenant_unit_of_work
from tenants.periods import repository
from tenants.periods.failures import permanent_failure
from tenants.periods.models import Period
from tenants.periods.resolution import version_calendar
from tenants.rules.calendar import period_containing, period_window, previous_period_key
from tenants.schemes.models import SchemeVersion
from tenants.schemes.service import pick_version_in_force
from tenants.tenancy.identity import tenant_id_for_system

DEFAULT_GRACE_HOURS = 6
DEFAULT_REFRESH_MINUTES = 5
MAX_CATCH_UP = 36
log = structlog.get_logger("kaohe.cron")


@dataclass(frozen=True)
class PeriodRef:
    tenant_id: int
    scheme_id: int
    period_key: str


@dataclass
class DueWork:
    to_close: list[PeriodRef] = field(default_factory=list)
    to_refresh: list[PeriodRef] = field(default_factory=list)


async def due_work(now: datetime) -> DueWork:
    async with platform_unit_of_work() as conn:
        tenants = await repository.tenant_settings(conn)
    work = DueWork()
    for raw_tenant_id, raw_settings in tenants:
        # One tenant's unusable settings or data must not stop the other tenants' closes.
        tenant_work = DueWork()
        try:
            settings = json_value(raw_settings) or {}
            await _tenant_work(raw_tenant_id, settings, now, tenant_work)
        except Exception as error:
            if permanent_failure(error) is None:
                raise  # the database is gone: no tenant's work can be known now
            log.error("cron skipped a tenant", tenant_id=raw_tenant_id, exc_info=error)
            continue
        work.to_close.extend(tenant_work.to_close)
        work.to_refresh.extend(tenant_work.to_refresh)
    return work


async def _tenant_work(raw_tenant_id: int, settings: dict[str, object], now: datetime, work: DueWork) -> None:
    tenant_id = tenant_id_for_system(raw_tenant_id)
    grace = timedelta(hours=float(str(settings.get("close_grace_hours", DEFAULT_GRACE_HOURS))))
    refresh = timedelta(minutes=float(str(settings.get("provisional_refresh_minutes", DEFAULT_REFRESH_MINUTES))))
    auto_reclose = settings.get("auto_reclose", True) is not False
    async with tenant_unit_of_work(tenant_id) as conn:
        schedule = await repository.tenant_schedule(conn, tenant_id)
    schemes, versions, periods = schedule.schemes, schedule.published, schedule.periods
    by_scheme: dict[int, list[SchemeVersion]] = defaultdict(list)
    for version in versions:
        by_scheme[version.scheme_id].append(version)
    known = {(p.scheme_id, p.key): p for p in periods}
    for period in periods:
        if _failed_for_good(period, by_scheme.get(period.scheme_id, [])):
            continue
        if (period.state == "stale" and auto_reclose) or (
            period.state in ("open", "closing") and period.ends_at + grace <= now
        ):
            work.to_close.append(PeriodRef(tenant_id, period.scheme_id, period.key))
    for scheme in schemes:
        published = by_scheme.get(scheme.id)
        if not published:
            continue
        # A version that no longer validates still has a calendar: its periods get a close, which fails visibly.
        calendar = version_calendar(max(published, key=lambda v: (v.effective_from, v.number)))
        if calendar is None:
            log.warning("scheme without a usable calendar", tenant_id=int(tenant_id), scheme_id=scheme.id)
            continue
        current = period_containing(calendar.cycle, now, calendar.timezone)
        # Every ended period since the scheme took effect gets closed (a worker down for a while catches up),
        # looking back at most MAX_CATCH_UP periods.
        key = current
        for _ in range(MAX_CATCH_UP):
            key = previous_period_key(calendar.cycle, key)
            starts, ends = period_window(calendar.cycle, key, calendar.timezone)
            if pick_version_in_force(published, starts) is None:
                break
            if (scheme.id, key) not in known and ends + grace <= now:
                work.to_close.append(PeriodRef(tenant_id, scheme.id, key))
        current_start, _ = period_window(calendar.cycle, current, calendar.timezone)
        existing = known.get((scheme.id, current))
        if pick_version_in_force(published, current_start) is not None and (
            existing is None
            or (
                existing.state == "open"
                and (existing.provisional_at is None or existing.provisional_at + refresh <= now)
            )
        ):
            work.to_refresh.append(PeriodRef(tenant_id, scheme.id, current))


def _failed_for_good(period: Period, published: list[SchemeVersion]) -> bool:
    """The period's last close failed and no version of its scheme was published since."""
    if period.failed_at is None:
        return False
    return not any(v.published_at is not None and v.published_at > period.failed_at for v in published)
