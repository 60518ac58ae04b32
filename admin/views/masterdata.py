"""Merchant master data in the console: teams (a tree), staff (with their linked login), customers (with the exclusive
guide binding), API keys (the key shown once), members, the audit log and the events.

Writes go through tenants.staff.service (one-item upserts: the same checks, audit entries and statistics as the API)
and tenants.tenancy.service (API keys). A master data row is never deleted: "delete" deactivates a staff member (their
history stays explainable). Another tenant's row is not found (RLS, admin/views/base.py).
"""

from __future__ import annotations

from typing import Any, ClassVar

from markupsafe import Markup
from sqladmin import action
from sqladmin.secret import Secret
from sqlalchemy import Select, false, func, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from wtforms import SelectMultipleField, StringField  # type: ignore[import-untyped]

from admin.i18n import label, render
from admin.tables import ApiKeyRow, AuditRow, CustomerRow, EventRow, MembershipRow, StaffRow, TeamRow, UserRow
from admin.views.base import (
    MerchantView,
    ServiceRefused,
    ValuesFilter,
    YesNoFilter,
    first_selected,
    parse_id,
    require_id,
    require_tenant,
    row_or_404,
)
from tenants.accounts import service as accounts
from tenants.i18n import _
from tenants.staff import service as staff_service
from tenants.staff.records import CustomerItem, StaffItem, TeamItem, UpsertOutcome
from tenants.tenancy.auth import Scope
from tenants.tenancy.errors import TenancyError

MASTER_DATA = label(_("Master data"))
SETTINGS = label(_("Settings"))


def _raise_problems(outcome: UpsertOutcome) -> None:
    if outcome.errors:
        raise ServiceRefused(outcome.errors)


async def _row(view: MerchantView, model: Any, pk: Any) -> Any:
    return await row_or_404(view.session_maker, model, pk if isinstance(pk, int) else require_id(pk))


async def _row_by_code(view: MerchantView, model: Any, code: str) -> Any:
    async with view.session_maker() as session:
        return (await session.execute(select(model).where(model.code == code))).scalar_one()


async def _code(view: MerchantView, model: Any, value: Any) -> str | None:
    """The code of a related row picked in a form: sqladmin hands over the row, or only its id (a select's value).
    An id is loaded through the tenant's session: another tenant's id is not found (404), never used."""
    if value is None or value == "" or value == "__None":
        return None
    if hasattr(value, "code"):
        return str(value.code)
    row_id = value if isinstance(value, int) else parse_id(value)
    if row_id is None:
        raise HTTPException(status_code=400)
    return str((await _row(view, model, row_id)).code)


def _clean(value: Any) -> str:
    return "" if value is None else str(value)


# --- teams ----------------------------------------------------------------------------------------------------------


def _team_path(team: TeamRow) -> list[TeamRow]:
    path = [team]
    seen = {team.id}
    node = team
    # the relationship loads a few levels eagerly; deeper levels stop the path (shown with a leading ellipsis)
    while "parent" in node.__dict__ and node.parent is not None and node.parent.id not in seen:
        node = node.parent
        seen.add(node.id)
        path.append(node)
    return list(reversed(path))


def _tree_name(model: TeamRow, attribute: str) -> Markup:
    depth = len(_team_path(model)) - 1
    prefix = Markup("&nbsp;" * 4 * depth + ("└ " if depth else ""))
    return prefix + Markup.escape(model.name)


def _tree_path(model: TeamRow, attribute: str) -> str:
    return " › ".join(team.name for team in _team_path(model))


class TeamAdmin(MerchantView, model=TeamRow):
    name = label(_("Team"))
    name_plural = label(_("Teams"))
    icon = "fa-solid fa-sitemap"
    category = MASTER_DATA
    category_icon = "fa-solid fa-database"
    can_create = True
    can_edit = True
    column_list: ClassVar[list[Any]] = [TeamRow.code, TeamRow.name, "path", TeamRow.kind, TeamRow.updated_at]
    column_labels: ClassVar[dict[Any, str]] = {
        TeamRow.code: label(_("Code")),
        TeamRow.name: label(_("Name")),
        "path": label(_("Position in the tree")),
        TeamRow.kind: label(_("Level")),
        TeamRow.parent: label(_("Parent team")),
        TeamRow.updated_at: label(_("Updated at")),
        TeamRow.created_at: label(_("Created at")),
    }
    column_formatters: ClassVar[dict[Any, Any]] = {TeamRow.name: _tree_name, "path": _tree_path}
    column_searchable_list: ClassVar[list[Any]] = [TeamRow.code, TeamRow.name]
    column_sortable_list: ClassVar[list[Any]] = [TeamRow.code, TeamRow.name]
    column_default_sort: ClassVar[list[Any]] = [(TeamRow.code, False)]
    column_filters: ClassVar[list[Any]] = [ValuesFilter(TeamRow.kind, title=label(_("Level")))]
    column_details_list: ClassVar[list[Any]] = [
        TeamRow.code,
        TeamRow.name,
        TeamRow.kind,
        TeamRow.parent,
        TeamRow.created_at,
        TeamRow.updated_at,
    ]
    form_columns: ClassVar[list[Any]] = [TeamRow.code, TeamRow.name, TeamRow.kind, TeamRow.parent]
    form_edit_rules: ClassVar[list[str]] = ["name", "kind", "parent"]
    form_args: ClassVar[dict[str, dict[str, Any]]] = {
        "kind": {"description": label(_("region, store or group; any word your company uses"))}
    }

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        return await self._upsert(request, str(data.get("code") or ""), data)

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        team = await _row(self, TeamRow, pk)
        return await self._upsert(request, team.code, data)

    async def _upsert(self, request: Request, code: str, data: dict[str, Any]) -> Any:
        user, tenant_id = require_tenant(request)
        item = TeamItem(
            code=code,
            name=_clean(data.get("name")),
            parent=await _code(self, TeamRow, data.get("parent")),
            kind=_clean(data.get("kind")),
        )
        _raise_problems(await staff_service.upsert_teams(tenant_id, user.actor, [item]))
        return await _row_by_code(self, TeamRow, code)


# --- staff ----------------------------------------------------------------------------------------------------------


def _login(model: StaffRow, attribute: str) -> str:
    return model.user.email if model.user is not None else ""


class StaffAdmin(MerchantView, model=StaffRow):
    name = label(_("Staff member"))
    name_plural = label(_("Staff"))
    icon = "fa-solid fa-user-tie"
    category = MASTER_DATA
    category_icon = "fa-solid fa-database"
    can_create = True
    can_edit = True
    can_delete = True
    column_list: ClassVar[list[Any]] = [
        StaffRow.code,
        StaffRow.name,
        StaffRow.role,
        StaffRow.team,
        StaffRow.active,
        StaffRow.user,
        StaffRow.hired_on,
    ]
    column_labels: ClassVar[dict[Any, str]] = {
        StaffRow.code: label(_("Code")),
        StaffRow.name: label(_("Name")),
        StaffRow.role: label(_("Role")),
        StaffRow.team: label(_("Team")),
        StaffRow.active: label(_("Active")),
        StaffRow.user: label(_("Linked login")),
        StaffRow.hired_on: label(_("Hired on")),
        StaffRow.left_on: label(_("Left on")),
        StaffRow.created_at: label(_("Created at")),
        StaffRow.updated_at: label(_("Updated at")),
    }
    column_formatters: ClassVar[dict[Any, Any]] = {StaffRow.user: _login}
    column_formatters_detail: ClassVar[dict[Any, Any]] = {StaffRow.user: _login}
    column_searchable_list: ClassVar[list[Any]] = [StaffRow.code, StaffRow.name]
    column_sortable_list: ClassVar[list[Any]] = [StaffRow.code, StaffRow.name, StaffRow.role, StaffRow.hired_on]
    column_default_sort: ClassVar[list[Any]] = [(StaffRow.code, False)]
    column_filters: ClassVar[list[Any]] = [
        ValuesFilter(StaffRow.role, title=label(_("Role"))),
        YesNoFilter(StaffRow.active, title=label(_("Active"))),
    ]
    form_columns: ClassVar[list[Any]] = [
        StaffRow.code,
        StaffRow.name,
        StaffRow.role,
        StaffRow.team,
        StaffRow.active,
        StaffRow.hired_on,
        StaffRow.left_on,
    ]
    form_edit_rules: ClassVar[list[str]] = ["name", "role", "team", "active", "hired_on", "left_on"]
    form_overrides: ClassVar[dict[str, Any]] = {"role": StringField}
    form_args: ClassVar[dict[str, dict[str, Any]]] = {
        "role": {"description": label(_("guide, customer_service, operations, sales, agent, or your own"))},
        # a new staff member is working: without this default the create form's box starts unticked and a merchant
        # who fills in the visible fields creates an inactive staff member whom no period scores
        "active": {"default": True},
    }

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        return await self._upsert(request, str(data.get("code") or ""), data)

    @action(name="login", label=label(_("Linked login")))
    async def link_login(self, request: Request) -> Response:
        return _to_page(request, "admin:view-staff_login")

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        staff = await _row(self, StaffRow, pk)
        return await self._upsert(request, staff.code, data)

    async def delete_model(self, request: Request, pk: Any) -> None:
        """Deactivate: a staff member's scorecards and lines keep pointing at them."""
        staff = await _row(self, StaffRow, pk)
        data = {
            "name": staff.name,
            "role": staff.role,
            "team": staff.team,
            "active": False,
            "hired_on": staff.hired_on,
            "left_on": staff.left_on,
        }
        await self._upsert(request, staff.code, data)

    async def _upsert(self, request: Request, code: str, data: dict[str, Any]) -> Any:
        user, tenant_id = require_tenant(request)
        item = StaffItem(
            code=code,
            name=_clean(data.get("name")),
            role=_clean(data.get("role")).strip(),
            team=await _code(self, TeamRow, data.get("team")),
            active=bool(data.get("active")),
            hired_on=data.get("hired_on"),
            left_on=data.get("left_on"),
        )
        _raise_problems(await staff_service.upsert_staff(tenant_id, user.actor, [item]))
        return await _row_by_code(self, StaffRow, code)


# --- customers ------------------------------------------------------------------------------------------------------


class CustomerAdmin(MerchantView, model=CustomerRow):
    name = label(_("Customer"))
    name_plural = label(_("Customers"))
    icon = "fa-solid fa-users"
    category = MASTER_DATA
    category_icon = "fa-solid fa-database"
    can_create = True
    can_edit = True
    column_list: ClassVar[list[Any]] = [CustomerRow.code, CustomerRow.name, CustomerRow.guide, CustomerRow.bound_since]
    column_labels: ClassVar[dict[Any, str]] = {
        CustomerRow.code: label(_("Code")),
        CustomerRow.name: label(_("Name")),
        CustomerRow.guide: label(_("Exclusive guide")),
        CustomerRow.bound_since: label(_("Bound since")),
        CustomerRow.created_at: label(_("Created at")),
        CustomerRow.updated_at: label(_("Updated at")),
    }
    column_searchable_list: ClassVar[list[Any]] = [CustomerRow.code, CustomerRow.name]
    column_sortable_list: ClassVar[list[Any]] = [CustomerRow.code, CustomerRow.name, CustomerRow.bound_since]
    column_default_sort: ClassVar[list[Any]] = [(CustomerRow.code, False)]
    # bound_since is the service's: it starts when the guide changes (DESIGN.md, exclusive guide binding)
    form_columns: ClassVar[list[Any]] = [CustomerRow.code, CustomerRow.name, CustomerRow.guide]
    form_edit_rules: ClassVar[list[str]] = ["name", "guide"]

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        return await self._upsert(request, str(data.get("code") or ""), data)

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        customer = await _row(self, CustomerRow, pk)
        return await self._upsert(request, customer.code, data)

    async def _upsert(self, request: Request, code: str, data: dict[str, Any]) -> Any:
        user, tenant_id = require_tenant(request)
        guide = await _code(self, StaffRow, data.get("guide"))
        item = CustomerItem(code=code, name=_clean(data.get("name")), guide=guide)
        _raise_problems(await staff_service.upsert_customers(tenant_id, user.actor, [item]))
        return await _row_by_code(self, CustomerRow, code)


# --- API keys -------------------------------------------------------------------------------------------------------

SCOPE_CHOICES = [(scope.value, scope.value) for scope in Scope]


class ApiKeyAdmin(MerchantView, model=ApiKeyRow):
    name = label(_("API key"))
    name_plural = label(_("API keys"))
    icon = "fa-solid fa-key"
    category = SETTINGS
    category_icon = "fa-solid fa-gear"
    can_create = True
    column_list: ClassVar[list[Any]] = [
        ApiKeyRow.name,
        ApiKeyRow.prefix,
        ApiKeyRow.scopes,
        ApiKeyRow.created_at,
        ApiKeyRow.last_used_at,
        ApiKeyRow.revoked_at,
    ]
    column_labels: ClassVar[dict[Any, str]] = {
        ApiKeyRow.name: label(_("Name")),
        ApiKeyRow.prefix: label(_("Key prefix")),
        ApiKeyRow.scopes: label(_("Scopes")),
        ApiKeyRow.created_at: label(_("Created at")),
        ApiKeyRow.last_used_at: label(_("Last used at")),
        ApiKeyRow.revoked_at: label(_("Revoked at")),
        ApiKeyRow.created_by_user_id: label(_("Created by")),
    }
    column_default_sort: ClassVar[list[Any]] = [(ApiKeyRow.created_at, True)]
    form_columns: ClassVar[list[Any]] = [ApiKeyRow.name, ApiKeyRow.scopes]
    form_overrides: ClassVar[dict[str, Any]] = {"scopes": SelectMultipleField}
    form_args: ClassVar[dict[str, dict[str, Any]]] = {"scopes": {"choices": SCOPE_CHOICES}}

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        user, tenant_id = require_tenant(request)
        scopes = [Scope(value) for value in data.get("scopes") or [] if value in Scope._value2member_map_]
        try:
            # the accounts service audits the key (never its secret) in the same unit of work
            created = await accounts.create_api_key(tenant_id, user.actor, _clean(data.get("name")), scopes)
        except TenancyError as error:
            raise ServiceRefused(error.problems) from None
        Secret.reveal_once(
            request,
            created.plaintext,
            title=render(_("The new API key")),
            label=render(_("Copy this key now: it is shown only once.")),
        )
        return await _row(self, ApiKeyRow, created.api_key.id)

    @action(
        name="revoke",
        label=label(_("Revoke")),
        add_in_list=True,
        add_in_detail=True,
    )
    async def revoke(self, request: Request) -> Response:
        """Opens the confirmation page; revoking is its POST (GET changes nothing)."""
        pks = request.query_params.get("pks", "")
        return RedirectResponse(str(request.url_for("admin:view-confirm_revoke").include_query_params(pks=pks)), 302)


# --- members, audit log, events -------------------------------------------------------------------------------------


def _member_email(model: MembershipRow, attribute: str) -> str:
    return model.user.email if model.user is not None else ""


class MemberAdmin(MerchantView, model=MembershipRow):
    name = label(_("Member"))
    name_plural = label(_("Members and roles"))
    icon = "fa-solid fa-user-shield"
    category = SETTINGS
    category_icon = "fa-solid fa-gear"
    column_list: ClassVar[list[Any]] = [MembershipRow.user, MembershipRow.role, MembershipRow.created_at]
    column_labels: ClassVar[dict[Any, str]] = {
        MembershipRow.user: label(_("Email")),
        MembershipRow.role: label(_("Role")),
        MembershipRow.created_at: label(_("Created at")),
    }
    column_formatters: ClassVar[dict[Any, Any]] = {MembershipRow.user: _member_email}
    column_filters: ClassVar[list[Any]] = [ValuesFilter(MembershipRow.role, title=label(_("Role")))]
    list_template = "kaohe/member_list.html"

    @action(name="role", label=label(_("Change the role")))
    async def change_role(self, request: Request) -> Response:
        return _to_page(request, "admin:view-member_role")

    @action(name="remove", label=label(_("Remove the member")))
    async def remove(self, request: Request) -> Response:
        return _to_page(request, "admin:view-member_remove")


def _to_page(request: Request, route: str) -> Response:
    """sqladmin's actions are GET links: they only open the page whose POST makes the change."""
    pk = first_selected(request)
    return RedirectResponse(str(request.url_for(route).include_query_params(id=pk)), 302)


def _actor(model: AuditRow, attribute: str) -> str:
    if model.actor is not None:
        return model.actor.email
    if model.actor_api_key_id is not None:
        return f"API key #{model.actor_api_key_id}"
    return render(_("System"))


def _json(model: Any, attribute: str) -> Markup:
    import json

    value = getattr(model, attribute)
    if value is None:
        return Markup("")
    text = json.dumps(value, ensure_ascii=False, indent=1)
    return Markup('<pre class="mb-0 small" style="max-width:40rem;white-space:pre-wrap">{}</pre>').format(text)


class ActorFilter(ValuesFilter):
    """Who made the entries: the users who appear in this tenant's log (RLS keeps the log and its join the tenant's
    own), by email; the value is the user's id. A value that is no id matches nothing."""

    async def lookups(self, request: Request, model: Any, run_query: Any) -> list[tuple[str, Any]]:
        rows = await run_query(
            select(UserRow.id, UserRow.email)
            .join(AuditRow, AuditRow.actor_user_id == UserRow.id)
            .distinct()
            .order_by(UserRow.email)
        )
        return [("__all", render(_("All")))] + [(str(user_id), email) for user_id, email in rows]

    async def get_filtered_query(self, query: Select[Any], value: Any, model: Any) -> Select[Any]:
        if value in (None, "", "__all"):
            return query
        user_id = parse_id(str(value))
        if user_id is None:
            return query.where(false())
        return query.where(AuditRow.actor_user_id == user_id)


class AuditAdmin(MerchantView, model=AuditRow):
    name = label(_("Audit entry"))
    name_plural = label(_("Audit log"))
    icon = "fa-solid fa-clipboard-list"
    category = SETTINGS
    category_icon = "fa-solid fa-gear"
    can_export = True
    export_types: ClassVar[list[str]] = ["csv"]
    export_max_rows = 10_000
    column_list: ClassVar[list[Any]] = [
        AuditRow.at,
        AuditRow.actor,
        AuditRow.action,
        AuditRow.entity,
        AuditRow.entity_id,
        AuditRow.before,
        AuditRow.after,
    ]
    column_labels: ClassVar[dict[Any, str]] = {
        AuditRow.at: label(_("When")),
        AuditRow.actor: label(_("Who")),
        AuditRow.action: label(_("Action")),
        AuditRow.entity: label(_("Object")),
        AuditRow.entity_id: label(_("Object id")),
        AuditRow.before: label(_("Before")),
        AuditRow.after: label(_("After")),
    }
    column_formatters: ClassVar[dict[Any, Any]] = {
        AuditRow.actor: _actor,
        AuditRow.before: _json,
        AuditRow.after: _json,
    }
    column_formatters_detail: ClassVar[dict[Any, Any]] = {
        AuditRow.actor: _actor,
        AuditRow.before: _json,
        AuditRow.after: _json,
    }
    column_searchable_list: ClassVar[list[Any]] = [AuditRow.action, AuditRow.entity]
    column_sortable_list: ClassVar[list[Any]] = [AuditRow.at, AuditRow.action]
    column_default_sort: ClassVar[list[Any]] = [(AuditRow.id, True)]
    column_filters: ClassVar[list[Any]] = [
        ValuesFilter(AuditRow.action, title=label(_("Action"))),
        ValuesFilter(AuditRow.entity, title=label(_("Object"))),
        ActorFilter(AuditRow.actor_user_id, title=label(_("Who")), parameter_name="actor"),
    ]


# The events table grows to millions of rows per tenant: a page counts at most this many matching rows (an index-only
# walk that stops there), never the whole table. Beyond it the pager offers the first EVENTS_COUNT_CAP rows' pages;
# filters and search narrow further.
EVENTS_COUNT_CAP = 10_000


class EventAdmin(MerchantView, model=EventRow):
    name = label(_("Event"))
    name_plural = label(_("Events"))
    icon = "fa-solid fa-bolt"
    category = MASTER_DATA
    category_icon = "fa-solid fa-database"
    column_list: ClassVar[list[Any]] = [
        EventRow.id,
        EventRow.external_id,
        EventRow.type,
        EventRow.occurred_at,
        EventRow.amount,
        EventRow.value,
        EventRow.status,
    ]
    column_labels: ClassVar[dict[Any, str]] = {
        EventRow.id: "ID",
        EventRow.external_id: label(_("External id")),
        EventRow.type: label(_("Type")),
        EventRow.occurred_at: label(_("Occurred at")),
        EventRow.received_at: label(_("Received at")),
        EventRow.amount: label(_("Amount")),
        EventRow.value: label(_("Value")),
        EventRow.status: label(_("Status")),
        EventRow.attributes: label(_("Attributes")),
        EventRow.staff_id: label(_("Staff id")),
        EventRow.customer_id: label(_("Customer id")),
        EventRow.credit_staff_ids: label(_("Credited staff ids")),
    }
    column_searchable_list: ClassVar[list[Any]] = [EventRow.external_id]
    column_sortable_list: ClassVar[list[Any]] = [EventRow.id]
    column_default_sort: ClassVar[list[Any]] = [(EventRow.id, True)]
    column_filters: ClassVar[list[Any]] = []

    def search_rows(self, stmt: Select[Any], term: str) -> Select[Any]:
        """An external id is looked up exactly (the tenant's unique index), never by a substring scan of millions."""
        return stmt.where(EventRow.external_id == term.strip())

    async def count(self, request: Request, stmt: Select[Any] | None = None) -> int:
        """Matching rows up to EVENTS_COUNT_CAP (+1, so the pager knows there are more), never a full count."""
        inner = self.list_query(request) if stmt is None else _counted_select(stmt)
        capped = select(func.count()).select_from(inner.limit(EVENTS_COUNT_CAP + 1).subquery())
        rows = await self._run_query(capped)
        return int(rows[0])


def _counted_select(stmt: Select[Any]) -> Select[Any]:
    """sqladmin counts `SELECT count(*) FROM (<filtered list query>)`: the list query inside it."""
    (source,) = stmt.get_final_froms()
    element = getattr(source, "element", None)
    if not isinstance(element, Select):
        raise TypeError("unexpected count statement")
    return element
