"""Reading closed and provisional results: periods, scorecards with their lines, statements. Set-based reads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from tenants.periods.models import Period
from tenants.rules.money import net_amount
from tenants.schemes.service import FrozenPeriod
from tenants.tenancy.identity import TenantId
from tenants.tenancy.uow import tenant_unit_of_work

# Periods whose results exist (or are being computed): a scheme version must not become effective inside them.
FROZEN_PERIOD_STATES: Final = ("closing", "closed", "stale")


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


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def list_periods(tenant_id: TenantId, scheme_id: int) -> list[Period]:
    async with tenant_unit_of_work(tenant_id):
        return await Period.filter(tenant_id=tenant_id, scheme_id=scheme_id).order_by("-starts_at")


async def first_frozen_period(tenant_id: TenantId, scheme_id: int, ends_after: datetime) -> FrozenPeriod | None:
    """The scheme's earliest period in a frozen state that ends after `ends_after`, in the caller's unit of work (the
    schemes domain asks it before publishing a version, see tenants/schemes/service.py)."""
    period = (
        await Period.filter(
            tenant_id=tenant_id, scheme_id=scheme_id, state__in=FROZEN_PERIOD_STATES, ends_at__gt=ends_after
        )
        .order_by("starts_at")
        .first()
    )
    return FrozenPeriod(period.key, period.state) if period is not None else None


LINES_SQL = """
SELECT s.code AS staff_code, l.revision, l.rule_key, l.kind, l.amount, l.derivation, l.scheme_version_id, l.posted_at,
       l.staff_id
FROM ledger_line l JOIN staff s ON s.tenant_id = l.tenant_id AND s.id = l.staff_id
WHERE l.tenant_id = $1 AND l.period_id = $2 {staff_filter}
ORDER BY s.code, l.revision, l.id
"""


async def scorecards(
    tenant_id: TenantId, scheme_id: int, period_key: str, staff_code: str | None = None
) -> list[ScorecardView]:
    """The latest revision's scorecards (or the provisional ones of an open period), each with all its posted lines."""
    async with tenant_unit_of_work(tenant_id) as conn:
        period = await Period.filter(tenant_id=tenant_id, scheme_id=scheme_id, key=period_key).first()
        if period is None:
            return []
        params: list[Any] = [tenant_id, period.id, period.revision]
        staff_filter = ""
        if staff_code is not None:
            params.append(staff_code)
            staff_filter = f"AND s.code = ${len(params)}"
        cards = await conn.execute_query_dict(
            "SELECT c.staff_id, s.code AS staff_code, s.name AS staff_name, t.code AS team_code, c.revision, "
            "c.provisional, c.total, c.grade, c.rank, c.metrics, c.flags FROM scorecard c "
            "JOIN staff s ON s.tenant_id = c.tenant_id AND s.id = c.staff_id "
            "LEFT JOIN team t ON t.tenant_id = s.tenant_id AND t.id = s.team_id "
            f"WHERE c.tenant_id = $1 AND c.period_id = $2 AND c.revision = $3 {staff_filter} ORDER BY c.rank, s.code",
            params,
        )
        line_params = [tenant_id, period.id] + ([staff_code] if staff_code is not None else [])
        lines = await conn.execute_query_dict(
            LINES_SQL.format(staff_filter="AND s.code = $3" if staff_code is not None else ""), line_params
        )
    by_staff: dict[int, list[LineView]] = {}
    for row in lines:
        staff_id = row.pop("staff_id")
        by_staff.setdefault(staff_id, []).append(LineView(**row))
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
            metrics=_json(row["metrics"]),
            flags=_json(row["flags"]),
            lines=by_staff.get(row["staff_id"], []),
        )
        for row in cards
    ]


async def staff_code_of_user(tenant_id: TenantId, user_id: int) -> str | None:
    async with tenant_unit_of_work(tenant_id) as conn:
        rows = await conn.execute_query_dict(
            "SELECT code FROM staff WHERE tenant_id = $1 AND user_id = $2", [tenant_id, user_id]
        )
    return rows[0]["code"] if rows else None
