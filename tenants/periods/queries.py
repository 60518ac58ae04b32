"""Reading periods (the `periods` query) and the value types of a stored scorecard and its lines.

Entry points open one unit of work and read through tenants/periods/repository.py. Scorecards, statements and
rankings are read by the scorecards domain (tenants/scorecards, issue 8), inside the caller's access scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tenants.db.uow import tenant_unit_of_work
from tenants.periods import repository
from tenants.periods.models import Period
from tenants.rules.money import net_amount
from tenants.schemes.service import pick_version_in_force
from tenants.tenancy.identity import TenantId

DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class LineView:
    staff_code: str
    revision: int
    rule_key: str
    kind: str
    amount: Decimal
    derivation: str
    scheme_version_id: int
    posted_at: datetime


@dataclass(frozen=True)
class ScorecardView:
    staff_id: int
    staff_code: str
    staff_name: str
    team_code: str | None
    revision: int
    provisional: bool
    total: Decimal
    grade: str | None
    rank: int
    metrics: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    lines: list[LineView]

    @property
    def net(self) -> Decimal:
        return net_amount(line.amount for line in self.lines)


async def list_periods(tenant_id: TenantId, scheme_id: int) -> list[Period]:
    async with tenant_unit_of_work(tenant_id) as conn:
        return await repository.periods_of_scheme(conn, tenant_id, scheme_id)


@dataclass(frozen=True)
class PeriodListing:
    """A period with the timezone of its calendar (the version it was closed with, else the one in force at its
    start), so that its local first and last days can be told."""

    period: Period
    timezone: str


async def list_periods_with_zones(tenant_id: TenantId, scheme_id: int) -> list[PeriodListing]:
    """The scheme's periods, newest first, each with its calendar's timezone (two statements in one unit of work)."""
    async with tenant_unit_of_work(tenant_id) as conn:
        periods = await repository.periods_of_scheme(conn, tenant_id, scheme_id)
        versions = (await repository.published_versions(conn, tenant_id, scheme_id) or []) if periods else []
    by_id = {int(version.id): version for version in versions}
    listings = []
    for period in periods:
        version = by_id.get(int(period.scheme_version_id or 0)) or pick_version_in_force(versions, period.starts_at)
        raw = version.config if version is not None else None
        timezone = raw.get("timezone") if isinstance(raw, dict) else None
        listings.append(PeriodListing(period, timezone if isinstance(timezone, str) else DEFAULT_TIMEZONE))
    return listings
