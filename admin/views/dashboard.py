"""The dashboard of a scheme and period: distribution of totals, grade counts, payout by team and kind, the trend of
the average total over the scheme's last 12 periods, and the customer grade mix when grading has run.

Read-only SQL on the console's tenant-scoped session (RLS), each statement naming the tenant too: correct on its own,
not only under the policy (the month's grading run is one row per tenant). The results of a period are its latest
revision's scorecards (the provisional ones while it is open) and all its posted lines (adjustments included: the net
paid).
Customer grades are monthly (tenants/grading): the mix shown is the one of the month the period ends in, on the
scheme's calendar (its timezone), for every cycle: a month's own key, the month of a week's Sunday or of a quarter's
last day. Its chart data names that month; no grades for it (not graded yet) gives no labels and a note saying so.
Charts are drawn by Apache ECharts served from the console's own static files (admin/static/echarts).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqladmin import expose
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response

from admin.i18n import current_zone, format_money, format_number, label, render
from admin.views.base import MerchantPage, parse_id, require_tenant
from admin.views.periods import KINDS
from admin.views.schemes import script_json
from tenants.i18n import _
from tenants.rules.grading import GRADES

BUCKET_POINTS = 10
TREND_PERIODS = 12

SCHEMES_SQL = text("SELECT id, name FROM scheme WHERE tenant_id = :tenant ORDER BY id")
PERIODS_SQL = text(
    """
    SELECT p.id, p.key, p.state, p.revision, p.ends_at, v.config->>'timezone' AS timezone
    FROM period p LEFT JOIN scheme_version v ON v.id = p.scheme_version_id AND v.tenant_id = p.tenant_id
    WHERE p.tenant_id = :tenant AND p.scheme_id = :scheme ORDER BY p.starts_at DESC LIMIT 60
    """
)
TOTALS_SQL = text(
    """
    SELECT floor(s.total / :bucket) * :bucket AS bucket, count(*) AS n
    FROM scorecard s JOIN period p ON p.id = s.period_id AND p.tenant_id = s.tenant_id
    WHERE s.tenant_id = :tenant AND s.period_id = :period AND s.revision = p.revision
    GROUP BY 1 ORDER BY 1
    """
)
GRADES_SQL = text(
    """
    SELECT coalesce(s.grade, '—') AS grade, count(*) AS n
    FROM scorecard s JOIN period p ON p.id = s.period_id AND p.tenant_id = s.tenant_id
    WHERE s.tenant_id = :tenant AND s.period_id = :period AND s.revision = p.revision
    GROUP BY 1 ORDER BY 1
    """
)
PAYOUT_SQL = text(
    """
    SELECT coalesce(t.name, '—') AS team, l.kind, sum(l.amount) AS amount
    FROM ledger_line l
    JOIN staff st ON st.id = l.staff_id AND st.tenant_id = l.tenant_id
    LEFT JOIN team t ON t.id = st.team_id AND t.tenant_id = st.tenant_id
    WHERE l.tenant_id = :tenant AND l.period_id = :period
    GROUP BY 1, 2 ORDER BY 1, 2
    """
)
TREND_SQL = text(
    """
    SELECT p.key, avg(s.total) AS average
    FROM period p JOIN scorecard s ON s.period_id = p.id AND s.tenant_id = p.tenant_id AND s.revision = p.revision
    WHERE p.tenant_id = :tenant AND p.scheme_id = :scheme
    GROUP BY p.key, p.starts_at ORDER BY p.starts_at DESC LIMIT :periods
    """
)
# the month's rows are those of its current grading run (tenants/grading, migration 0018)
CUSTOMER_GRADES_SQL = text(
    "SELECT grade, count(*) AS n FROM customer_grade WHERE tenant_id = :tenant "
    "AND run = (SELECT run FROM customer_grade_month WHERE tenant_id = :tenant AND month = :month) GROUP BY 1"
)
HAS_GRADING_SQL = text("SELECT to_regclass('customer_grade') IS NOT NULL")


def grade_month(ends_at: datetime, timezone: str | None) -> str:
    """The month (YYYY-MM, as grading keys it) holding the period's last instant on the scheme's calendar: ends_at is
    exclusive (the next period's local midnight), so its month is the next one's. Without a usable timezone (a period
    no version governs yet), the tenant's."""
    try:
        zone = ZoneInfo(timezone) if timezone else current_zone.get()
    except (ZoneInfoNotFoundError, ValueError):
        zone = current_zone.get()
    return (ends_at - timedelta(microseconds=1)).astimezone(zone).strftime("%Y-%m")


def customer_grade_chart(month: str, rows: Sequence[Any]) -> dict[str, Any]:
    """Every grade in A-D order (a zero says "none of this grade") once the month is graded; else no labels and a
    note: the month has no grades yet."""
    counts = {row.grade: int(row.n) for row in rows}
    if not counts:
        return {
            "month": month,
            "labels": [],
            "values": [],
            "note": render(_("{month} has not been graded yet.", month=month)),
        }
    return {
        "month": month,
        "labels": [render(_("Grade {grade} customers", grade=grade)) for grade in GRADES],
        "values": [counts.get(grade, 0) for grade in GRADES],
        "note": None,
    }


def _number(value: Any) -> float:
    # chart coordinates only: the figures shown as text stay Decimal and are formatted by Babel
    return float(value) if isinstance(value, Decimal) else float(value or 0)


class DashboardPage(MerchantPage):
    name = label(_("Dashboard"))
    icon = "fa-solid fa-chart-column"

    @expose("/dashboard", methods=["GET"], identity="dashboard")
    async def dashboard(self, request: Request) -> Response:
        _user, tenant_id = require_tenant(request)
        mine = {"tenant": tenant_id}
        async with self._admin_ref.session_maker() as session:
            schemes = (await session.execute(SCHEMES_SQL, mine)).all()
            scheme_id = parse_id(request.query_params.get("scheme"))
            if scheme_id is None:
                scheme_id = schemes[-1].id if schemes else None
            periods = (await session.execute(PERIODS_SQL, {**mine, "scheme": scheme_id})).all() if scheme_id else []
            period_param = request.query_params.get("period", "")
            period = next((p for p in periods if p.key == period_param), None)
            if period is None:
                period = next((p for p in periods if p.state == "closed"), periods[0] if periods else None)
            charts: dict[str, Any] = {}
            summary: dict[str, str] = {}
            month: str | None = None  # the month whose customer grades are shown
            if period is not None:
                of_period = {**mine, "period": period.id}
                totals = (await session.execute(TOTALS_SQL, {**of_period, "bucket": BUCKET_POINTS})).all()
                grades = (await session.execute(GRADES_SQL, of_period)).all()
                payout = (await session.execute(PAYOUT_SQL, of_period)).all()
                latest = {**mine, "scheme": scheme_id, "periods": TREND_PERIODS}
                trend = list(reversed((await session.execute(TREND_SQL, latest)).all()))
                month = grade_month(period.ends_at, period.timezone)
                customer_grades: Sequence[Any] = []
                if (await session.execute(HAS_GRADING_SQL)).scalar():
                    customer_grades = (await session.execute(CUSTOMER_GRADES_SQL, {**mine, "month": month})).all()
                teams = sorted({row.team for row in payout})
                kinds = sorted({row.kind for row in payout})
                amounts = {(row.team, row.kind): row.amount for row in payout}
                charts = {
                    "totals": {
                        "labels": [f"{int(row.bucket)}–{int(row.bucket) + BUCKET_POINTS}" for row in totals],
                        "values": [row.n for row in totals],
                    },
                    "grades": {"labels": [row.grade for row in grades], "values": [row.n for row in grades]},
                    "payout": {
                        "teams": teams,
                        "series": [
                            {
                                "name": render(KINDS[kind]) if kind in KINDS else kind,
                                "values": [_number(amounts.get((team, kind), 0)) for team in teams],
                            }
                            for kind in kinds
                        ],
                    },
                    "trend": {
                        "labels": [row.key for row in trend],
                        "values": [round(_number(row.average), 2) for row in trend],
                    },
                    "customerGrades": customer_grade_chart(month, customer_grades),
                }
                net = sum((row.amount for row in payout), Decimal(0))
                people = sum(row.n for row in grades)
                summary = {"net": format_money(net), "people": format_number(people, 0)}
        return await self.templates.TemplateResponse(
            request,
            "kaohe/dashboard.html",
            {
                "title": render(_("Dashboard")),
                "schemes": schemes,
                "scheme_id": scheme_id,
                "periods": periods,
                "period": period,
                "summary": summary,
                "charts_json": script_json(charts),
                "words_json": script_json(
                    {
                        "totals": render(_("Distribution of totals")),
                        "grades": render(_("Grade counts")),
                        "payout": render(_("Payout by team and kind")),
                        "trend": render(_("Average total, last 12 periods")),
                        "customerGrades": render(_("Customer grade mix, {month}", month=month))
                        if month is not None
                        else render(_("Customer grade mix")),
                        "people": render(_("Staff")),
                        "customers": render(_("Customers")),
                    }
                ),
            },
        )
