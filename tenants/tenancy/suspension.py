"""Is this tenant suspended? The one question every way in asks (auth asks it on each request, refresh and login;
the WeChat login and the admin console ask it here).

A suspended tenant (`tenant.suspended_at` set by a platform operator) keeps all its data; its users and API keys are
refused with TENANT_SUSPENDED until it is resumed. A tenant whose row the connection cannot see counts as suspended:
the check fails closed.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.db.uow import platform_unit_of_work
from tenants.tenancy import repository
from tenants.tenancy.auth import TENANT_SUSPENDED_MESSAGE
from tenants.tenancy.errors import AuthError, AuthErrorCode


async def ensure_tenant_active(conn: BaseDBAsyncClient, tenant_id: int) -> None:
    """Raises AuthError(TENANT_SUSPENDED) unless the tenant is active; runs on the caller's unit of work (the tenant's
    own, or the platform's), so the answer belongs to the caller's transaction."""
    visible, suspended_at = await repository.tenant_suspension(conn, tenant_id)
    if not visible or suspended_at is not None:
        raise AuthError.of(AuthErrorCode.TENANT_SUSPENDED, TENANT_SUSPENDED_MESSAGE)


async def tenant_is_suspended(tenant_id: int) -> bool:
    """The same question in a unit of work of its own (True also for a tenant that does not exist)."""
    async with platform_unit_of_work() as conn:
        visible, suspended_at = await repository.tenant_suspension(conn, tenant_id)
    return not visible or suspended_at is not None
