"""Tenancy's mutations: sign-in and tokens (AuthService), tenants (platform operators), API keys and members (tenant
admins), invitations, passwords and sign-out (tenants/accounts/service.py).

Expected refusals come back as the result union's error types (TenancyErrors, AccessErrors for teams and staff codes,
AuthErrors for sign-in); nothing was changed then. Refusals by a permission are top-level errors.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.access.types import AccessErrors
from schema.common import actor_of, parse_id
from schema.context import Info
from schema.permissions import platform_operator, signed_in_user, tenant_access
from schema.tenancy.types import (
    AcceptInvitationResult,
    ApiKey,
    ApiKeyCreated,
    ApiKeyRevoked,
    AuthErrors,
    AuthTokens,
    ChangePasswordResult,
    CreateApiKeyResult,
    CreateTenantResult,
    Invitation,
    InvitationAccepted,
    InvitationRevoked,
    InviteUserResult,
    LoggedOut,
    LoginResult,
    Member,
    MemberRemoved,
    MemberRoleSet,
    PasswordChanged,
    PasswordResetDone,
    PasswordResetRequested,
    RemoveMemberResult,
    RequestPasswordResetResult,
    ResetPasswordResult,
    ResumeTenantResult,
    RevokeApiKeyResult,
    RevokeInvitationResult,
    SetMemberRoleResult,
    SuspendTenantResult,
    TenancyErrors,
    Tenant,
    TenantCreated,
    TenantResumed,
    TenantSuspended,
    UserInvited,
)
from tenants.access.errors import AccessError
from tenants.accounts import service as accounts
from tenants.tenancy.auth import Role, Scope, UserPrincipal
from tenants.tenancy.errors import AuthError, TenancyError, TenancyErrorCode
from tenants.tenancy.service import NO_SUCH_API_KEY


def _user(info: Info) -> UserPrincipal:
    """Behind signed_in_user or tenant_access without a scope, the caller is a signed-in user."""
    user = info.context.user
    assert user is not None
    return user


@strawberry.type
class TenancyMutation:
    @strawberry.mutation(description="Sign in with email and password (to `tenant`, a slug; default: the first one).")
    async def login(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The account's address (any case).")],
        password: Annotated[str, strawberry.argument(description="The account's password.")],
        tenant: Annotated[str | None, strawberry.argument(description="The slug of the tenant to sign in to.")] = None,
    ) -> LoginResult:
        try:
            pair = await info.context.auth.login(email, password, tenant, info.context.client_address)
        except AuthError as error:
            return AuthErrors.of(error)
        return AuthTokens.of(pair)

    @strawberry.mutation(description="A new token pair for a refresh token (each is accepted once).")
    async def refresh_token(
        self,
        info: Info,
        refresh_token: Annotated[str, strawberry.argument(description="The refresh token of the current pair.")],
    ) -> LoginResult:
        try:
            pair = await info.context.auth.refresh(refresh_token)
        except AuthError as error:
            return AuthErrors.of(error)
        return AuthTokens.of(pair)

    @strawberry.mutation(
        extensions=platform_operator(),
        description="Platform operators: a new tenant and its first owner's invitation, mailed to firstAdminEmail.",
    )
    async def create_tenant(
        self,
        info: Info,
        slug: Annotated[str, strawberry.argument(description="2-63 lower-case letters, digits and dashes.")],
        name: Annotated[str, strawberry.argument(description="The tenant's display name.")],
        first_admin_email: Annotated[str, strawberry.argument(description="Who is invited as the first owner.")],
        timezone: Annotated[str, strawberry.argument(description="IANA timezone of its periods.")] = "Asia/Shanghai",
        currency: Annotated[str, strawberry.argument(description="CNY (the only one for now).")] = "CNY",
    ) -> CreateTenantResult:
        try:
            created = await accounts.create_tenant(
                actor_of(info), slug, name, timezone, first_admin_email, currency=currency
            )
        except TenancyError as error:
            return TenancyErrors.of(error)
        return TenantCreated(tenant=Tenant.of(created.tenant), invitation=Invitation.of(created.invitation))

    @strawberry.mutation(
        extensions=platform_operator(),
        description="Platform operators: the tenant's users and API keys are refused at once; its data stays.",
    )
    async def suspend_tenant(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The tenant's id.")]
    ) -> SuspendTenantResult:
        try:
            tenant = await accounts.suspend_tenant(actor_of(info), parse_id(id))
        except TenancyError as error:
            return TenancyErrors.of(error)
        return TenantSuspended(tenant=Tenant.of(tenant))

    @strawberry.mutation(
        extensions=platform_operator(), description="Platform operators: a suspended tenant works again."
    )
    async def resume_tenant(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The tenant's id.")]
    ) -> ResumeTenantResult:
        try:
            tenant = await accounts.resume_tenant(actor_of(info), parse_id(id))
        except TenancyError as error:
            return TenancyErrors.of(error)
        return TenantResumed(tenant=Tenant.of(tenant))

    @strawberry.mutation(extensions=tenant_access(Role.ADMIN), description="A new API key (its secret shown once).")
    async def create_api_key(
        self,
        info: Info,
        name: Annotated[str, strawberry.argument(description="What the key is for (at most 200 characters).")],
        scopes: Annotated[list[Scope], strawberry.argument(description="What the key may do (at least one).")],
    ) -> CreateApiKeyResult:
        try:
            created = await accounts.create_api_key(info.context.tenant_id, actor_of(info), name, list(scopes))
        except TenancyError as error:
            return TenancyErrors.of(error)
        return ApiKeyCreated.of(created)

    @strawberry.mutation(extensions=tenant_access(Role.ADMIN), description="The key is refused from now on.")
    async def revoke_api_key(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The key's id.")]
    ) -> RevokeApiKeyResult:
        key_id = parse_id(id)
        try:
            if key_id is None:
                raise TenancyError.of(TenancyErrorCode.NOT_FOUND, NO_SUCH_API_KEY, "id")
            revoked = await accounts.revoke_api_key(info.context.tenant_id, actor_of(info), key_id)
        except TenancyError as error:
            return TenancyErrors.of(error)
        return ApiKeyRevoked(api_key=ApiKey.of(revoked))

    @strawberry.mutation(
        extensions=tenant_access(Role.MANAGER),
        description=(
            "Invite someone into the tenant: the token is mailed to `email` (single use, expiring). Owners invite any "
            "role, admins any but OWNER, managers STAFF of their scope only. Rate limited per tenant and address."
        ),
    )
    async def invite_user(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The address the invitation is mailed to.")],
        role: Annotated[Role, strawberry.argument(description="The role the member gets.")],
        teams: Annotated[
            list[str] | None, strawberry.argument(description="Codes of the teams the member will manage.")
        ] = None,
        staff_code: Annotated[
            str | None, strawberry.argument(description="The staff record the login will be linked to.")
        ] = None,
    ) -> InviteUserResult:
        try:
            invitation = await accounts.invite_user(_user(info), info.context.redis, email, role, teams, staff_code)
        except TenancyError as error:
            return TenancyErrors.of(error)
        except AccessError as error:
            return AccessErrors.of(error)
        return UserInvited(invitation=Invitation.of(invitation))

    @strawberry.mutation(
        extensions=tenant_access(Role.ADMIN),
        description="Revoke a pending invitation: its token is refused from now on.",
    )
    async def revoke_invitation(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The invitation's id.")]
    ) -> RevokeInvitationResult:
        try:
            invitation = await accounts.revoke_invitation(_user(info), parse_id(id))
        except TenancyError as error:
            return TenancyErrors.of(error)
        return InvitationRevoked(invitation=Invitation.of(invitation))

    @strawberry.mutation(
        description=(
            "Join a tenant with a mailed invitation token. A new account sets its password here; an existing account "
            "(the invited address has one) gives its current password. Answers a session in that tenant."
        )
    )
    async def accept_invitation(
        self,
        info: Info,
        token: Annotated[str, strawberry.argument(description="The token from the invitation mail.")],
        password: Annotated[str, strawberry.argument(description="New account: its password; else the current one.")],
        display_name: Annotated[str, strawberry.argument(description="New account: the name shown.")] = "",
    ) -> AcceptInvitationResult:
        try:
            accepted = await accounts.accept_invitation(
                info.context.auth, token, password, display_name, info.context.client_address
            )
        except TenancyError as error:
            return TenancyErrors.of(error)
        except AccessError as error:
            return AccessErrors.of(error)
        return InvitationAccepted(
            tenant=Tenant.of(accepted.tenant), created_user=accepted.created_user, tokens=AuthTokens.of(accepted.tokens)
        )

    @strawberry.mutation(
        extensions=tenant_access(Role.ADMIN),
        description="Change a member's role (admins cannot touch owners; the last owner stays an owner).",
    )
    async def set_member_role(
        self,
        info: Info,
        user_id: Annotated[strawberry.ID, strawberry.argument(description="The member's user id.")],
        role: Annotated[Role, strawberry.argument(description="The new role.")],
    ) -> SetMemberRoleResult:
        try:
            member = await accounts.set_member_role(_user(info), parse_id(user_id), role)
        except TenancyError as error:
            return TenancyErrors.of(error)
        return MemberRoleSet(member=Member.of(member))

    @strawberry.mutation(
        extensions=tenant_access(Role.ADMIN),
        description="Remove a member: their tokens for this tenant stop working at once (not the last owner).",
    )
    async def remove_member(
        self,
        info: Info,
        user_id: Annotated[strawberry.ID, strawberry.argument(description="The member's user id.")],
    ) -> RemoveMemberResult:
        try:
            member = await accounts.remove_member(_user(info), parse_id(user_id))
        except TenancyError as error:
            return TenancyErrors.of(error)
        return MemberRemoved(member=Member.of(member))

    @strawberry.mutation(
        extensions=signed_in_user(),
        description="Change your password; every other session ends. Answers a new pair for this session.",
    )
    async def change_password(
        self,
        info: Info,
        current_password: Annotated[str, strawberry.argument(description="Your password now.")],
        new_password: Annotated[str, strawberry.argument(description="The new password (the password policy).")],
    ) -> ChangePasswordResult:
        try:
            pair = await accounts.change_password(
                info.context.auth, _user(info), current_password, new_password, info.context.client_address
            )
        except TenancyError as error:
            return TenancyErrors.of(error)
        return PasswordChanged(tokens=AuthTokens.of(pair))

    @strawberry.mutation(
        description=(
            "Mail a password reset token to `email` when it has an account. The answer is the same either way; "
            "rate limited per address and per client."
        )
    )
    async def request_password_reset(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The account's address.")],
    ) -> RequestPasswordResetResult:
        try:
            await accounts.request_password_reset(
                info.context.redis, email, info.context.client_address, locale=info.context.locale
            )
        except TenancyError as error:
            return TenancyErrors.of(error)
        return PasswordResetRequested(accepted=True)

    @strawberry.mutation(description="Set a new password with a mailed reset token (single use); every session ends.")
    async def reset_password(
        self,
        info: Info,
        token: Annotated[str, strawberry.argument(description="The token from the reset mail.")],
        password: Annotated[str, strawberry.argument(description="The new password (the password policy).")],
    ) -> ResetPasswordResult:
        try:
            await accounts.reset_password(info.context.auth, token, password)
        except TenancyError as error:
            return TenancyErrors.of(error)
        return PasswordResetDone(done=True)

    @strawberry.mutation(
        extensions=signed_in_user(),
        description="Sign out: this session's access and refresh tokens (its whole refresh family) are refused.",
    )
    async def logout(self, info: Info) -> LoggedOut:
        await accounts.logout(info.context.auth, _user(info))
        return LoggedOut(done=True)
