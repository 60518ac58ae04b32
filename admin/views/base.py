"""What every console view shares.

- Merchant views open for an owner or admin of the signed-in tenant; operator views for a platform operator.
- Reads go through sqladmin's SQLAlchemy session (tenant-scoped by RLS, admin/db.py); a row that is not found (another
  tenant's id) is 404 for every page, edit and delete included, checked before any view code runs.
- Nothing is written through SQLAlchemy: a view that edits overrides insert_model/update_model/delete_model and calls
  the tenants/ service (validation, audit, after-commit jobs), turning its problems into a `ServiceRefused` shown on
  the form in the reader's language.
- Dates in the tenant's timezone, money as CNY, formatted by Babel for the reader's locale (admin/i18n.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Final, TypeVar

from markupsafe import Markup
from sqladmin import BaseView, ModelView
from sqladmin.filters import AllUniqueStringValuesFilter, BooleanFilter, StaticValuesFilter
from sqlalchemy import Select, false
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request

from admin.i18n import format_day, format_instant, format_number, render
from admin.security import ConsoleUser, console_user
from tenants.errors import DomainError, Problem
from tenants.i18n import _
from tenants.tenancy.identity import TenantId


class ServiceRefused(Exception):
    """A service refused the change: its problems, rendered for the form (sqladmin shows str(error))."""

    def __init__(self, problems: Iterable[Problem[Any]]) -> None:
        self.problems = list(problems)
        super().__init__(
            "；".join(
                f"{render(problem.message)}" + (f"（{problem.field}）" if problem.field else "")
                for problem in self.problems
            )
        )


Row = TypeVar("Row")


async def row_or_404(session_maker: Any, model: type[Row], row_id: int) -> Row:
    """A row of the signed-in tenant by id, through the console's RLS-scoped session: another tenant's id reads as
    missing, not found (404)."""
    async with session_maker() as session:
        row: Row | None = await session.get(model, row_id)
    if row is None:
        raise HTTPException(status_code=404)
    return row


def refusal_text(refused: DomainError[Any]) -> str:
    """A service's refusal as one line for a page's error box, in the reader's language."""
    return "；".join(render(problem.message) for problem in refused.problems)


def merchant_user(request: HTTPConnection) -> ConsoleUser | None:
    user = console_user(request)
    return user if user is not None and user.tenant_id is not None else None


def require_tenant(request: HTTPConnection) -> tuple[ConsoleUser, TenantId]:
    user = merchant_user(request)
    if user is None or user.tenant_id is None:
        raise HTTPException(status_code=403)
    return user, user.tenant_id


# ids are bigints (admin/tables.py): the largest one a request may name
MAX_ID: Final = 2**63 - 1


def parse_id(text: object) -> int | None:
    """A row id named by a request (path, query or form text), or None when the text is no id. str.isdigit alone
    lets through what int() refuses ("²") or what the database refuses (thirty digits, beyond a bigint): both were
    server errors. Callers turn None into their own answer (404, an empty filter, the form's refusal)."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def first_selected(request: Request) -> str:
    """The first row a list action was started on, as sent (sqladmin's actions name the ticked rows' ids as `pks`)."""
    return request.query_params.get("pks", "").split(",")[0]


def require_id(text: object) -> int:
    """parse_id for a page about one row: text that is no id names no row (404)."""
    value = parse_id(text)
    if value is None:
        raise HTTPException(status_code=404)
    return value


def holds_nul(text: object) -> bool:
    """PostgreSQL text cannot hold a NUL byte: no stored value equals or contains text with one, and sending it to
    the database is an error (a server error). A search or filter value with one matches no row."""
    return isinstance(text, str) and "\x00" in text


def _money_or_number(value: Decimal) -> str:
    return format_number(value)


TYPE_FORMATTERS: dict[type, Any] = {
    type(None): lambda value: "",
    bool: lambda value: (
        Markup('<i class="fa fa-check text-success"></i>')
        if value
        else Markup('<i class="fa fa-times text-danger"></i>')
    ),
    datetime: format_instant,
    date: format_day,
    Decimal: _money_or_number,
}


# sqladmin's filters name their choices in English ("All", "Yes", "No"): ours say them in the reader's language.


def _all_first(lookups: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(value, render(_("All")) if value in ("__all", "all") else text) for value, text in lookups]


class ValuesFilter(AllUniqueStringValuesFilter):
    async def lookups(self, request: Request, model: Any, run_query: Any) -> list[tuple[str, Any]]:
        return _all_first(await super().lookups(request, model, run_query))

    async def get_filtered_query(self, query: Select[Any], value: Any, model: Any) -> Select[Any]:
        if holds_nul(value):
            return query.where(false())
        return await super().get_filtered_query(query, value, model)


class ChoicesFilter(StaticValuesFilter):
    async def lookups(self, request: Request, model: Any, run_query: Any) -> list[tuple[str, Any]]:
        return _all_first(await super().lookups(request, model, run_query))

    async def get_filtered_query(self, query: Select[Any], value: Any, model: Any) -> Select[Any]:
        if holds_nul(value):
            return query.where(false())
        return await super().get_filtered_query(query, value, model)


class YesNoFilter(BooleanFilter):
    async def lookups(self, request: Request, model: Any, run_query: Any) -> list[tuple[str, Any]]:
        return [("all", render(_("All"))), ("true", render(_("Yes"))), ("false", render(_("No")))]


class ConsoleView(ModelView):
    """What every model view of the console shares: read-only unless a subclass writes through a service, values
    formatted for the reader, labels rendered in the reader's language, rows found by id text only when it is an id."""

    can_create = False
    can_edit = False
    can_delete = False
    can_export = False
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_detail = TYPE_FORMATTERS

    def search_placeholder(self) -> str:
        # labels are lazy (admin/i18n.py): rendered here, in the request's language
        return "、".join(str(self._column_labels.get(field, field)) for field in self._search_fields)

    def _stmt_by_identifier(self, identifier: str) -> Select[Any]:
        # sqladmin's details, edit and delete find the row by the path's text; text that is no id names no row
        return super()._stmt_by_identifier(str(require_id(identifier)))

    def search_query(self, stmt: Select[Any], term: str) -> Select[Any]:
        return stmt.where(false()) if holds_nul(term) else self.search_rows(stmt, term)

    def search_rows(self, stmt: Select[Any], term: str) -> Select[Any]:
        """The rows a search term finds (sqladmin's substring search unless a view knows better)."""
        return super().search_query(stmt, term)


class MerchantView(ConsoleView):
    """A tenant's rows (RLS-scoped session, admin/db.py)."""

    page_size = 25
    page_size_options: ClassVar[list[int]] = [25, 50, 100]
    category_icon = "fa-solid fa-store"

    def is_visible(self, request: Request) -> bool:
        return merchant_user(request) is not None

    def is_accessible(self, request: Request) -> bool:
        return merchant_user(request) is not None

    # Another tenant's row reads as missing (RLS): not found, before edit, details or delete run.
    async def check_can_edit(self, request: Request, model: Any) -> bool:
        if model is None:
            raise HTTPException(status_code=404)
        return await super().check_can_edit(request, model)

    async def check_can_delete(self, request: Request, model: Any) -> bool:
        if model is None:
            raise HTTPException(status_code=404)
        return await super().check_can_delete(request, model)

    async def check_can_view_details(self, request: Request, model: Any) -> bool:
        if model is None:
            raise HTTPException(status_code=404)
        return await super().check_can_view_details(request, model)

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        raise HTTPException(status_code=405)

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        raise HTTPException(status_code=405)

    async def delete_model(self, request: Request, pk: Any) -> None:
        raise HTTPException(status_code=405)


class OperatorView(ConsoleView):
    """Platform operator pages: the tenant table (not tenant data)."""

    category_icon = "fa-solid fa-server"

    def is_visible(self, request: Request) -> bool:
        user = console_user(request)
        return user is not None and user.is_operator

    def is_accessible(self, request: Request) -> bool:
        return self.is_visible(request)


class MerchantPage(BaseView):
    def is_visible(self, request: Request) -> bool:
        return merchant_user(request) is not None

    def is_accessible(self, request: Request) -> bool:
        return merchant_user(request) is not None
