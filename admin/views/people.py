"""People in the console: members and roles (invite, change a role, remove) through tenants.accounts.service, and a
staff member's linked login (link, unlink) through tenants.access.service. Each change is a POST form with the CSRF
token, audited by those services; the console never writes these tables itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqladmin import expose
from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin.i18n import render
from admin.tables import MembershipRow, StaffRow
from admin.views.base import MerchantPage, refusal_text, require_id, require_tenant, row_or_404
from tenants.access import service as access
from tenants.accounts import service as accounts
from tenants.errors import DomainError
from tenants.i18n import Message, _
from tenants.tenancy.auth import Role

ROLE_NAMES: dict[Role, Message] = {
    Role.OWNER: _("Owner"),
    Role.ADMIN: _("Administrator"),
    Role.MANAGER: _("Manager"),
    Role.STAFF: _("Staff"),
}


def _roles() -> list[tuple[str, str]]:
    return [(role.value, render(name)) for role, name in ROLE_NAMES.items()]


def _first_pk(source: Any) -> int:
    return require_id(str(source.get("pks") or source.get("id") or "").split(",")[0])


class PeoplePages(MerchantPage):
    name = "people"

    def is_visible(self, request: Request) -> bool:
        return False

    async def _page(
        self,
        request: Request,
        *,
        title: Message,
        fields: Sequence[dict[str, Any]],
        hidden: dict[str, Any],
        back: str,
        error: str | None,
        intro: str = "",
    ) -> Response:
        return await self.templates.TemplateResponse(
            request,
            "kaohe/form_page.html",
            {
                "title": render(title),
                "intro": intro,
                "fields": fields,
                "hidden": hidden,
                "back_url": str(request.url_for("admin:list", identity=back)),
                "action_url": str(request.url),
                "error": error,
            },
            status_code=400 if error else 200,
        )

    @expose("/members/invite", methods=["GET", "POST"], identity="member_invite")
    async def member_invite(self, request: Request) -> Response:
        user, _tenant_id = require_tenant(request)
        values = {"email": "", "role": Role.ADMIN.value}
        error = None
        if request.method == "POST":
            form = await request.form()
            values = {key: str(form.get(key) or "") for key in values}
            try:
                role = Role(values["role"])
                await accounts.invite_user(
                    user.principal, request.app.state.main_app.state.redis, values["email"], role
                )
            except ValueError:
                error = render(_("Choose a role."))
            except DomainError as refused:
                error = refusal_text(refused)
            else:
                return RedirectResponse(str(request.url_for("admin:list", identity="membership-row")), 302)
        return await self._page(
            request,
            title=_("Invite a member"),
            fields=[
                {"name": "email", "label": render(_("Email")), "type": "email", "value": values["email"]},
                {
                    "name": "role",
                    "label": render(_("Role")),
                    "type": "select",
                    "value": values["role"],
                    "options": _roles(),
                },
            ],
            hidden={},
            back="membership-row",
            error=error,
            intro=render(_("An invitation is mailed; the person chooses a password when accepting it.")),
        )

    @expose("/members/role", methods=["GET", "POST"], identity="member_role")
    async def member_role(self, request: Request) -> Response:
        user, _tenant_id = require_tenant(request)
        source = request.query_params if request.method == "GET" else await request.form()
        membership = await row_or_404(self._admin_ref.session_maker, MembershipRow, _first_pk(source))
        error = None
        if request.method == "POST":
            try:
                await accounts.set_member_role(user.principal, membership.user_id, Role(str(source.get("role"))))
            except ValueError:
                error = render(_("Choose a role."))
            except DomainError as refused:
                error = refusal_text(refused)
            else:
                return RedirectResponse(str(request.url_for("admin:list", identity="membership-row")), 302)
        return await self._page(
            request,
            title=_("Change the role"),
            intro=membership.user.email,
            fields=[
                {
                    "name": "role",
                    "label": render(_("Role")),
                    "type": "select",
                    "value": membership.role,
                    "options": _roles(),
                }
            ],
            hidden={"id": membership.id},
            back="membership-row",
            error=error,
        )

    @expose("/members/remove", methods=["GET", "POST"], identity="member_remove")
    async def member_remove(self, request: Request) -> Response:
        user, _tenant_id = require_tenant(request)
        source = request.query_params if request.method == "GET" else await request.form()
        membership = await row_or_404(self._admin_ref.session_maker, MembershipRow, _first_pk(source))
        error = None
        if request.method == "POST":
            try:
                await accounts.remove_member(user.principal, membership.user_id)
            except DomainError as refused:
                error = refusal_text(refused)
            else:
                return RedirectResponse(str(request.url_for("admin:list", identity="membership-row")), 302)
        return await self._page(
            request,
            title=_("Remove the member"),
            intro=render(
                _("Remove {email} from this merchant? They lose access at once.", email=membership.user.email)
            ),
            fields=[],
            hidden={"id": membership.id},
            back="membership-row",
            error=error,
        )

    @expose("/staff/login", methods=["GET", "POST"], identity="staff_login")
    async def staff_login(self, request: Request) -> Response:
        user, tenant_id = require_tenant(request)
        source = request.query_params if request.method == "GET" else await request.form()
        staff_id = _first_pk(source)
        async with self._admin_ref.session_maker() as session:
            staff: StaffRow | None = await session.get(StaffRow, staff_id)
            of_tenant = select(MembershipRow).where(MembershipRow.tenant_id == tenant_id)
            members = list((await session.execute(of_tenant.order_by(MembershipRow.id))).scalars())
        if staff is None:
            raise HTTPException(status_code=404)
        error = None
        if request.method == "POST":
            chosen = str(source.get("user") or "")
            try:
                if chosen == "":
                    await access.unlink_staff_user(tenant_id, user.actor, staff.code)
                else:
                    await access.link_staff_user(tenant_id, user.actor, staff.code, require_id(chosen))
            except DomainError as refused:
                error = refusal_text(refused)
            else:
                return RedirectResponse(str(request.url_for("admin:list", identity="staff-row")), 302)
        options = [("", render(_("No login")))] + [(str(m.user_id), m.user.email) for m in members]
        return await self._page(
            request,
            title=_("Linked login"),
            intro=f"{staff.name} ({staff.code})",
            fields=[
                {
                    "name": "user",
                    "label": render(_("Login")),
                    "type": "select",
                    "value": str(staff.user_id or ""),
                    "options": options,
                }
            ],
            hidden={"id": staff.id},
            back="staff-row",
            error=error,
        )
