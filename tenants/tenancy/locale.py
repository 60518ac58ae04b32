"""The language a tenant's people read: `tenant.settings["locale"]`, Simplified Chinese unless the merchant chose
otherwise (messages are rendered in it; codes never change with it)."""

from __future__ import annotations

from tenants.i18n import Locale, parse_locale
from tenants.tenancy.identity import TenantId
from tenants.tenancy.uow import tenant_unit_of_work


async def tenant_locale(tenant_id: TenantId) -> Locale:
    async with tenant_unit_of_work(tenant_id) as conn:
        rows = await conn.execute_query_dict(
            "SELECT settings->>'locale' AS locale FROM tenant WHERE id = $1", [int(tenant_id)]
        )
    return parse_locale(rows[0]["locale"] if rows else None)
