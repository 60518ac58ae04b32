"""Periods and their results in the console: close and re-close (a background job whose progress the page follows),
approve and reopen statements, read-only scorecards and ledger lines with filters, the statements' Excel/CSV export.

Every change is a service call with a confirmation page first (the change is that page's POST, with the CSRF token):
tenants.periods.service.request_close (validation, the request audited, the job enqueued after commit),
tenants.periods.approvals (approve/reopen, audited). The job's progress is read from tenants.periods.jobs (Redis),
scoped to the tenant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from markupsafe import Markup
from sqladmin import action, expose
from sqlalchemy import Select, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from admin.i18n import format_instant, format_money, format_number, label, render
from admin.tables import LedgerLineRow, PeriodRow, SchemeRow, ScorecardRow, StaffRow, TeamRow
from admin.views.base import (
    ChoicesFilter,
    MerchantPage,
    MerchantView,
    ValuesFilter,
    YesNoFilter,
    first_selected,
    parse_id,
    refusal_text,
    require_id,
    require_tenant,
    row_or_404,
)
from server.exports import download_response
from tenants.errors import DomainError
from tenants.i18n import Message, _
from tenants.periods import jobs
from tenants.periods import service as periods_service

PERIODS = label(_("Periods and results"))
STATES = {
    "open": _("Open"),
    "closing": _("Closing"),
    "closed": _("Closed"),
    "stale": _("Closed, awaiting a re-close"),
}
KINDS = {"commission": _("Commission"), "bonus": _("Bonus"), "penalty": _("Penalty"), "adjustment": _("Adjustment")}
JOB_STAGES = {
    "queued": _("Queued"),
    "starting": _("Starting"),
    "aggregating": _("Aggregating events"),
    "scoring": _("Scoring"),
    "writing": _("Writing scorecards and money lines"),
    "committing": _("Committing"),
    "retrying": _("Waiting to retry"),
    "done": _("Done"),
    "failed": _("Failed"),
}


def _state(model: PeriodRow, attribute: str) -> str:
    message = STATES.get(model.state)
    return render(message) if message else model.state


def _kind(model: LedgerLineRow, attribute: str) -> str:
    message = KINDS.get(model.kind)
    return render(message) if message else model.kind


def _money(model: Any, attribute: str) -> str:
    return format_money(getattr(model, attribute))


class RowFilter:
    """A filter whose choices are rows and whose value is a row's id (sqladmin's filter protocol: lookups and
    get_filtered_query); a value that is no id filters nothing. Subclasses say which rows, and what a chosen one keeps.
    """

    has_operator = False
    template = "sqladmin/filters/lookup_filter.html"
    parameter_name: str

    def __init__(self, column: Any, title: str) -> None:
        self.column = column
        self.title = title

    def choices(self) -> Select[int, str]:
        """(id, label) of each row offered."""
        raise NotImplementedError

    def keeps(self, row_id: int) -> Any:
        """The condition a listed row meets when the row `row_id` is chosen."""
        raise NotImplementedError

    async def lookups(self, request: Request, model: Any, run_query: Callable[..., Any]) -> list[tuple[str, str]]:
        rows = await run_query(self.choices())
        return [("__all", render(_("All")))] + [(str(row_id), text) for row_id, text in rows]

    async def get_filtered_query(self, query: Select[Any], value: Any, model: Any) -> Select[Any]:
        row_id = parse_id(value)
        return query if row_id is None else query.where(self.keeps(row_id))


class TeamFilter(RowFilter):
    """Rows of the staff of a team (the column: the row's staff id)."""

    parameter_name = "team"

    def choices(self) -> Select[int, str]:
        return select(TeamRow.id, TeamRow.name).order_by(TeamRow.code)

    def keeps(self, row_id: int) -> Any:
        return self.column.in_(select(StaffRow.id).where(StaffRow.team_id == row_id))


class PeriodFilter(RowFilter):
    """Rows of a period (the column: the row's period id), chosen among the 200 latest, named by scheme and key."""

    parameter_name = "period"

    def choices(self) -> Select[int, str]:
        return (
            select(PeriodRow.id, SchemeRow.name.concat(" ").concat(PeriodRow.key))
            .join(SchemeRow, SchemeRow.id == PeriodRow.scheme_id)
            .order_by(PeriodRow.starts_at.desc())
            .limit(200)
        )

    def keeps(self, row_id: int) -> Any:
        return self.column == row_id


class PeriodAdmin(MerchantView, model=PeriodRow):
    name = label(_("Period"))
    name_plural = label(_("Periods"))
    icon = "fa-solid fa-calendar-check"
    category = PERIODS
    category_icon = "fa-solid fa-calendar-days"
    list_template = "kaohe/period_list.html"
    column_list: ClassVar[list[Any]] = [
        PeriodRow.scheme,
        PeriodRow.key,
        PeriodRow.state,
        PeriodRow.revision,
        PeriodRow.starts_at,
        PeriodRow.ends_at,
        PeriodRow.closed_at,
        PeriodRow.failed_at,
    ]
    column_labels: ClassVar[dict[Any, str]] = {
        PeriodRow.scheme: label(_("Scheme")),
        PeriodRow.key: label(_("Period")),
        PeriodRow.state: label(_("State")),
        PeriodRow.revision: label(_("Revision")),
        PeriodRow.starts_at: label(_("Starts at")),
        PeriodRow.ends_at: label(_("Ends at")),
        PeriodRow.closed_at: label(_("Closed at")),
        PeriodRow.failed_at: label(_("Last close failed at")),
    }
    column_formatters: ClassVar[dict[Any, Any]] = {PeriodRow.state: _state}
    column_formatters_detail: ClassVar[dict[Any, Any]] = {PeriodRow.state: _state}
    column_default_sort: ClassVar[list[Any]] = [(PeriodRow.starts_at, True)]
    column_filters: ClassVar[list[Any]] = [
        ChoicesFilter(
            PeriodRow.state, values=[(key, label(value)) for key, value in STATES.items()], title=label(_("State"))
        )
    ]

    def _act(self, request: Request, intent: str) -> Response:
        pk = first_selected(request)
        if parse_id(pk) is None:
            return RedirectResponse(str(request.url_for("admin:list", identity=self.identity)), 302)
        url = request.url_for("admin:view-period_action").include_query_params(period=pk, intent=intent)
        return RedirectResponse(str(url), 302)

    @action(name="close", label=label(_("Close")))
    async def close(self, request: Request) -> Response:
        return self._act(request, "close")

    @action(name="reclose", label=label(_("Re-close")))
    async def reclose(self, request: Request) -> Response:
        return self._act(request, "reclose")

    @action(name="approve", label=label(_("Approve statements")))
    async def approve(self, request: Request) -> Response:
        return self._act(request, "approve")

    @action(name="reopen", label=label(_("Reopen statements")))
    async def reopen(self, request: Request) -> Response:
        return self._act(request, "reopen")

    @action(name="ledger", label=label(_("Ledger lines")))
    async def ledger(self, request: Request) -> Response:
        pk = first_selected(request)
        url = request.url_for("admin:list", identity="ledger-line-row")
        return RedirectResponse(str(url.include_query_params(period=pk) if parse_id(pk) is not None else url), 302)


def _staff(model: Any, attribute: str) -> str:
    staff: StaffRow | None = model.staff
    return f"{staff.name} ({staff.code})" if staff is not None else ""


def _period(model: Any, attribute: str) -> str:
    period: PeriodRow | None = model.period
    return f"{period.scheme.name} {period.key}" if period is not None else ""


class ScorecardAdmin(MerchantView, model=ScorecardRow):
    name = label(_("Scorecard"))
    name_plural = label(_("Scorecards"))
    icon = "fa-solid fa-ranking-star"
    category = PERIODS
    category_icon = "fa-solid fa-calendar-days"
    can_export = True
    export_types: ClassVar[list[str]] = ["csv"]
    column_list: ClassVar[list[Any]] = [
        ScorecardRow.period,
        ScorecardRow.staff,
        ScorecardRow.revision,
        ScorecardRow.total,
        ScorecardRow.grade,
        ScorecardRow.rank,
        ScorecardRow.provisional,
    ]
    column_details_list: ClassVar[list[Any]] = [*column_list, ScorecardRow.metrics, ScorecardRow.computed_at]
    column_labels: ClassVar[dict[Any, str]] = {
        ScorecardRow.period: label(_("Period")),
        ScorecardRow.staff: label(_("Staff")),
        ScorecardRow.revision: label(_("Revision")),
        ScorecardRow.total: label(_("Total")),
        ScorecardRow.grade: label(_("Grade")),
        ScorecardRow.rank: label(_("Rank")),
        ScorecardRow.provisional: label(_("Provisional")),
        ScorecardRow.metrics: label(_("Metrics")),
        ScorecardRow.computed_at: label(_("Computed at")),
        "staff.code": label(_("Staff code")),
        "staff.name": label(_("Staff name")),
    }
    column_formatters: ClassVar[dict[Any, Any]] = {
        ScorecardRow.staff: _staff,
        ScorecardRow.period: _period,
        ScorecardRow.total: lambda m, a: format_number(m.total),
    }
    column_formatters_detail: ClassVar[dict[Any, Any]] = {
        ScorecardRow.staff: _staff,
        ScorecardRow.period: _period,
        ScorecardRow.metrics: lambda m, a: _metrics_table(m.metrics),
    }
    column_default_sort: ClassVar[list[Any]] = [(ScorecardRow.id, True)]
    column_sortable_list: ClassVar[list[Any]] = [ScorecardRow.total, ScorecardRow.rank]
    column_filters: ClassVar[list[Any]] = [
        PeriodFilter(ScorecardRow.period_id, label(_("Period"))),
        TeamFilter(ScorecardRow.staff_id, label(_("Team"))),
        ValuesFilter(ScorecardRow.grade, title=label(_("Grade"))),
        YesNoFilter(ScorecardRow.provisional, title=label(_("Provisional"))),
    ]
    column_searchable_list: ClassVar[list[Any]] = ["staff.code", "staff.name"]


def _metrics_table(metrics: list[dict[str, Any]]) -> Markup:
    rows = Markup("").join(
        Markup("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class='small text-muted'>{}</td></tr>").format(
            metric.get("label") or metric.get("key"),
            metric.get("value") if metric.get("value") is not None else "—",
            metric.get("score") if metric.get("score") is not None else "",
            metric.get("weight") if metric.get("weight") is not None else "",
            metric.get("explanation", ""),
        )
        for metric in metrics
    )
    return Markup("<table class='table table-sm'>{}</table>").format(rows)


class LedgerLineAdmin(MerchantView, model=LedgerLineRow):
    name = label(_("Ledger line"))
    name_plural = label(_("Ledger lines"))
    icon = "fa-solid fa-money-bill-wave"
    category = PERIODS
    category_icon = "fa-solid fa-calendar-days"
    list_template = "kaohe/ledger_list.html"
    can_export = True
    export_types: ClassVar[list[str]] = ["csv"]
    export_max_rows = 100_000
    column_list: ClassVar[list[Any]] = [
        LedgerLineRow.period,
        LedgerLineRow.staff,
        LedgerLineRow.revision,
        LedgerLineRow.rule_key,
        LedgerLineRow.kind,
        LedgerLineRow.amount,
        LedgerLineRow.derivation,
        LedgerLineRow.posted_at,
    ]
    column_labels: ClassVar[dict[Any, str]] = {
        LedgerLineRow.period: label(_("Period")),
        LedgerLineRow.staff: label(_("Staff")),
        LedgerLineRow.revision: label(_("Revision")),
        LedgerLineRow.rule_key: label(_("Rule")),
        LedgerLineRow.kind: label(_("Kind")),
        LedgerLineRow.amount: label(_("Amount")),
        LedgerLineRow.derivation: label(_("Derivation")),
        LedgerLineRow.posted_at: label(_("Posted at")),
        "staff.code": label(_("Staff code")),
        "staff.name": label(_("Staff name")),
    }
    column_formatters: ClassVar[dict[Any, Any]] = {
        LedgerLineRow.staff: _staff,
        LedgerLineRow.period: _period,
        LedgerLineRow.kind: _kind,
        LedgerLineRow.amount: _money,
    }
    column_formatters_detail: ClassVar[dict[Any, Any]] = dict(column_formatters)
    column_default_sort: ClassVar[list[Any]] = [(LedgerLineRow.id, True)]
    column_sortable_list: ClassVar[list[Any]] = [LedgerLineRow.amount, LedgerLineRow.posted_at]
    column_filters: ClassVar[list[Any]] = [
        PeriodFilter(LedgerLineRow.period_id, label(_("Period"))),
        TeamFilter(LedgerLineRow.staff_id, label(_("Team"))),
        ChoicesFilter(
            LedgerLineRow.kind, values=[(key, label(value)) for key, value in KINDS.items()], title=label(_("Kind"))
        ),
    ]
    column_searchable_list: ClassVar[list[Any]] = ["staff.code", "staff.name", LedgerLineRow.rule_key]

    async def list_context(self, request: Request) -> dict[str, Any]:
        context = await super().list_context(request)
        period_id = parse_id(request.query_params.get("period"))
        if period_id is not None:
            async with self.session_maker() as session:
                context["export_period"] = await session.get(PeriodRow, period_id)
        return context


# --- actions on periods: confirmation, the change, the job's progress -------------------------------------------------

INTENTS: dict[str, Message] = {
    "close": _("Close period {period} of {scheme}? Its scorecards and money lines will be computed and posted."),
    "reclose": _("Re-close period {period} of {scheme}? A new revision is computed; differences post as adjustments."),
    "approve": _("Approve the statements of {period} of {scheme}? They are locked for payroll."),
    "reopen": _("Reopen the approved statements of {period} of {scheme}? Give the reason."),
}


class PeriodPages(MerchantPage):
    name = "periods"

    def is_visible(self, request: Request) -> bool:
        return False

    @expose("/periods/action", methods=["GET", "POST"], identity="period_action")
    async def period_action(self, request: Request) -> Response:
        user, tenant_id = require_tenant(request)
        source = request.query_params if request.method == "GET" else await request.form()
        intent = str(source.get("intent") or "")
        if intent not in INTENTS:
            raise HTTPException(status_code=404)
        period = await row_or_404(self._admin_ref.session_maker, PeriodRow, require_id(str(source.get("period") or "")))
        error = None
        if request.method == "POST":
            try:
                if intent in ("close", "reclose"):
                    # the service audits the request in the unit of work that enqueues the job
                    job_id = await periods_service.request_close(
                        tenant_id, period.scheme_id, period.key, force=intent == "reclose", actor=user.actor
                    )
                    return RedirectResponse(str(request.url_for("admin:view-job_progress", job_id=job_id)), 302)
                from tenants.periods import approvals  # the payroll helper's module (issue 9)

                if intent == "approve":
                    await approvals.approve_statements(tenant_id, user.actor, period.scheme_id, period.key)
                else:
                    reason = str(source.get("reason") or "")
                    await approvals.reopen_statements(tenant_id, user.actor, period.scheme_id, period.key, reason)
            except DomainError as refused:
                error = refusal_text(refused)
            else:
                return RedirectResponse(str(request.url_for("admin:list", identity="period-row")), 302)
        return await self.templates.TemplateResponse(
            request,
            "kaohe/confirm.html",
            {
                "title": render(_("Please confirm")),
                "question": render(
                    Message(INTENTS[intent].template, {"period": period.key, "scheme": period.scheme.name})
                ),
                "action_url": str(request.url_for("admin:view-period_action")),
                "hidden": {"intent": intent, "period": period.id},
                "reason": intent == "reopen",
                "back_url": str(request.url_for("admin:list", identity="period-row")),
                "error": error,
            },
            status_code=400 if error else 200,
        )

    @expose("/periods/close-new", methods=["GET", "POST"], identity="period_close_new")
    async def period_close_new(self, request: Request) -> Response:
        """Close a period that has no row yet (the close creates it), by scheme and key."""
        user, tenant_id = require_tenant(request)
        async with self._admin_ref.session_maker() as session:
            of_tenant = select(SchemeRow).where(SchemeRow.tenant_id == tenant_id)
            schemes = list((await session.execute(of_tenant.order_by(SchemeRow.id))).scalars())
        error = None
        if request.method == "POST":
            form = await request.form()
            scheme = str(form.get("scheme") or "")
            key = str(form.get("period") or "").strip()
            scheme_id = parse_id(scheme)
            if scheme_id is not None:
                try:
                    job_id = await periods_service.request_close(
                        tenant_id, scheme_id, key, force=False, actor=user.actor
                    )
                except DomainError as refused:
                    error = refusal_text(refused)
                else:
                    return RedirectResponse(str(request.url_for("admin:view-job_progress", job_id=job_id)), 302)
        return await self.templates.TemplateResponse(
            request,
            "kaohe/period_close.html",
            {"title": render(_("Close a period")), "schemes": schemes, "error": error},
            status_code=400 if error else 200,
        )

    @expose("/jobs/{job_id}", methods=["GET"], identity="job_progress")
    async def job_progress(self, request: Request) -> Response:
        _user, tenant_id = require_tenant(request)
        job_id = str(request.path_params["job_id"])
        status = await jobs.read_job(request.app.state.main_app.state.redis, tenant_id, job_id)
        if status is None:
            raise HTTPException(status_code=404)
        return await self.templates.TemplateResponse(
            request,
            "kaohe/job.html",
            {
                "title": render(_("Job progress")),
                "job_id": job_id,
                "status_url": str(request.url_for("admin:view-job_status", job_id=job_id)),
                "periods_url": str(request.url_for("admin:list", identity="period-row")),
                "ledger_url": str(request.url_for("admin:list", identity="ledger-line-row")),
            },
        )

    @expose("/jobs/{job_id}/status", methods=["GET"], identity="job_status")
    async def job_status(self, request: Request) -> Response:
        _user, tenant_id = require_tenant(request)
        status = await jobs.read_job(
            request.app.state.main_app.state.redis, tenant_id, str(request.path_params["job_id"])
        )
        if status is None:
            raise HTTPException(status_code=404)
        stage = JOB_STAGES.get(status.stage)
        return JSONResponse(
            {
                "status": status.status,
                "stage": render(stage) if stage else status.stage,
                "done": status.done,
                "total": status.total,
                "error": render(status.error.message) if status.error is not None else None,
                "errorCode": status.error_code,
                "failedAt": format_instant(status.failed_at) if status.failed_at else None,
                "result": status.result,
            },
            headers={"cache-control": "no-store"},
        )

    @expose("/exports/statements.{file_format}", methods=["GET"], identity="export_statements")
    async def export_statements(self, request: Request) -> Response:
        """The exports helper's statement files (tenants.exports), for the console's signed-in user."""
        from tenants.exports.service import export_statements  # issue 9's exports

        user, tenant_id = require_tenant(request)
        file_format = str(request.path_params["file_format"])
        if file_format not in ("xlsx", "csv"):
            raise HTTPException(status_code=404)
        try:
            export = await export_statements(
                tenant_id,
                user.principal,
                request.query_params.get("scheme"),
                request.query_params.get("period"),
                file_format,  # type: ignore[arg-type]
            )
        except DomainError as refused:
            return JSONResponse(
                {"errors": [{"message": render(p.message), "code": str(p.code)} for p in refused.problems]},
                status_code=400,
            )
        return download_response(export)
