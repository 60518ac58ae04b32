"""Customer grading, alerts and the tenant's service rules: the entry points.

Rules
- A month is graded once it has ended in the tenant's timezone: the monthly cron (workers/grading.py) grades the
  month just over for every tenant, an admin may ask again any time (`request_grading`, a job). Grading reads ONE
  set-based aggregation (repository.month_contributions), grades with the pure rules (tenants/rules/grading.py) under
  the tenant's thresholds (service rules), and replaces the month's stored grades in one statement. Grading a month
  again replaces its grades and keeps its alerts (one per customer and month).
- The close's `customer_grade` filter reads the stored grades of the month before the period
  (tenants/periods/aggregation.py). When that month has no stored grades (the tenant's first close, a month the
  cron has not reached), the close grades it first, on its own connection, exactly as the job would: the grades a
  close used are always the stored ones, and a later look at them shows what the close saw.
- A grade change raises an alert (rules: alert_for), assigned to the customer's exclusive guide, else routed to the
  team of the staff member who served the customer last (that team's managers see it).
- Reads go through the caller's access scope (tenants/access/scope.py): customers by their exclusive guide's team,
  alerts by their assignee and team. Outside the scope is "not found", as another tenant's data.
- Every change is audited in its own unit of work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.access.scope import AccessScope, read_access_scope
from tenants.audit.service import SYSTEM, Actor, record
from tenants.db.uow import platform_unit_of_work, tenant_unit_of_work
from tenants.grading import repository
from tenants.grading.errors import GradingError, GradingErrorCode
from tenants.grading.jobs import enqueue_grading_after_commit
from tenants.grading.repository import AlertRow, GradeRow, MonthRecord
from tenants.i18n import _
from tenants.rules.calendar import CalendarError, period_containing, period_window, previous_period_key
from tenants.rules.followups import (
    ServiceRules,
    ServiceRulesInvalid,
    parse_service_rules,
    stored_service_rules,
)
from tenants.rules.grading import ALERT_ACTIONS, GRADES, alert_for, grade_customers, grade_shares
from tenants.rules.grading import GradeShare as GradeShare  # the schema reads it from here
from tenants.tenancy.auth import Principal
from tenants.tenancy.identity import TenantId, tenant_id_for_system
from tenants.text import is_storable_text

MAX_NOTE_LENGTH: Final = 2000
ALERT_STATES: Final = ("open", "done", "dismissed")
log = structlog.get_logger("kaohe.grading")


# --- service rules --------------------------------------------------------------------------------------------------


async def read_rules(conn: BaseDBAsyncClient, tenant_id: TenantId) -> ServiceRules:
    return stored_service_rules(await repository.service_rules(conn, tenant_id))


async def get_service_rules(tenant_id: TenantId) -> ServiceRules:
    async with tenant_unit_of_work(tenant_id) as conn:
        return await read_rules(conn, tenant_id)


async def save_service_rules(tenant_id: TenantId, actor: Actor, raw: object) -> ServiceRules:
    """Validate the whole config first (every problem, nothing stored when any), then store and audit it."""
    try:
        rules = parse_service_rules(raw)
    except ServiceRulesInvalid as invalid:
        raise GradingError.invalid_rules(invalid.problems) from None
    async with tenant_unit_of_work(tenant_id) as conn:
        before = await read_rules(conn, tenant_id)
        await repository.save_service_rules(conn, tenant_id, json.dumps(rules.as_json()))
        await record(conn, tenant_id, actor, "update", "service_rules", None, before.as_json(), rules.as_json())
    return rules


# --- grading --------------------------------------------------------------------------------------------------------


def checked_month(month: str) -> str:
    try:
        previous_period_key("month", month)
    except CalendarError as error:
        raise GradingError.of(GradingErrorCode.INVALID_MONTH, error.message, "month") from None
    return month


@dataclass(frozen=True)
class GradingOutcome:
    month: str
    customers: int
    total: Decimal
    counts: dict[str, int]
    alerts_created: int


async def grade_month_on(conn: BaseDBAsyncClient, tenant_id: TenantId, month: str) -> GradingOutcome:
    """Grade `month` on the caller's unit of work (the job's, or a close's): one aggregation, the pure rules, one
    write of every customer's grade, and the alerts of the changes."""
    await repository.lock_month(conn, tenant_id, month)
    timezone = await repository.tenant_timezone(conn, tenant_id)
    rules = await read_rules(conn, tenant_id)
    starts, ends = period_window("month", month, timezone)
    previous = previous_period_key("month", month)
    rows = await repository.month_contributions(conn, tenant_id, starts, ends, previous)
    graded = grade_customers(rows, rules.grading)
    await repository.replace_month(
        conn,
        tenant_id,
        month,
        starts,
        ends,
        rules.grading.a_below,
        rules.grading.b_below,
        graded,
    )
    changes = [
        (customer, kind)
        for customer in graded.d_customers
        if (kind := alert_for(customer.previous_grade, customer.grade)) is not None
    ]
    created = 0
    if changes:
        previous_starts, _ = period_window("month", previous, timezone)
        targets = {
            target.customer_id: target
            for target in await repository.alert_targets(
                conn, tenant_id, [customer.customer_id for customer, _ in changes], previous, previous_starts, ends
            )
        }
        created = await repository.insert_alerts(
            conn,
            tenant_id,
            month,
            [
                (
                    customer.customer_id,
                    kind.value,
                    ALERT_ACTIONS[kind],
                    customer.previous_grade,
                    customer.grade,
                    targets[customer.customer_id].assignee_staff_id,
                    targets[customer.customer_id].team_id,
                )
                for customer, kind in changes
            ],
        )
    return GradingOutcome(
        month=month,
        customers=len(graded.ranked) + len(graded.unranked),
        total=graded.total,
        counts=dict(graded.counts),
        alerts_created=created,
    )


async def grade_month(tenant_id: TenantId, actor: Actor, month: str) -> GradingOutcome:
    """The job's entry point: grade the month in one unit of work, audited."""
    checked_month(month)
    async with tenant_unit_of_work(tenant_id) as conn:
        # Grades are derived data: a crash right after the commit loses at most this grading, whole (its month row
        # with it), and the cron grades the month again. So the commit does not wait for the WAL flush of 200,000
        # rows. (Not on a close's connection: ensure_month_graded runs inside the close's durable transaction.)
        await repository.commit_without_waiting(conn)
        outcome = await grade_month_on(conn, tenant_id, month)
        await record(
            conn,
            tenant_id,
            actor,
            "grade",
            "customer_grade_month",
            None,
            None,
            {
                "month": month,
                "customers": outcome.customers,
                "total": outcome.total,
                "counts": outcome.counts,
                "alerts_created": outcome.alerts_created,
            },
        )
    return outcome


async def ensure_month_graded(conn: BaseDBAsyncClient, tenant_id: TenantId, month: str) -> None:
    """For the close: the month's stored grades, grading it now (on `conn`) when it has none."""
    if not await repository.month_is_graded(conn, tenant_id, month):
        outcome = await grade_month_on(conn, tenant_id, month)
        await record(
            conn,
            tenant_id,
            SYSTEM,
            "grade",
            "customer_grade_month",
            None,
            None,
            {"month": month, "customers": outcome.customers, "total": outcome.total, "by": "close"},
        )


def month_is_over(month: str, timezone: str, now: datetime) -> bool:
    return period_window("month", month, timezone)[1] <= now


async def request_grading(tenant_id: TenantId, actor: Actor, month: str, *, now: datetime | None = None) -> str:
    """Grade (or grade again) a month that has ended, in the background; the tracking id of the job."""
    checked_month(month)
    async with tenant_unit_of_work(tenant_id) as conn:
        timezone = await repository.tenant_timezone(conn, tenant_id)
        if not month_is_over(month, timezone, now or datetime.now(UTC)):
            raise GradingError.of(
                GradingErrorCode.MONTH_NOT_OVER,
                _("{month} has not ended yet in the tenant's timezone; it can be graded once it has.", month=month),
                "month",
            )
        await record(conn, tenant_id, actor, "request", "customer_grade_month", None, None, {"month": month})
        pending = enqueue_grading_after_commit(lambda queue: queue.enqueue_grading(tenant_id, month))
    return pending.id


async def months_due(now: datetime) -> list[tuple[TenantId, str]]:
    """For the monthly cron: every tenant whose last month (in its timezone) has ended and is not graded yet."""
    async with platform_unit_of_work() as conn:
        tenants = await repository.tenant_timezones(conn)
    due: list[tuple[TenantId, str]] = []
    for raw_id, timezone in tenants:
        tenant_id = tenant_id_for_system(raw_id)
        try:
            current = period_containing("month", now, timezone)
            month = previous_period_key("month", current)
            async with tenant_unit_of_work(tenant_id) as conn:
                graded = await repository.month_is_graded(conn, tenant_id, month)
        except (CalendarError, ValueError) as error:  # one tenant's unusable timezone costs only that tenant
            log.error("grading cron skipped a tenant", tenant_id=raw_id, exc_info=error)
            continue
        if not graded:
            due.append((tenant_id, month))
    return due


# --- reads ----------------------------------------------------------------------------------------------------------

MAX_PAGE: Final = 200


def parse_cursor(after: str | None, max_digits: int) -> int | None:
    """A listing's cursor: the position (customerGrades) or id (myAlerts) of the last row seen, as text of digits."""
    if after is None:
        return None
    if not (after.isascii() and after.isdigit() and len(after) <= max_digits):
        raise GradingError.of(GradingErrorCode.INVALID_PAGE, _("This cursor was not made by this listing."), "after")
    return int(after)


def _checked_grade(grade: str | None) -> str | None:
    if grade is not None and grade not in GRADES:
        raise GradingError.of(GradingErrorCode.INVALID_GRADE, _("A grade is A, B, C or D."), "grade")
    return grade


@dataclass(frozen=True)
class GradePage:
    rows: list[GradeRow]
    end_cursor: str | None
    has_next_page: bool


async def customer_grades(
    tenant_id: TenantId,
    principal: Principal,
    month: str,
    *,
    grade: str | None = None,
    team_code: str | None = None,
    first: int = 50,
    after: str | None = None,
) -> GradePage:
    checked_month(month)
    cursor = parse_cursor(after, 9)
    _checked_grade(grade)
    size = max(1, min(first, MAX_PAGE))
    async with tenant_unit_of_work(tenant_id) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        rows = await repository.list_grades(
            conn, tenant_id, scope, month, grade=grade, team_code=team_code, first=size + 1, after=cursor
        )
    page = rows[:size]
    return GradePage(page, str(page[-1].position) if page else None, len(rows) > size)


@dataclass(frozen=True)
class GradeTransition:
    previous_grade: str | None
    grade: str
    customers: int


@dataclass(frozen=True)
class GradeSummary:
    month: MonthRecord
    grades: list[GradeShare]
    transitions: list[GradeTransition]


async def grade_summary(tenant_id: TenantId, principal: Principal, month: str) -> GradeSummary:
    """Per grade: customers, contribution and its share; and every (last month's grade, this month's) count. Over the
    customers in the caller's scope; NOT_GRADED for a month without stored grades."""
    checked_month(month)
    async with tenant_unit_of_work(tenant_id) as conn:
        record_ = await repository.month_record(conn, tenant_id, month)
        if record_ is None:
            raise GradingError.of(
                GradingErrorCode.NOT_GRADED, _("{month} has not been graded yet.", month=month), "month"
            )
        scope = await read_access_scope(conn, tenant_id, principal)
        counts = await repository.grade_counts(conn, tenant_id, scope, month)
    grades = grade_shares((grade, customers, contribution) for _previous, grade, customers, contribution in counts)
    order = {grade: index for index, grade in enumerate(GRADES)}
    transitions = sorted(
        (GradeTransition(previous, grade, customers) for previous, grade, customers, _ in counts),
        key=lambda t: (order.get(t.previous_grade or "", 9), order[t.grade]),
    )
    return GradeSummary(record_, grades, transitions)


@dataclass(frozen=True)
class AlertPage:
    rows: list[AlertRow]
    end_cursor: str | None
    has_next_page: bool


def _checked_state(state: str | None, field: str = "state") -> str | None:
    if state is not None and state not in ALERT_STATES:
        raise GradingError.of(GradingErrorCode.INVALID_STATE, _("An alert's state is open, done or dismissed."), field)
    return state


async def my_alerts(
    tenant_id: TenantId, principal: Principal, *, state: str | None = None, first: int = 50, after: str | None = None
) -> AlertPage:
    _checked_state(state)
    after_id = parse_cursor(after, 18)
    size = max(1, min(first, MAX_PAGE))
    async with tenant_unit_of_work(tenant_id) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        rows = await repository.list_alerts(conn, tenant_id, scope, state=state, first=size + 1, after_id=after_id)
    page = rows[:size]
    return AlertPage(page, str(page[-1].id) if page else None, len(rows) > size)


async def update_alert(
    tenant_id: TenantId, principal: Principal, actor: Actor, alert_id: int | None, state: str, note: str | None
) -> AlertRow:
    """Set an alert's state (open, done, dismissed) and note; the caller must see the alert (else NOT_FOUND)."""
    _checked_state(state)
    if note is not None and (len(note) > MAX_NOTE_LENGTH or not is_storable_text(note)):
        raise GradingError.of(
            GradingErrorCode.INVALID_NOTE,
            _("A note is text of at most {limit} characters.", limit=MAX_NOTE_LENGTH),
            "note",
        )
    not_found = GradingError.of(GradingErrorCode.NOT_FOUND, _("No such alert."), "id")
    if alert_id is None:
        raise not_found
    async with tenant_unit_of_work(tenant_id) as conn:
        scope: AccessScope = await read_access_scope(conn, tenant_id, principal)
        before = await repository.alert_in_scope(conn, tenant_id, scope, alert_id, for_update=True)
        if before is None:
            raise not_found
        new_note = before.note if note is None else note
        await repository.update_alert(conn, tenant_id, alert_id, state, new_note)
        await record(
            conn,
            tenant_id,
            actor,
            "update",
            "customer_alert",
            alert_id,
            {"state": before.state, "note": before.note},
            {"state": state, "note": new_note},
        )
        after = await repository.alert_in_scope(conn, tenant_id, scope, alert_id)
    assert after is not None
    return after
