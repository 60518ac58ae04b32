"""Tenancy's query fields: who am I, my tenant, its API keys. Resolvers call tenants.tenancy.service only."""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.permissions import signed_in_user, tenant_access
from schema.tenancy.types import ApiKey, Me, Tenant
from tenants.tenancy import service
from tenants.tenancy.auth import Role, Scope


@strawberry.type
class TenancyQuery:
    @strawberry.field(extensions=signed_in_user())
    async def me(self, info: Info) -> Me:
        principal = info.context.user
        assert principal is not None
        tenant = await service.get_tenant(principal.tenant_id) if principal.tenant_id is not None else None
        return Me.of(principal, tenant)

    @strawberry.field(extensions=tenant_access(Role.STAFF, Scope.TENANT_READ))
    async def current_tenant(self, info: Info) -> Tenant:
        """The caller's tenant (its timezone and currency matter to integrations)."""
        return Tenant.of(await service.get_tenant(info.context.tenant_id))

    @strawberry.field(extensions=tenant_access(Role.ADMIN))
    async def api_keys(self, info: Info) -> list[ApiKey]:
        return [ApiKey.of(key) for key in await service.list_api_keys(info.context.tenant_id)]
