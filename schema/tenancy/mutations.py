"""Tenancy's mutations: login and token refresh (AuthService), tenants (operators), API keys (tenant admins).

Expected refusals come back as the result union's error type; nothing was changed then.
"""

from __future__ import annotations

import strawberry

from schema.common import parse_id
from schema.context import Info
from schema.permissions import platform_operator, tenant_access
from schema.tenancy.types import (
    ApiKey,
    ApiKeyCreated,
    ApiKeyRevoked,
    AuthErrors,
    AuthTokens,
    CreateApiKeyResult,
    CreateTenantResult,
    LoginResult,
    RevokeApiKeyResult,
    TenancyErrors,
    Tenant,
    TenantCreated,
)
from tenants.tenancy import service
from tenants.tenancy.auth import Role, Scope
from tenants.tenancy.errors import AuthError, TenancyError, TenancyErrorCode
from tenants.tenancy.service import NO_SUCH_API_KEY


@strawberry.type
class TenancyMutation:
    @strawberry.mutation
    async def login(self, info: Info, email: str, password: str, tenant: str | None = None) -> LoginResult:
        try:
            pair = await info.context.auth.login(email, password, tenant, info.context.client_address)
        except AuthError as error:
            return AuthErrors.of(error)
        return AuthTokens.of(pair)

    @strawberry.mutation
    async def refresh_token(self, info: Info, refresh_token: str) -> LoginResult:
        try:
            pair = await info.context.auth.refresh(refresh_token)
        except AuthError as error:
            return AuthErrors.of(error)
        return AuthTokens.of(pair)

    @strawberry.mutation(extensions=platform_operator())
    async def create_tenant(
        self, slug: str, name: str, timezone: str = "Asia/Shanghai", currency: str = "CNY"
    ) -> CreateTenantResult:
        try:
            tenant = await service.create_tenant(slug, name, timezone, currency)
        except TenancyError as error:
            return TenancyErrors.of(error)
        return TenantCreated(tenant=Tenant.of(tenant))

    @strawberry.mutation(extensions=tenant_access(Role.ADMIN))
    async def create_api_key(
        self,
        info: Info,
        name: str,
        scopes: list[Scope],
    ) -> CreateApiKeyResult:
        user = info.context.user
        try:
            created = await service.create_api_key(
                info.context.tenant_id, name, list(scopes), user.user_id if user else None
            )
        except TenancyError as error:
            return TenancyErrors.of(error)
        return ApiKeyCreated.of(created)

    @strawberry.mutation(extensions=tenant_access(Role.ADMIN))
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> RevokeApiKeyResult:
        key_id = parse_id(id)
        try:
            if key_id is None:
                raise TenancyError.of(TenancyErrorCode.NOT_FOUND, NO_SUCH_API_KEY, "id")
            revoked = await service.revoke_api_key(info.context.tenant_id, key_id)
        except TenancyError as error:
            return TenancyErrors.of(error)
        return ApiKeyRevoked(api_key=ApiKey.of(revoked))
