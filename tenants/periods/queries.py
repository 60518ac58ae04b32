"""Reading closed and provisional results: periods, scorecards with their lines, statements.

Entry points: each opens one unit of work and reads through tenants/periods/repository.py (set-based reads)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tenants.db.uow import tenant_unit_of_work
from tenants.periods import repository
from tenants.periods.models import Period
from tenants.rules.money import net_amount
from tenants.tenancy.identity import TenantId


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


async def scorecards(
    tenant_id: TenantId, scheme_id: int, period_key: str, staff_code: str | None = None
) -> list[ScorecardView]:
    """The latest revision's scorecards (or the provisional ones of an open period), each with all its posted lines."""
    async with tenant_unit_of_work(tenant_id) as conn:
        period = await repository.find_period(conn, tenant_id, scheme_id, period_key)
        if period is None:
            return []
        cards = await repository.scorecard_rows(conn, tenant_id, period, staff_code)
        lines = await repository.line_rows(conn, tenant_id, period.id, staff_code)
    by_staff: dict[int, list[LineView]] = {}
    for row in lines:
        by_staff.setdefault(row["staff_id"], []).append(
            LineView(
                staff_code=row["staff_code"],
                revision=row["revision"],
                rule_key=row["rule_key"],
                kind=row["kind"],
                amount=row["amount"],
                derivation=row["derivation"],
                scheme_version_id=row["scheme_version_id"],
                posted_at=row["posted_at"],
            )
        )
    return [
        ScorecardView(
            staff_id=row["staff_id"],
            staff_code=row["staff_code"],
            staff_name=row["staff_name"],
            team_code=row["team_code"],
            revision=row["revision"],
            provisional=row["provisional"],
            total=row["total"],
            grade=row["grade"],
            rank=row["rank"],
            metrics=row["metrics"],
            flags=row["flags"],
            lines=by_staff.get(row["staff_id"], []),
        )
        for row in cards
    ]


async def staff_code_of_user(tenant_id: TenantId, user_id: int) -> str | None:
    async with tenant_unit_of_work(tenant_id) as conn:
        return await repository.staff_code_of_user(conn, tenant_id, user_id)
