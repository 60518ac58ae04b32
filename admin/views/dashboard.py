"""The dashboard of a scheme and period: distribution of totals, grade counts, payout by team and kind, the trend of
the average total over the scheme's last 12 periods, and the customer grade mix when grading has run.

Read-only SQL on the console's tenant-scoped session (RLS); the results of a period are its latest revision's
scorecards (the provisional ones while it is open) and all its posted lines (adjustments included: the net paid).
Charts are drawn by Apache ECharts served from the console's own static files (admin/static/echarts).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqladmin import expose
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response

from admin.i18n import format_money, format_number, label, render
from admin.views.base import MerchantPage, require_tenant
from admin.views.periods import KINDS
from admin.views.schemes import script_json
from tenants.i18n import _

BUCKET_POINTS = 10
TREND_PERIODS = 12

SCHEMES_SQL = text("SELECT id, name FROM scheme ORDER BY id")
PERIODS_SQL = text(
    "SELECT id, key, state, revision FROM period WHERE scheme_id = :scheme ORDER BY starts_at DESC LIMIT 60"
)
TOTALS_SQL = text(
    """
    SELECT floor(s.total / :bucket) * :bucket AS bucket, count(*) AS n
    FROM scorecard s JOIN period p ON p.id = s.period_id AND p.tenant_id = s.tenant_id
    WHERE s.period_id = :period AND s.revision = p.revision
    GROUP BY 1 ORDER BY 1
    """
)
GRADES_SQL = text(
    """
    SELECT coalesce(s.grade, '—') AS grade, count(*) AS n
    FROM scorecard s JOIN period p ON p.id = s.period_id AND p.tenant_id = s.tenant_id
    WHERE s.period_id = :period AND s.revision = p.revision
    GROUP BY 1 ORDER BY 1
    """
)
PAYOUT_SQL = text(
    """
    SELECT coalesce(t.name, '—') AS team, l.kind, sum(l.amount) AS amount
    FROM ledger_line l
    JOIN staff st ON st.id = l.staff_id AND st.tenant_id = l.tenant_id
    LEFT JOIN team t ON t.id = st.team_id AND t.tenant_id = st.tenant_id
    WHERE l.period_id = :period
    GROUP BY 1, 2 ORDER BY 1, 2
    """
)
TREND_SQL = text(
    """
    SELECT p.key, avg(s.total) AS average
    FROM period p JOIN scorecard s ON s.period_id = p.id AND s.tenant_id = p.tenant_id AND s.revision = p.revision
    WHERE p.scheme_id = :scheme
    GROUP BY p.key, p.starts_at ORDER BY p.starts_at DESC LIMIT :periods
    """
)
CUSTOMER_GRADES_SQL = text("SELECT grade, count(*) AS n FROM customer_grade WHERE month = :month GROUP BY 1 ORDER BY 1")
HAS_GRADING_SQL = text("SELECT to_regclass('customer_grade') IS NOT NULL")


def _number(value: Any) -> float:
    # chart coordinates only: the figures shown as text stay Decimal and are formatted by Babel
    return float(value) if isinstance(value, Decimal) else float(value or 0)


class DashboardPage(MerchantPage):
    name = label(_("Dashboard"))
    icon = "fa-solid fa-chart-column"

    @expose("/dashboard", methods=["GET"], identity="dashboard")
    async def dashboard(self, request: Request) -> Response:
        require_tenant(request)
        async with self._admin_ref.session_maker() as session:
            schemes = (await session.execute(SCHEMES_SQL)).all()
            scheme_param = request.query_params.get("scheme", "")
            scheme_id = int(scheme_param) if scheme_param.isdigit() else (schemes[-1].id if schemes else None)
            periods = (await session.execute(PERIODS_SQL, {"scheme": scheme_id})).all() if scheme_id else []
            period_param = request.query_params.get("period", "")
            period = next((p for p in periods if p.key == period_param), None)
            if period is None:
                period = next((p for p in periods if p.state == "closed"), periods[0] if periods else None)
            charts: dict[str, Any] = {}
            summary: dict[str, str] = {}
            if period is not None:
                totals = (await session.execute(TOTALS_SQL, {"period": period.id, "bucket": BUCKET_POINTS})).all()
                grades = (await session.execute(GRADES_SQL, {"period": period.id})).all()
                payout = (await session.execute(PAYOUT_SQL, {"period": period.id})).all()
                trend = list(
                    reversed((await session.execute(TREND_SQL, {"scheme": scheme_id, "periods": TREND_PERIODS})).all())
                )
                customer_grades: list[Any] = []
                if (await session.execute(HAS_GRADING_SQL)).scalar():
                    customer_grades = (await session.execute(CUSTOMER_GRADES_SQL, {"month": period.key})).all()
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
                    "customerGrades": {
                        "labels": [row.grade for row in customer_grades],
                        "values": [row.n for row in customer_grades],
                    },
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
                        "customerGrades": render(_("Customer grade mix")),
                        "people": render(_("Staff")),
                        "customers": render(_("Customers")),
                    }
                ),
            },
        )
