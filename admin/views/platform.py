"""The platform operator's pages: the tenants, creating one with its first admin (invited by mail), suspend and resume.

Through tenants.accounts.service (audited in the tenant concerned). The console's session for an operator outside
any tenant runs in platform scope (admin/db.py): the tenant table only, never tenant data.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqladmin import action, expose
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin.i18n import label, render
from admin.security import console_user
from admin.tables import TenantRow
from admin.views.base import OperatorView, first_selected, parse_id, refusal_text
from tenants.errors import DomainError
from tenants.i18n import _

PLATFORM = label(_("Platform"))


def _suspended(model: TenantRow, attribute: str) -> str:
    return render(_("Suspended")) if model.suspended_at is not None else render(_("Active"))


class TenantAdmin(OperatorView, model=TenantRow):
    name = label(_("Merchant"))
    name_plural = label(_("Merchants"))
    icon = "fa-solid fa-building"
    category = PLATFORM
    list_template = "kaohe/tenant_list.html"
    column_list: ClassVar[list[Any]] = [
        TenantRow.id,
        TenantRow.slug,
        TenantRow.name,
        TenantRow.timezone,
        TenantRow.currency,
        "state",
        TenantRow.created_at,
    ]
    column_labels: ClassVar[dict[Any, str]] = {
        TenantRow.slug: label(_("Merchant code")),
        TenantRow.name: label(_("Name")),
        TenantRow.timezone: label(_("Timezone")),
        TenantRow.currency: label(_("Currency")),
        "state": label(_("State")),
        TenantRow.created_at: label(_("Created at")),
    }
    column_formatters: ClassVar[dict[Any, Any]] = {"state": _suspended}
    column_searchable_list: ClassVar[list[Any]] = [TenantRow.slug, TenantRow.name]
    column_default_sort: ClassVar[list[Any]] = [(TenantRow.id, True)]

    def _act(self, request: Request, intent: str) -> Response:
        pk = first_selected(request)
        url = request.url_for("admin:view-tenant_action").include_query_params(tenant=pk, intent=intent)
        return RedirectResponse(str(url), 302)

    @action(name="suspend", label=label(_("Suspend")))
    async def suspend(self, request: Request) -> Response:
        return self._act(request, "suspend")

    @action(name="resume", label=label(_("Resume")))
    async def resume(self, request: Request) -> Response:
        return self._act(request, "resume")

    @expose("/new", methods=["GET", "POST"])
    async def tenant_new(self, request: Request) -> Response:
        from tenants.accounts import service as accounts  # issue 9's accounts service

        user = console_user(request)
        assert user is not None
        error = None
        values = {"slug": "", "name": "", "timezone": "Asia/Shanghai", "email": ""}
        if request.method == "POST":
            form = await request.form()
            values = {key: str(form.get(key) or "") for key in values}
            try:
                await accounts.create_tenant(
                    user.actor, values["slug"], values["name"], values["timezone"], values["email"]
                )
            except DomainError as refused:
                error = refusal_text(refused)
            else:
                return RedirectResponse(str(request.url_for("admin:list", identity=self.identity)), 302)
        return await self.templates.TemplateResponse(
            request,
            "kaohe/tenant_new.html",
            {"title": render(_("New merchant")), "values": values, "error": error},
            status_code=400 if error else 200,
        )

    @expose("/act", methods=["GET", "POST"])
    async def tenant_action(self, request: Request) -> Response:
        from tenants.accounts import service as accounts  # issue 9's accounts service

        user = console_user(request)
        assert user is not None
        source = request.query_params if request.method == "GET" else await request.form()
        intent = str(source.get("intent") or "")
        tenant = str(source.get("tenant") or "")
        tenant_id = parse_id(tenant)
        if intent not in ("suspend", "resume") or tenant_id is None:
            raise HTTPException(status_code=404)
        error = None
        if request.method == "POST":
            try:
                if intent == "suspend":
                    await accounts.suspend_tenant(user.actor, tenant_id)
                else:
                    await accounts.resume_tenant(user.actor, tenant_id)
            except DomainError as refused:
                error = refusal_text(refused)
            else:
                return RedirectResponse(str(request.url_for("admin:list", identity=self.identity)), 302)
        question = (
            _("Suspend this merchant? Its users and API keys are refused from the next request on.")
            if intent == "suspend"
            else _("Resume this merchant?")
        )
        return await self.templates.TemplateResponse(
            request,
            "kaohe/confirm.html",
            {
                "title": render(_("Please confirm")),
                "question": render(question),
                "action_url": str(request.url_for("admin:view-tenant-row-tenant_action")),
                "hidden": {"intent": intent, "tenant": tenant},
                "back_url": str(request.url_for("admin:list", identity=self.identity)),
                "error": error,
            },
            status_code=400 if error else 200,
        )
