"""The language people read: a tenant's is `tenant.settings["locale"]`, Simplified Chinese unless the merchant chose
otherwise. Messages are rendered in it; codes never change with it.

A reader with a tenant (a member signed in to it, or one of its API keys) reads the tenant's locale, which the
principal carries (auth reads it with the membership). A reader without one (signing in, unauthenticated, a platform
operator outside tenants) reads the request's Accept-Language, Simplified Chinese by default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.db.uow import tenant_unit_of_work
from tenants.i18n import Locale, parse_locale
from tenants.tenancy import repository
from tenants.tenancy.identity import TenantId

if TYPE_CHECKING:
    from tenants.tenancy.auth import Principal


async def tenant_locale(tenant_id: TenantId) -> Locale:
    async with tenant_unit_of_work(tenant_id) as conn:
        return parse_locale(await repository.locale_setting(conn, tenant_id))


async def read_tenant_reading(conn: BaseDBAsyncClient, tenant_id: TenantId) -> repository.TenantReading:
    """The tenant's locale and timezone inside a transaction already open on `conn` (auth's), which from here on is
    the tenant's."""
    await repository.scope_to_tenant(conn, tenant_id)
    return await repository.tenant_reading(conn, tenant_id)


def reader_locale(principal: Principal | None, accept_language: str | None) -> Locale:
    """The locale to render a request's messages in (sync: no query, usable in permissions and error hooks)."""
    if principal is not None and principal.locale is not None:
        return principal.locale
    return parse_locale(accept_language)
