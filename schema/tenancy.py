"""GraphQL for tenancy: login, tokens, me, tenants (operator), API keys.

Refusals of login and tokens are AuthErrors, those of tenants and keys TenancyErrors: typed errors of the results'
unions implementing Problem (code: the domain's enum, message: in the reader's locale). Refusals by a permission are
top-level errors (schema/permissions.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from schema.common import parse_id
from schema.context import Info
from schema.errors import ProblemInterface, problem_fields
from schema.permissions import platform_operator, signed_in_user, tenant_access
from tenants.tenancy import service
from tenants.tenancy.auth import Role, Scope, TokenPair
from tenants.tenancy.errors import AuthError, AuthErrorCode, TenancyError, TenancyErrorCode
from tenants.tenancy.models import ApiKey as ApiKeyModel
from tenants.tenancy.models import Tenant as TenantModel
from tenants.tenancy.service import NO_SUCH_API_KEY

# strawberry.enum registers the domain enums on the classes themselves, so annotations use the domain types.
strawberry.enum(AuthErrorCode, name="AuthErrorCode", description="Why a caller is refused (login, tokens, access).")
strawberry.enum(TenancyErrorCode, name="TenancyErrorCode", description="Why tenancy input is refused.")
strawberry.enum(Role, name="Role")
strawberry.enum(Scope, name="ApiKeyScope")


@strawberry.type
class AuthErrorType(ProblemInterface):
    code: AuthErrorCode


@strawberry.type
class AuthErrors:
    errors: list[AuthErrorType]

    @classmethod
    def of(cls, error: AuthError) -> AuthErrors:
        return cls(errors=[AuthErrorType(code=problem.code, **problem_fields(problem)) for problem in error.problems])


@strawberry.type(name="TenancyError")
class TenancyErrorType(ProblemInterface):
    code: TenancyErrorCode


@strawberry.type
class TenancyErrors:
    errors: list[TenancyErrorType]

    @classmethod
    def of(cls, error: TenancyError) -> TenancyErrors:
        return cls(
            errors=[TenancyErrorType(code=problem.code, **problem_fields(problem)) for problem in error.problems]
        )


@strawberry.type
class AuthTokens:
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime

    @classmethod
    def of(cls, pair: TokenPair) -> AuthTokens:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            access_expires_at=pair.access_expires_at,
            refresh_expires_at=pair.refresh_expires_at,
        )


@strawberry.type
class Tenant:
    id: strawberry.ID
    slug: str
    name: str
    timezone: str
    currency: str

    @classmethod
    def of(cls, tenant: TenantModel) -> Tenant:
        return cls(
            id=strawberry.ID(str(tenant.id)),
            slug=tenant.slug,
            name=tenant.name,
            timezone=tenant.timezone,
            currency=tenant.currency,
        )


@strawberry.type
class User:
    id: strawberry.ID
    email: str
    is_platform_operator: bool


@strawberry.type
class MembershipType:
    tenant_id: strawberry.ID
    tenant_slug: str
    tenant_name: str
    role: Role


@strawberry.type
class Me:
    user: User
    tenant: Tenant | None
    roles: list[Role]
    memberships: list[MembershipType]


@strawberry.type
class ApiKey:
    id: strawberry.ID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKeyModel) -> ApiKey:
        return cls(
            id=strawberry.ID(str(key.id)),
            name=key.name,
            prefix=key.prefix,
            scopes=list(key.scopes),
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


@strawberry.type
class ApiKeyCreated:
    api_key: ApiKey
    secret: str = strawberry.field(description="The whole key. Shown once: only its hash is stored.")


@strawberry.type
class ApiKeyRevoked:
    api_key: ApiKey


@strawberry.type
class TenantCreated:
    tenant: Tenant


LoginResult = Annotated[AuthTokens | AuthErrors, strawberry.union("LoginResult")]
CreateTenantResult = Annotated[TenantCreated | TenancyErrors, strawberry.union("CreateTenantResult")]
CreateApiKeyResult = Annotated[ApiKeyCreated | TenancyErrors, strawberry.union("CreateApiKeyResult")]
RevokeApiKeyResult = Annotated[ApiKeyRevoked | TenancyErrors, strawberry.union("RevokeApiKeyResult")]


@strawberry.type
class TenancyQuery:
    @strawberry.field(extensions=signed_in_user())
    async def me(self, info: Info) -> Me:
        principal = info.context.user
        assert principal is not None
        tenant = await service.get_tenant(principal.tenant_id) if principal.tenant_id is not None else None
        return Me(
            user=User(
                id=strawberry.ID(str(principal.user_id)),
                email=principal.email,
                is_platform_operator=principal.is_platform_operator,
            ),
            tenant=Tenant.of(tenant) if tenant else None,
            roles=[principal.role] if principal.role else [],
            memberships=[
                MembershipType(
                    tenant_id=strawberry.ID(str(m.tenant_id)),
                    tenant_slug=m.tenant_slug,
                    tenant_name=m.tenant_name,
                    role=m.role,
                )
                for m in principal.memberships
            ],
        )

    @strawberry.field(extensions=tenant_access(Role.STAFF, Scope.TENANT_READ))
    async def current_tenant(self, info: Info) -> Tenant:
        """The caller's tenant (its timezone and currency matter to integrations)."""
        return Tenant.of(await service.get_tenant(info.context.tenant_id))

    @strawberry.field(extensions=tenant_access(Role.ADMIN))
    async def api_keys(self, info: Info) -> list[ApiKey]:
        return [ApiKey.of(key) for key in await service.list_api_keys(info.context.tenant_id)]


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
        return ApiKeyCreated(api_key=ApiKey.of(created.api_key), secret=created.plaintext)

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
