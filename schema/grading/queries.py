"""GradingQuery: customer grades of a month, the month's summary, the caller's alerts, the service rules.

Reads are narrowed to the caller's access scope by the service (tenants/access/scope.py): owners and admins see the
whole tenant, managers the customers bound to guides of their teams and the alerts of their teams, staff their own
customers and alerts. Another tenant's data, or data outside the scope, is simply not there.
"""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.grading.types import (
    AlertState,
    CustomerAlertPage,
    CustomerGradeLetter,
    CustomerGradePage,
    CustomerGradesResult,
    GradeSummaryResult,
    GradingErrors,
    MonthGradeSummary,
    MyAlertsResult,
    ServiceRules,
)
from schema.permissions import tenant_access
from tenants.grading import service
from tenants.grading.errors import GradingError
from tenants.tenancy.auth import Role


@strawberry.type
class GradingQuery:
    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="Customer grades of a graded month, in rank order then the D customers (customers in your scope: "
        "all for owners and admins, those bound to guides of your teams for managers, your own for staff).",
    )
    async def customer_grades(
        self,
        info: Info,
        month: str,
        grade: CustomerGradeLetter | None = None,
        team: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> CustomerGradesResult:
        context = info.context
        assert context.principal is not None
        try:
            page = await service.customer_grades(
                context.tenant_id,
                context.principal,
                month,
                grade=grade.value if grade is not None else None,
                team_code=team,
                first=first,
                after=after,
            )
        except GradingError as error:
            return GradingErrors.of(error)
        return CustomerGradePage.of(page)

    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="Counts and contribution share per grade of a graded month, and the transition matrix against "
        "the month before (customers in your scope).",
    )
    async def grade_summary(self, info: Info, month: str) -> GradeSummaryResult:
        context = info.context
        assert context.principal is not None
        try:
            summary = await service.grade_summary(context.tenant_id, context.principal, month)
        except GradingError as error:
            return GradingErrors.of(error)
        return MonthGradeSummary.of(summary)

    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="Alerts you work on, newest first: assigned to you, or (managers) routed to your teams; owners "
        "and admins see all.",
    )
    async def my_alerts(
        self, info: Info, state: AlertState | None = None, first: int = 50, after: str | None = None
    ) -> MyAlertsResult:
        context = info.context
        assert context.principal is not None
        try:
            page = await service.my_alerts(
                context.tenant_id,
                context.principal,
                state=state.value if state is not None else None,
                first=first,
                after=after,
            )
        except GradingError as error:
            return GradingErrors.of(error)
        return CustomerAlertPage.of(page)

    @strawberry.field(
        extensions=tenant_access(Role.ADMIN),
        description="The tenant's service rules (grading thresholds, follow-up rules); the defaults until saved.",
    )
    async def service_rules(self, info: Info) -> ServiceRules:
        return ServiceRules.of(await service.get_service_rules(info.context.tenant_id))
