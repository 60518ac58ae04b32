"""The console's SQLAlchemy side: an async engine on the app role and a session bound to the signed-in tenant.

Invariant: every transaction a console session begins starts with `SET LOCAL app.tenant_id = '<id>'` of the tenant
the signed-in user chose (read from `current_tenant` when the session is made), so row level security isolates the
console exactly like the API's units of work. sqladmin loads rows for edit, details and delete by primary key without
`list_query`: with RLS another tenant's id is simply not found. Without a tenant (the login page, an operator) the
setting is left empty and every tenant table reads empty (fail closed).
The engine connects as the app role (not the owner, no BYPASSRLS), the same DSN as Tortoise's.
SQLAlchemy is used for reading only: every write goes through the tenants/ services (admin/views/*).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, SessionTransaction

from tenants.db.uow import set_tenant_sql
from tenants.tenancy.identity import TenantId

current_tenant: ContextVar[TenantId | None] = ContextVar("kaohe_admin_tenant", default=None)
# A platform operator outside any tenant: the tenant table (platform scope), never tenant data.
current_platform: ContextVar[bool] = ContextVar("kaohe_admin_platform", default=False)
_TENANT_KEY = "kaohe_tenant_id"
_PLATFORM_KEY = "kaohe_platform"
PLATFORM_SQL = "SET LOCAL app.platform = 'on'"  # as tenants.db.uow.platform_unit_of_work


def sqlalchemy_url(database_url: str) -> str:
    """The app's postgres:// DSN for SQLAlchemy's asyncpg dialect."""
    parts = urlsplit(database_url)
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, parts.query, parts.fragment))


def create_engine(database_url: str, pool_size: int = 5) -> AsyncEngine:
    return create_async_engine(sqlalchemy_url(database_url), pool_size=pool_size, max_overflow=2, pool_pre_ping=True)


class TenantSession(Session):
    """A sync session (under AsyncSession) whose transactions begin scoped to its tenant."""


@event.listens_for(TenantSession, "after_begin")
def _scope_transaction(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    tenant_id = session.info.get(_TENANT_KEY)
    if tenant_id is not None:
        # set_tenant_sql formats int(tenant_id): nothing but digits reaches the statement.
        connection.exec_driver_sql(set_tenant_sql(tenant_id))
    elif session.info.get(_PLATFORM_KEY):
        connection.exec_driver_sql(PLATFORM_SQL)


class TenantAsyncSession(AsyncSession):
    """Reads the signed-in tenant when it is made (the request's context), for the after_begin hook."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sync_session.info[_TENANT_KEY] = current_tenant.get()
        self.sync_session.info[_PLATFORM_KEY] = current_platform.get()


def tenant_session_maker(engine: AsyncEngine) -> async_sessionmaker[TenantAsyncSession]:
    return async_sessionmaker(
        bind=engine, class_=TenantAsyncSession, sync_session_class=TenantSession, expire_on_commit=False
    )
