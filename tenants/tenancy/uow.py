"""Units of work: the only way the app touches tenant data.

One transaction that starts with `set_config('app.tenant_id', $1, true)`: transaction-local, so a pooled connection
never carries a tenant to the next user, and outside such a transaction RLS shows no tenant row at all (fail closed).
Tortoise keeps the transaction's connection in a ContextVar, so ORM queries inside the block run on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from tenants.tenancy.identity import TenantId


@asynccontextmanager
async def tenant_unit_of_work(tenant_id: TenantId) -> AsyncIterator[BaseDBAsyncClient]:
    async with in_transaction() as conn:
        await conn.execute_query("SELECT set_config('app.tenant_id', $1, true)", [str(int(tenant_id))])
        yield conn


@asynccontextmanager
async def platform_unit_of_work() -> AsyncIterator[BaseDBAsyncClient]:
    """For platform operator actions on the tenant table (create, list tenants); sees no tenant-owned rows."""
    async with in_transaction() as conn:
        await conn.execute_query("SELECT set_config('app.platform', 'on', true)")
        yield conn


@asynccontextmanager
async def global_unit_of_work() -> AsyncIterator[BaseDBAsyncClient]:
    """Platform tables only (users, the SECURITY DEFINER lookups); tenant tables read empty here."""
    async with in_transaction() as conn:
        yield conn
