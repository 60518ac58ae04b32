"""Tenancy's query fields: who am I, my tenant, its API keys and members, the tenants (platform operators).
Resolvers call tenants.tenancy and tenants.accounts services only."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.context import Info
from schema.pagination import Page, page_request
from schema.permissions import platform_operator, signed_in_user, tenant_access
from schema.tenancy.types import ApiKey, Invitation, Me, Member, Tenant
from tenants.accounts import service as accounts
from tenants.tenancy import service
from tenants.tenancy.auth import Role, Scope


@strawberry.type
class TenancyQuery:
    @strawberry.field(extensions=signed_in_user(), description="The signed-in caller.")
    async def me(self, info: Info) -> Me:
        principal = info.context.user
        assert principal is not None
        tenant = await service.get_tenant(principal.tenant_id) if principal.tenant_id is not None else None
        return Me.of(principal, tenant)

    @strawberry.field(
        extensions=tenant_access(Role.STAFF, Scope.TENANT_READ),
        description="The caller's tenant (its timezone and currency matter to integrations).",
    )
    async def current_tenant(self, info: Info) -> Tenant:
        return Tenant.of(await service.get_tenant(info.context.tenant_id))

    @strawberry.field(extensions=tenant_access(Role.ADMIN), description="The tenant's API keys, oldest first.")
    async def api_keys(self, info: Info) -> list[ApiKey]:
        return [ApiKey.of(key) for key in await service.list_api_keys(info.context.tenant_id)]

    @strawberry.field(extensions=tenant_access(Role.ADMIN), description="The tenant's members by email, one page.")
    async def members(
        self,
        info: Info,
        limit: Annotated[int | None, strawberry.argument(description="Page size (capped).")] = None,
        offset: Annotated[int | None, strawberry.argument(description="Members to skip.")] = None,
    ) -> Page[Member]:
        found = await accounts.list_members(info.context.tenant_id, page_request(info, limit, offset))
        return Page.of(found, Member.of)

    @strawberry.field(extensions=tenant_access(Role.ADMIN), description="The tenant's invitations, newest first.")
    async def invitations(
        self,
        info: Info,
        pending: Annotated[
            bool, strawberry.argument(description="true: only those that can still be accepted; false: all.")
        ] = True,
        limit: Annotated[int | None, strawberry.argument(description="Page size (capped).")] = None,
        offset: Annotated[int | None, strawberry.argument(description="Invitations to skip.")] = None,
    ) -> Page[Invitation]:
        found = await accounts.list_invitations(
            info.context.tenant_id, pending=pending, page=page_request(info, limit, offset)
        )
        return Page.of(found, Invitation.of)

    @strawberry.field(extensions=platform_operator(), description="Platform operators: every tenant, oldest first.")
    async def tenants(
        self,
        info: Info,
        suspended: Annotated[
            bool | None, strawberry.argument(description="true: only suspended tenants; false: only active ones.")
        ] = None,
        limit: Annotated[int | None, strawberry.argument(description="Page size (capped).")] = None,
        offset: Annotated[int | None, strawberry.argument(description="Tenants to skip.")] = None,
    ) -> Page[Tenant]:
        found = await accounts.list_tenants(suspended=suspended, page=page_request(info, limit, offset))
        return Page.of(found, Tenant.of)
