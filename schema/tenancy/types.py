"""Tenancy's GraphQL types, each built from a domain record by its `of` converter (never from SQL rows): sign-in and
tokens, tenants, API keys, and accounts (invitations, members, passwords; tenants/accounts/)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from schema.access.types import AccessErrors
from schema.errors import ProblemInterface, coded_problems
from tenants.tenancy.auth import Membership, Role, Scope, TokenPair, UserPrincipal
from tenants.tenancy.errors import AuthError, AuthErrorCode, TenancyError, TenancyErrorCode
from tenants.tenancy.models import ApiKey as ApiKeyModel
from tenants.tenancy.models import Invitation as InvitationModel
from tenants.tenancy.models import Tenant as TenantModel
from tenants.tenancy.repository import MemberRow
from tenants.tenancy.service import CreatedApiKey

# strawberry.enum registers the domain enums on the classes themselves, so annotations use the domain types.
strawberry.enum(AuthErrorCode, name="AuthErrorCode", description="Why a caller is refused (login, tokens, access).")
strawberry.enum(TenancyErrorCode, name="TenancyErrorCode", description="Why tenancy input is refused.")
# Without a description: schema/access registers Role too (by use), and two registrations must be equal.
strawberry.enum(Role, name="Role")
strawberry.enum(Scope, name="ApiKeyScope", description="What an API key may do.")


@strawberry.type(name="AuthErrorType", description="Why a sign-in or a token was refused.")
class AuthErrorType(ProblemInterface):
    code: AuthErrorCode = strawberry.field(description="What is wrong; branch on this.")


@strawberry.type(description="A refused sign-in or token; nothing was changed.")
class AuthErrors:
    errors: list[AuthErrorType] = strawberry.field(description="The problems, at least one.")

    @classmethod
    def of(cls, error: AuthError) -> AuthErrors:
        return cls(errors=coded_problems(AuthErrorType, error))


@strawberry.type(name="TenancyError", description="Refused tenancy or account input.")
class TenancyErrorType(ProblemInterface):
    code: TenancyErrorCode = strawberry.field(description="What is wrong; branch on this.")


@strawberry.type(description="Refused tenancy or account input; nothing was changed (no row, no audit entry, no mail).")
class TenancyErrors:
    errors: list[TenancyErrorType] = strawberry.field(description="The problems, at least one.")

    @classmethod
    def of(cls, error: TenancyError) -> TenancyErrors:
        return cls(errors=coded_problems(TenancyErrorType, error))


@strawberry.type(description="A signed-in session: send the access token as `Authorization: Bearer ...`.")
class AuthTokens:
    access_token: str = strawberry.field(description="Short-lived; checked against the current state on each request.")
    refresh_token: str = strawberry.field(
        description="Exchanged once for a new pair (refreshToken); a replay ends the whole session."
    )
    access_expires_at: datetime = strawberry.field(description="When the access token expires.")
    refresh_expires_at: datetime = strawberry.field(description="When the refresh token expires.")

    @classmethod
    def of(cls, pair: TokenPair) -> AuthTokens:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            access_expires_at=pair.access_expires_at,
            refresh_expires_at=pair.refresh_expires_at,
        )


@strawberry.type(description="A tenant (商户): a merchant company using Kaohe.")
class Tenant:
    id: strawberry.ID = strawberry.field(description="The tenant's id.")
    slug: str = strawberry.field(description="Its unique short name, used to sign in to it.")
    name: str = strawberry.field(description="Its display name.")
    timezone: str = strawberry.field(description="IANA timezone of its periods, e.g. Asia/Shanghai.")
    currency: str = strawberry.field(description="ISO 4217 currency of its money (CNY).")
    suspended_at: datetime | None = strawberry.field(
        description="When a platform operator suspended it (its users and API keys are refused); null: active."
    )
    created_at: datetime = strawberry.field(description="When it was created.")

    @classmethod
    def of(cls, tenant: TenantModel) -> Tenant:
        return cls(
            id=strawberry.ID(str(tenant.id)),
            slug=tenant.slug,
            name=tenant.name,
            timezone=tenant.timezone,
            currency=tenant.currency,
            suspended_at=tenant.suspended_at,
            created_at=tenant.created_at,
        )


@strawberry.type(description="A person's account (one per email address, across tenants).")
class User:
    id: strawberry.ID = strawberry.field(description="The user's id.")
    email: str = strawberry.field(description="The sign-in address (lower-case).")
    is_platform_operator: bool = strawberry.field(description="Manages tenants; sees no tenant's data.")

    @classmethod
    def of(cls, principal: UserPrincipal) -> User:
        return cls(
            id=strawberry.ID(str(principal.user_id)),
            email=principal.email,
            is_platform_operator=principal.is_platform_operator,
        )


@strawberry.type(name="MembershipType", description="One tenant the user belongs to, with the role there.")
class MembershipType:
    tenant_id: strawberry.ID = strawberry.field(description="The tenant's id.")
    tenant_slug: str = strawberry.field(description="The tenant's slug (sign in to it with login's tenant).")
    tenant_name: str = strawberry.field(description="The tenant's name.")
    role: Role = strawberry.field(description="The user's role in it.")
    tenant_suspended: bool = strawberry.field(description="The tenant is suspended: signing in to it is refused.")

    @classmethod
    def of(cls, membership: Membership) -> MembershipType:
        return cls(
            tenant_id=strawberry.ID(str(membership.tenant_id)),
            tenant_slug=membership.tenant_slug,
            tenant_name=membership.tenant_name,
            role=membership.role,
            tenant_suspended=membership.suspended,
        )


@strawberry.type(description="The signed-in caller.")
class Me:
    user: User = strawberry.field(description="The caller's account.")
    tenant: Tenant | None = strawberry.field(description="The tenant signed in to; null outside tenants.")
    roles: list[Role] = strawberry.field(description="The caller's role in that tenant (empty outside tenants).")
    memberships: list[MembershipType] = strawberry.field(description="Every tenant the caller belongs to.")

    @classmethod
    def of(cls, principal: UserPrincipal, tenant: TenantModel | None) -> Me:
        """`tenant`: the one the principal is signed in to (None outside tenants)."""
        return cls(
            user=User.of(principal),
            tenant=Tenant.of(tenant) if tenant else None,
            roles=[principal.role] if principal.role else [],
            memberships=[MembershipType.of(membership) for membership in principal.memberships],
        )


@strawberry.type(description="An API key of the tenant (for the merchant's systems); its secret is never shown again.")
class ApiKey:
    id: strawberry.ID = strawberry.field(description="The key's id.")
    name: str = strawberry.field(description="What the key is for.")
    prefix: str = strawberry.field(description="The public part of the key (kh_<prefix>_...).")
    scopes: list[str] = strawberry.field(description="What the key may do (ApiKeyScope values, lower-case).")
    created_at: datetime = strawberry.field(description="When it was created.")
    last_used_at: datetime | None = strawberry.field(description="Last use (updated at most once a minute).")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked; null: it works.")

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


@strawberry.type(description="The key was created.")
class ApiKeyCreated:
    api_key: ApiKey = strawberry.field(description="The new key.")
    secret: str = strawberry.field(description="The whole key. Shown once: only its hash is stored.")

    @classmethod
    def of(cls, created: CreatedApiKey) -> ApiKeyCreated:
        return cls(api_key=ApiKey.of(created.api_key), secret=created.plaintext)


@strawberry.type(description="The key was revoked: it is refused from now on.")
class ApiKeyRevoked:
    api_key: ApiKey = strawberry.field(description="The revoked key.")


@strawberry.type(description="An invitation into a tenant. Its token is only mailed to the invited address.")
class Invitation:
    id: strawberry.ID = strawberry.field(description="The invitation's id.")
    email: str = strawberry.field(description="The invited address (lower-case).")
    role: Role = strawberry.field(description="The role the member gets on accepting.")
    teams: list[str] = strawberry.field(description="Codes of the teams the member will manage.")
    staff_code: str | None = strawberry.field(description="The staff record the login will be linked to.")
    expires_at: datetime = strawberry.field(description="After this the token is refused (TOKEN_EXPIRED).")
    created_at: datetime = strawberry.field(description="When it was made.")
    accepted_at: datetime | None = strawberry.field(description="When it was accepted; null: not (yet).")
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked or replaced by a newer invitation of the address; null: not."
    )

    @classmethod
    def of(cls, invitation: InvitationModel) -> Invitation:
        return cls(
            id=strawberry.ID(str(invitation.id)),
            email=invitation.email,
            role=Role(invitation.role),
            teams=list(invitation.team_codes),
            staff_code=invitation.staff_code,
            expires_at=invitation.expires_at,
            created_at=invitation.created_at,
            accepted_at=invitation.accepted_at,
            revoked_at=invitation.revoked_at,
        )


@strawberry.type(description="A member of the tenant: a user and its role there.")
class Member:
    user_id: strawberry.ID = strawberry.field(description="The user's id (as in me { user { id } }).")
    email: str = strawberry.field(description="The user's sign-in address.")
    display_name: str = strawberry.field(description="The name the user gave.")
    role: Role = strawberry.field(description="The role in this tenant.")
    member_since: datetime = strawberry.field(description="When the user joined the tenant.")

    @classmethod
    def of(cls, row: MemberRow) -> Member:
        return cls(
            user_id=strawberry.ID(str(row.user_id)),
            email=row.email,
            display_name=row.display_name,
            role=Role(row.role),
            member_since=row.since,
        )


@strawberry.type(description="The tenant was created with an invitation for its first owner (mailed).")
class TenantCreated:
    tenant: Tenant = strawberry.field(description="The new tenant.")
    invitation: Invitation = strawberry.field(description="The first owner's invitation (its token only mailed).")


@strawberry.type(description="The tenant is suspended: its users and API keys are refused from now on.")
class TenantSuspended:
    tenant: Tenant = strawberry.field(description="The suspended tenant.")


@strawberry.type(description="The tenant is active again.")
class TenantResumed:
    tenant: Tenant = strawberry.field(description="The resumed tenant.")


@strawberry.type(description="The invitation was made and mailed; a pending one for the same address is replaced.")
class UserInvited:
    invitation: Invitation = strawberry.field(description="The pending invitation.")


@strawberry.type(description="The invitation was revoked: its token is refused from now on.")
class InvitationRevoked:
    invitation: Invitation = strawberry.field(description="The revoked invitation.")


@strawberry.type(description="The caller joined the tenant and is signed in to it.")
class InvitationAccepted:
    tenant: Tenant = strawberry.field(description="The tenant joined.")
    created_user: bool = strawberry.field(
        description="True: a new account was made; false: an existing account (proved by its password) joined."
    )
    tokens: AuthTokens = strawberry.field(description="A session in that tenant.")


@strawberry.type(description="The member's role was changed (or already was that role).")
class MemberRoleSet:
    member: Member = strawberry.field(description="The member as it is now.")


@strawberry.type(description="The member was removed; their tokens for this tenant are refused from now on.")
class MemberRemoved:
    member: Member = strawberry.field(description="The member as it was.")


@strawberry.type(description="The password was changed; every other session has ended.")
class PasswordChanged:
    tokens: AuthTokens = strawberry.field(description="A new pair for this session (the old one is refused).")


@strawberry.type(description="The same answer whether or not the address has an account.")
class PasswordResetRequested:
    accepted: bool = strawberry.field(
        description="Always true: when the address has an account, a reset token is mailed to it."
    )


@strawberry.type(name="PasswordResetDone", description="The password was replaced; every session has ended.")
class PasswordResetDone:
    done: bool = strawberry.field(description="Always true; sign in with the new password.")


@strawberry.type(description="The session has ended: its access and refresh tokens are refused.")
class LoggedOut:
    done: bool = strawberry.field(description="Always true.")


LoginResult = Annotated[AuthTokens | AuthErrors, strawberry.union("LoginResult")]
CreateTenantResult = Annotated[TenantCreated | TenancyErrors, strawberry.union("CreateTenantResult")]
SuspendTenantResult = Annotated[TenantSuspended | TenancyErrors, strawberry.union("SuspendTenantResult")]
ResumeTenantResult = Annotated[TenantResumed | TenancyErrors, strawberry.union("ResumeTenantResult")]
InviteUserResult = Annotated[UserInvited | TenancyErrors | AccessErrors, strawberry.union("InviteUserResult")]
AcceptInvitationResult = Annotated[
    InvitationAccepted | TenancyErrors | AccessErrors, strawberry.union("AcceptInvitationResult")
]
RevokeInvitationResult = Annotated[InvitationRevoked | TenancyErrors, strawberry.union("RevokeInvitationResult")]
SetMemberRoleResult = Annotated[MemberRoleSet | TenancyErrors, strawberry.union("SetMemberRoleResult")]
RemoveMemberResult = Annotated[MemberRemoved | TenancyErrors, strawberry.union("RemoveMemberResult")]
ChangePasswordResult = Annotated[PasswordChanged | TenancyErrors, strawberry.union("ChangePasswordResult")]
RequestPasswordResetResult = Annotated[
    PasswordResetRequested | TenancyErrors, strawberry.union("RequestPasswordResetResult")
]
ResetPasswordResult = Annotated[PasswordResetDone | TenancyErrors, strawberry.union("ResetPasswordResult")]
CreateApiKeyResult = Annotated[ApiKeyCreated | TenancyErrors, strawberry.union("CreateApiKeyResult")]
RevokeApiKeyResult = Annotated[ApiKeyRevoked | TenancyErrors, strawberry.union("RevokeApiKeyResult")]
