"""Console pages that are not a table: choosing the tenant after login, confirming a revocation."""

from __future__ import annotations

from sqladmin import BaseView, expose
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin.i18n import render
from admin.security import ConsoleAuth, console_memberships, console_user
from admin.views.base import MerchantPage, parse_id, require_tenant
from tenants.accounts import service as accounts
from tenants.i18n import _
from tenants.tenancy.auth import memberships_of
from tenants.tenancy.errors import TenancyError


class ChooseTenantPage(BaseView):
    name = "choose-tenant"

    def is_visible(self, request: Request) -> bool:
        return False

    def is_accessible(self, request: Request) -> bool:
        return console_user(request) is not None

    @expose("/choose-tenant", methods=["GET", "POST"], identity="choose_tenant")
    async def choose_tenant(self, request: Request) -> Response:
        user = console_user(request)
        assert user is not None
        memberships = console_memberships(await memberships_of(user.principal.user_id))
        error = None
        if request.method == "POST":
            form = await request.form()
            backend = self._admin_ref.authentication_backend
            assert isinstance(backend, ConsoleAuth)
            if await backend.choose(request, str(form.get("tenant") or "")):
                return RedirectResponse(str(request.url_for("admin:index")), status_code=302)
            error = render(_("This account has no access to that tenant."))
        return await self.templates.TemplateResponse(
            request,
            "kaohe/choose_tenant.html",
            {"memberships": memberships, "error": error, "title": render(_("Choose a merchant"))},
        )


class ConfirmRevokePage(MerchantPage):
    name = "confirm-revoke"

    def is_visible(self, request: Request) -> bool:
        return False

    @expose("/api-keys/revoke", methods=["GET", "POST"], identity="confirm_revoke")
    async def confirm_revoke(self, request: Request) -> Response:
        _user, tenant_id = require_tenant(request)
        pks = request.query_params.get("pks", "") if request.method == "GET" else str((await request.form()).get("pks"))
        ids = [pk for pk in (parse_id(text.strip()) for text in pks.split(",")) if pk is not None]
        if not ids:
            raise HTTPException(status_code=404)
        back = str(request.url_for("admin:list", identity="api-key-row"))
        error = None
        if request.method == "POST":
            try:
                for api_key_id in ids:
                    # audited by the accounts service in its unit of work
                    await accounts.revoke_api_key(tenant_id, _user.actor, api_key_id)
            except TenancyError as refused:
                error = render(refused.message)
            else:
                return RedirectResponse(back, status_code=302)
        return await self.templates.TemplateResponse(
            request,
            "kaohe/confirm.html",
            {
                "question": render(_("Revoke the selected API keys? Systems using them stop working at once.")),
                "action_url": str(request.url_for("admin:view-confirm_revoke")),
                "hidden": {"pks": ",".join(map(str, ids))},
                "back_url": back,
                "error": error,
                "title": render(_("Revoke")),
            },
            status_code=400 if error else 200,
        )
