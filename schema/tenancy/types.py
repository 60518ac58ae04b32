"""Tenancy's GraphQL types, each built from a domain record by its `of` converter (never from SQL rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from schema.errors import ProblemInterface, problem_fields
from tenants.tenancy.auth import Membership, Role, Scope, TokenPair, UserPrincipal
from tenants.tenancy.errors import AuthError, AuthErrorCode, TenancyError, TenancyErrorCode
from tenants.tenancy.models import ApiKey as ApiKeyModel
from tenants.tenancy.models import Tenant as TenantModel
from tenants.tenancy.service import CreatedApiKey

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

    @classmethod
    def of(cls, principal: UserPrincipal) -> User:
        return cls(
            id=strawberry.ID(str(principal.user_id)),
            email=principal.email,
            is_platform_operator=principal.is_platform_operator,
        )


@strawberry.type
class MembershipType:
    tenant_id: strawberry.ID
    tenant_slug: str
    tenant_name: str
    role: Role

    @classmethod
    def of(cls, membership: Membership) -> MembershipType:
        return cls(
            tenant_id=strawberry.ID(str(membership.tenant_id)),
            tenant_slug=membership.tenant_slug,
            tenant_name=membership.tenant_name,
            role=membership.role,
        )


@strawberry.type
class Me:
    user: User
    tenant: Tenant | None
    roles: list[Role]
    memberships: list[MembershipType]

    @classmethod
    def of(cls, principal: UserPrincipal, tenant: TenantModel | None) -> Me:
        """`tenant`: the one the principal is signed in to (None outside tenants)."""
        return cls(
            user=User.of(principal),
            tenant=Tenant.of(tenant) if tenant else None,
            roles=[principal.role] if principal.role else [],
            memberships=[MembershipType.of(membership) for membership in principal.memberships],
        )


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

    @classmethod
    def of(cls, created: CreatedApiKey) -> ApiKeyCreated:
        return cls(api_key=ApiKey.of(created.api_key), secret=created.plaintext)


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
