"""GradingMutation: grade a month on demand, work on an alert, save the service rules. Each calls one service entry
point (which opens the unit of work, audits, and enqueues after commit) and answers its GradingError as
GradingErrors."""

from __future__ import annotations

import strawberry

from schema.common import JSON, actor_of, parse_global_int_id
from schema.context import Info
from schema.grading.types import (
    AlertState,
    AlertUpdated,
    CustomerAlert,
    GradeCustomersResult,
    GradingErrors,
    GradingStarted,
    SaveServiceRulesResult,
    ServiceRules,
    ServiceRulesSaved,
    UpdateAlertResult,
)
from schema.periods.types import Job
from schema.permissions import tenant_access
from tenants.grading import service
from tenants.grading.errors import GradingError
from tenants.periods.jobs import read_job
from tenants.tenancy.auth import Role


@strawberry.type
class GradingMutation:
    @strawberry.mutation(
        extensions=tenant_access(Role.ADMIN),
        description="Grade (or grade again) a month that has ended in the tenant's timezone, in the background; "
        "follow it with job(id). Grading again replaces the month's grades and keeps its alerts.",
    )
    async def grade_customers(self, info: Info, month: str) -> GradeCustomersResult:
        context = info.context
        try:
            job_id = await service.request_grading(context.tenant_id, actor_of(info), month)
        except GradingError as error:
            return GradingErrors.of(error)
        status = await read_job(context.redis, context.tenant_id, job_id)
        assert status is not None  # the queue wrote its status before returning its id
        return GradingStarted(job=Job.of(status))

    @strawberry.mutation(
        extensions=tenant_access(Role.STAFF),
        description="Set an alert's state (open, done, dismissed) and, optionally, its note. Only alerts you work on "
        "(see myAlerts); any other id is NOT_FOUND.",
    )
    async def update_alert(
        self, info: Info, id: strawberry.ID, state: AlertState, note: str | None = None
    ) -> UpdateAlertResult:
        context = info.context
        assert context.principal is not None
        key = parse_global_int_id(id, "CustomerAlert")
        try:
            row = await service.update_alert(
                context.tenant_id,
                context.principal,
                actor_of(info),
                key[0] if key is not None else None,
                state.value,
                note,
            )
        except GradingError as error:
            return GradingErrors.of(error)
        return AlertUpdated(alert=CustomerAlert.of(row))

    @strawberry.mutation(
        extensions=tenant_access(Role.ADMIN),
        description='Replace the service rules: {"grading": {"a_below": 0.2, "b_below": 0.6}, "follow_up": '
        '[{"after": "order", "needs": "follow_up_done", "within_hours": 24}]}. Invalid: every problem, nothing saved.',
    )
    async def save_service_rules(self, info: Info, rules: JSON) -> SaveServiceRulesResult:
        try:
            saved = await service.save_service_rules(info.context.tenant_id, actor_of(info), rules)
        except GradingError as error:
            return GradingErrors.of(error)
        return ServiceRulesSaved(rules=ServiceRules.of(saved))
