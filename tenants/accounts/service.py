"""Account use cases: tenants (platform operators), invitations and members (tenant admins), passwords and sessions
(every user).

Invariants
- Input is checked before any write; each refusal is a TenancyError (or an AccessError for teams and staff codes)
  naming its field, and nothing was changed then: no row, no audit entry, no mail.
- Every change is audited (tenants.audit) on the unit of work that makes it, with the state before and after; a
  change of a user (a password) is audited in each tenant the user belongs to. Tokens and hashes are never audited.
- Invitation and reset tokens carry 256 random bits; only their SHA-256 is stored. They are single use (used under a
  row lock) and expire (AccountPolicy). A newer invitation of an address replaces its pending one, which is revoked
  and audited as such (invitation.revoke) next to the new one's invitation.create.
- Mail is sent after the unit of work commits (tenants/tenancy/mail.py).
- Roles: an owner may give and change any role; an admin any but owner, and never changes or removes an owner; a
  manager invites staff only (their staff record in the manager's scope); a tenant keeps at least one owner (the
  owners' rows are locked while roles change, so two concurrent demotions cannot both pass).
- A removed member loses access at once (auth checks the membership on every request and refresh) and tokens issued
  before a later membership are refused (auth compares them with its age), so their refresh-token families are dead.
- A password change or reset ends every other session: tokens issued before it are refused (user.sessions_revoked_at);
  a change answers the caller a new pair in the same refresh family.
- requestPasswordReset answers the same whether or not the address has an account (the rate limit counts both alike).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.access import repository as access_repository
from tenants.access.errors import AccessError, AccessErrorCode
from tenants.access.scope import read_access_scope
from tenants.access.service import MAX_MANAGED_TEAMS, apply_member_access
from tenants.audit.service import Actor, record
from tenants.db.paging import Page, PageRequest
from tenants.db.uow import after_commit, global_unit_of_work, platform_unit_of_work, tenant_unit_of_work
from tenants.errors import Problem
from tenants.i18n import DEFAULT_LOCALE, Locale, _, parse_locale
from tenants.staff.checks import can_be_code
from tenants.tenancy import repository
from tenants.tenancy import service as tenancy_service
from tenants.tenancy.auth import (
    ROLE_RANK,
    AuthService,
    Role,
    Scope,
    TokenPair,
    UserPrincipal,
    could_be_token,
    hash_password,
    verify_password,
)
from tenants.tenancy.errors import AuthError, TenancyError, TenancyErrorCode
from tenants.tenancy.identity import (
    TenantId,
    tenant_id_for_operator,
    tenant_id_from_invitation,
    tenant_id_from_membership,
)
from tenants.tenancy.limits import Limit, count_attempt, limit_key
from tenants.tenancy.mail import MailKind, OutgoingMail, send_mail
from tenants.tenancy.models import ApiKey, Invitation, Membership, Tenant
from tenants.tenancy.passwords import check_password
from tenants.tenancy.repository import MemberRow
from tenants.tenancy.service import ApiKeyChange, CreatedApiKey, check_name, check_new_tenant, normalized_email

NO_SUCH_TENANT = _("No such tenant.")
NO_SUCH_MEMBER = _("No such member.")
TOKEN_INVALID_MESSAGE = _("This link is not valid; ask for a new one.")
# Long enough for any token we issue, short enough that nothing is hashed for a pasted document.
MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True)
class AccountPolicy:
    """Lifetimes of tokens and the rate limits (fixed windows of `window_seconds`)."""

    invitation_ttl: timedelta = timedelta(days=7)
    reset_ttl: timedelta = timedelta(hours=1)
    window_seconds: int = 3600
    invitations_per_tenant: int = 100
    invitations_per_email: int = 3
    resets_per_email: int = 3
    resets_per_address: int = 10


DEFAULT_POLICY = AccountPolicy()


def _new_token(kind: str) -> str:
    return f"{kind}_{secrets.token_urlsafe(32)}"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _checked_token(token: str) -> str:
    """The token's hash; TOKEN_INVALID for what cannot be one of ours (empty, over-long, not printable ASCII)."""
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_LENGTH or not could_be_token(token):
        raise TenancyError.of(TenancyErrorCode.TOKEN_INVALID, TOKEN_INVALID_MESSAGE, "token")
    return _token_hash(token)


def _tenant_state(tenant: Tenant) -> dict[str, Any]:
    return {
        "slug": tenant.slug,
        "name": tenant.name,
        "timezone": tenant.timezone,
        "currency": tenant.currency,
        "suspendedAt": tenant.suspended_at,
    }


def _invitation_state(invitation: Invitation) -> dict[str, Any]:
    return {
        "email": invitation.email,
        "role": invitation.role,
        "teams": list(invitation.team_codes),
        "staffCode": invitation.staff_code,
        "expiresAt": invitation.expires_at,
        "acceptedAt": invitation.accepted_at,
        "acceptedUserId": invitation.accepted_user_id,
        "revokedAt": invitation.revoked_at,
    }


async def _record_invitation(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    actor: Actor,
    action: str,
    invitation: Invitation,
    before: dict[str, Any] | None,
) -> None:
    await record(conn, tenant_id, actor, action, "invitation", invitation.id, before, _invitation_state(invitation))


def _tenant_locale(tenant: Tenant) -> Locale:
    locale = tenant.settings.get("locale") if isinstance(tenant.settings, dict) else None
    return parse_locale(locale if isinstance(locale, str) else None)


def _mail_invitation(invitation: Invitation, token: str, tenant: Tenant) -> None:
    """Mails the invitation once the unit of work commits."""
    locale = _tenant_locale(tenant)
    mail = OutgoingMail(
        to=invitation.email,
        kind=MailKind.INVITATION,
        subject=_("You are invited to {tenant} on Kaohe", tenant=tenant.name),
        body=_(
            "You are invited to join {tenant} as {role}. Accept with this invitation token before {expires}: {token}",
            tenant=tenant.name,
            role=invitation.role,
            expires=invitation.expires_at.isoformat(timespec="minutes"),
            token=token,
        ),
        locale=locale,
        data={"token": token, "tenant": tenant.slug, "role": invitation.role},
    )

    async def send() -> None:
        await send_mail(mail)

    after_commit(send)


# --- tenants (platform operators) -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedTenant:
    tenant: Tenant
    invitation: Invitation


async def create_tenant(
    actor: Actor,
    slug: str,
    name: str,
    timezone: str,
    first_admin_email: str,
    *,
    currency: str = "CNY",
    policy: AccountPolicy = DEFAULT_POLICY,
) -> CreatedTenant:
    """The tenant and its first owner's invitation (mailed), in one transaction, both audited in the new tenant."""
    check_new_tenant(slug, name, timezone, currency)
    email = normalized_email(first_admin_email, "firstAdminEmail")
    token = _new_token("inv")
    now = datetime.now(UTC)
    async with platform_unit_of_work() as conn:
        if await repository.tenant_slug_exists(conn, slug):
            raise TenancyError.of(TenancyErrorCode.DUPLICATE, _("A tenant “{slug}” exists already.", slug=slug), "slug")
        tenant = await repository.insert_tenant(
            conn, slug=slug, name=name.strip(), timezone=timezone, currency=currency
        )
        tenant_id = tenant_id_for_operator(tenant.id)
        await repository.scope_to_tenant(conn, tenant_id)
        invitation = await repository.insert_invitation(
            conn,
            tenant_id,
            email=email,
            role=Role.OWNER.value,
            team_codes=[],
            staff_code=None,
            token_hash=_token_hash(token),
            invited_by_user_id=actor.user_id,
            expires_at=now + policy.invitation_ttl,
        )
        assert invitation is not None  # the tenant is new: nobody else can have invited anyone to it
        await record(conn, tenant_id, actor, "tenant.create", "tenant", tenant.id, None, _tenant_state(tenant))
        await _record_invitation(conn, tenant_id, actor, "invitation.create", invitation, None)
        _mail_invitation(invitation, token, tenant)
    return CreatedTenant(tenant, invitation)


async def _set_suspension(actor: Actor, tenant_id: int | None, suspend: bool) -> Tenant:
    async with platform_unit_of_work() as conn:
        tenant = await repository.tenant_for_update(conn, tenant_id) if tenant_id is not None else None
        if tenant is None:
            raise TenancyError.of(TenancyErrorCode.NOT_FOUND, NO_SUCH_TENANT, "id")
        if suspend and tenant.suspended_at is not None:
            raise TenancyError.of(TenancyErrorCode.ALREADY_SUSPENDED, _("The tenant is suspended already."), "id")
        if not suspend and tenant.suspended_at is None:
            raise TenancyError.of(TenancyErrorCode.NOT_SUSPENDED, _("The tenant is not suspended."), "id")
        before = _tenant_state(tenant)
        tenant.suspended_at = datetime.now(UTC) if suspend else None
        await repository.save_suspended_at(conn, tenant)
        scoped = tenant_id_for_operator(tenant.id)
        await repository.scope_to_tenant(conn, scoped)
        action = "tenant.suspend" if suspend else "tenant.resume"
        await record(conn, scoped, actor, action, "tenant", tenant.id, before, _tenant_state(tenant))
    return tenant


async def suspend_tenant(actor: Actor, tenant_id: int | None) -> Tenant:
    """Its users and API keys are refused from the next request on (TENANT_SUSPENDED); its data stays."""
    return await _set_suspension(actor, tenant_id, suspend=True)


async def resume_tenant(actor: Actor, tenant_id: int | None) -> Tenant:
    return await _set_suspension(actor, tenant_id, suspend=False)


async def list_tenants(*, suspended: bool | None, page: PageRequest) -> Page[Tenant]:
    async with platform_unit_of_work() as conn:
        return await repository.tenants_page(conn, suspended=suspended, page=page)


# --- invitations ----------------------------------------------------------------------------------------------------


def _role_not_allowed(field: str = "role") -> TenancyError:
    error: TenancyError = TenancyError.of(
        TenancyErrorCode.ROLE_NOT_ALLOWED, _("Your role cannot give or change this role."), field
    )
    return error


def _acting_admin(principal: UserPrincipal, field: str) -> tuple[TenantId, Role]:
    """The caller's tenant and role when it is an admin or owner of a tenant; else ROLE_NOT_ALLOWED on `field`."""
    tenant_id, acting = principal.tenant_id, principal.role
    if tenant_id is None or acting is None or ROLE_RANK[acting] < ROLE_RANK[Role.ADMIN]:
        raise _role_not_allowed(field)
    return tenant_id, acting


def _check_invitable(inviter: Role, role: Role, team_codes: Sequence[str]) -> None:
    if inviter == Role.MANAGER:
        if role != Role.STAFF:
            raise _role_not_allowed()
        if team_codes:
            raise _role_not_allowed("teams")
    elif ROLE_RANK[inviter] < ROLE_RANK[Role.ADMIN] or (role == Role.OWNER and inviter != Role.OWNER):
        raise _role_not_allowed()


async def _check_access(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    principal: UserPrincipal,
    team_codes: Sequence[str],
    staff_code: str | None,
) -> None:
    """The teams and staff record an invitation will apply exist now (they are applied, and checked again, when it is
    accepted: tenants.access.service.apply_member_access); a manager's staff record must be in the manager's scope."""
    if len(team_codes) > MAX_MANAGED_TEAMS:
        raise AccessError.of(
            AccessErrorCode.TOO_MANY_TEAMS,
            _(
                "A member manages at most {limit} teams; got {count}.",
                limit=MAX_MANAGED_TEAMS,
                count=len(team_codes),
            ),
            "teams",
        )
    problems: list[Problem[AccessErrorCode]] = []
    if team_codes:
        found = await access_repository.teams_by_code(conn, tenant_id, [c for c in team_codes if can_be_code(c)])
        problems.extend(
            Problem(AccessErrorCode.UNKNOWN_TEAM, _("No team has the code {code}.", code=code[:64]), f"teams[{i}]", i)
            for i, code in enumerate(team_codes)
            if code not in found
        )
    if staff_code is not None:
        staff = await access_repository.staff_by_code(conn, tenant_id, staff_code) if can_be_code(staff_code) else None
        if staff is not None and principal.role == Role.MANAGER:
            scope = await read_access_scope(conn, tenant_id, principal)
            if not scope.allows_staff(staff.id, staff.team_id):
                staff = None  # outside the manager's scope: as if it did not exist
        if staff is None:
            problems.append(
                Problem(
                    AccessErrorCode.UNKNOWN_STAFF,
                    _("No staff member has the code {code}.", code=staff_code[:64]),
                    "staffCode",
                )
            )
        elif staff.user_id is not None:
            problems.append(
                Problem(
                    AccessErrorCode.STAFF_ALREADY_LINKED,
                    _("Staff member {code} already has another login; unlink it first.", code=staff.code),
                    "staffCode",
                )
            )
    if problems:
        raise AccessError(problems)


async def _revoke_replaced_invitations(
    conn: BaseDBAsyncClient, tenant_id: TenantId, actor: Actor, email: str, at: datetime
) -> None:
    """A new invitation replaces the address's pending one: revoked (its token refused from now on) and audited as
    invitation.revoke, pending before and revoked after, in the inviting unit of work. Read FOR UPDATE: a concurrent
    acceptance waits, then finds it revoked."""
    for invitation in await repository.pending_invitations_for_update(conn, tenant_id, email):
        before = _invitation_state(invitation)
        invitation.revoked_at = at
        await repository.save_invitation_revoked(conn, invitation)
        await _record_invitation(conn, tenant_id, actor, "invitation.revoke", invitation, before)


async def invite_user(
    principal: UserPrincipal,
    redis: Redis,
    email: str,
    role: Role,
    team_codes: Sequence[str] | None = None,
    staff_code: str | None = None,
    *,
    policy: AccountPolicy = DEFAULT_POLICY,
) -> Invitation:
    """A pending invitation (mailed; its token is never answered to the inviter). Teams and the staff record are
    applied when it is accepted. Raises TenancyError or AccessError; rate limited per tenant and per address."""
    tenant_id, inviter = principal.tenant_id, principal.role
    if tenant_id is None or inviter is None:
        raise _role_not_allowed()
    email = normalized_email(email)
    codes = list(team_codes or [])
    _check_invitable(inviter, role, codes)
    await count_attempt(
        redis,
        [
            Limit(limit_key("invite-tenant", tenant_id), policy.invitations_per_tenant, policy.window_seconds),
            Limit(limit_key("invite-email", tenant_id, email), policy.invitations_per_email, policy.window_seconds),
        ],
        "email",
    )
    token = _new_token("inv")
    now = datetime.now(UTC)
    async with tenant_unit_of_work(tenant_id) as conn:
        user = await repository.user_with_email(conn, email)
        if user is not None and await repository.membership_of(conn, user.id) is not None:
            raise TenancyError.of(
                TenancyErrorCode.ALREADY_MEMBER, _("{email} is a member of this tenant already.", email=email), "email"
            )
        await _check_access(conn, tenant_id, principal, codes, staff_code)
        actor = Actor(user_id=principal.user_id)
        await _revoke_replaced_invitations(conn, tenant_id, actor, email, now)
        invitation = await repository.insert_invitation(
            conn,
            tenant_id,
            email=email,
            role=role.value,
            team_codes=codes,
            staff_code=staff_code,
            token_hash=_token_hash(token),
            invited_by_user_id=principal.user_id,
            expires_at=now + policy.invitation_ttl,
        )
        if invitation is None:
            racing = _("{email} was invited at this very moment; try again.", email=email)
            raise TenancyError.of(TenancyErrorCode.DUPLICATE, racing, "email")
        await _record_invitation(conn, tenant_id, actor, "invitation.create", invitation, None)
        _mail_invitation(invitation, token, await repository.tenant_by_id(conn, tenant_id))
    return invitation


async def list_invitations(tenant_id: TenantId, *, pending: bool, page: PageRequest) -> Page[Invitation]:
    """The tenant's invitations, newest first; `pending`: only those that can still be accepted."""
    async with tenant_unit_of_work(tenant_id) as conn:
        return await repository.invitations_page(
            conn, tenant_id, pending_at=datetime.now(UTC) if pending else None, page=page
        )


async def revoke_invitation(principal: UserPrincipal, invitation_id: int | None) -> Invitation:
    """Its token is refused from now on (TOKEN_INVALID). Only a pending invitation can be revoked."""
    tenant_id, _acting = _acting_admin(principal, "id")
    async with tenant_unit_of_work(tenant_id) as conn:
        invitation = (
            await repository.invitation_for_update(conn, tenant_id, invitation_id)
            if invitation_id is not None
            else None
        )
        if invitation is None:
            raise TenancyError.of(TenancyErrorCode.NOT_FOUND, _("No such invitation."), "id")
        if invitation.revoked_at is not None:
            raise TenancyError.of(TenancyErrorCode.ALREADY_REVOKED, _("The invitation was already revoked."), "id")
        if invitation.accepted_at is not None:
            raise TenancyError.of(TenancyErrorCode.TOKEN_USED, _("This invitation was accepted already."), "id")
        before = _invitation_state(invitation)
        invitation.revoked_at = datetime.now(UTC)
        await repository.save_invitation_revoked(conn, invitation)
        await _record_invitation(
            conn, tenant_id, Actor(user_id=principal.user_id), "invitation.revoke", invitation, before
        )
    return invitation


@dataclass(frozen=True)
class AcceptedInvitation:
    tenant: Tenant
    user_id: int
    # False: an existing account joined the tenant (its password proved who accepted).
    created_user: bool
    tokens: TokenPair


async def accept_invitation(
    auth: AuthService, token: str, password: str, display_name: str, address: str
) -> AcceptedInvitation:
    """A new user sets its password; an existing user (the invited address has an account) proves itself with its
    password and gains the membership. Then the invitation's teams and staff record are applied
    (tenants.access.service.apply_member_access), all in one transaction, and the caller is signed in to the tenant."""
    token_hash = _checked_token(token)
    display_name = display_name.strip()
    check_name(display_name, "displayName")
    async with global_unit_of_work() as conn:
        found = await repository.invitation_by_token_hash(conn, token_hash)
    if found is None:
        raise TenancyError.of(TenancyErrorCode.TOKEN_INVALID, TOKEN_INVALID_MESSAGE, "token")
    tenant_id = tenant_id_from_invitation(found.tenant_id)
    now = datetime.now(UTC)
    async with tenant_unit_of_work(tenant_id) as conn:
        invitation = await repository.invitation_for_update(conn, tenant_id, found.id)
        if invitation is None or invitation.revoked_at is not None:
            raise TenancyError.of(TenancyErrorCode.TOKEN_INVALID, TOKEN_INVALID_MESSAGE, "token")
        if invitation.accepted_at is not None:
            raise TenancyError.of(TenancyErrorCode.TOKEN_USED, _("This invitation was accepted already."), "token")
        if invitation.expires_at <= now:
            raise TenancyError.of(
                TenancyErrorCode.TOKEN_EXPIRED, _("This invitation has expired; ask for a new one."), "token"
            )
        tenant = await repository.tenant_by_id(conn, tenant_id)  # answered too: read once
        if tenant.suspended_at is not None:
            raise TenancyError.of(
                TenancyErrorCode.TENANT_SUSPENDED, _("This tenant is suspended; contact the platform operator.")
            )
        user = await repository.user_with_email(conn, invitation.email)
        if user is not None:
            await _verify_own_password(auth, invitation.email, user.password_hash, password, address, "password")
            if await repository.membership_of(conn, user.id) is not None:
                raise TenancyError.of(
                    TenancyErrorCode.ALREADY_MEMBER, _("You are a member of this tenant already."), "token"
                )
            user_id, created = user.id, False
        else:
            check_password(password, email=invitation.email)
            new_user = await repository.insert_user(
                conn,
                email=invitation.email,
                password_hash=hash_password(password),
                display_name=display_name,
                is_platform_operator=False,
            )
            user_id, created = new_user.id, True
        await repository.insert_membership(conn, tenant_id, user_id, invitation.role)
        actor = Actor(user_id=user_id)
        if created:
            await record(conn, tenant_id, actor, "user.create", "user", user_id, None, {"email": invitation.email})
        await record(
            conn,
            tenant_id,
            actor,
            "membership.create",
            "membership",
            user_id,
            None,
            {"email": invitation.email, "role": invitation.role},
        )
        if invitation.team_codes or invitation.staff_code is not None:
            await apply_member_access(
                conn,
                tenant_id,
                actor,
                user_id,
                team_codes=list(invitation.team_codes) or None,
                staff_code=invitation.staff_code,
            )
        before = _invitation_state(invitation)
        invitation.accepted_at, invitation.accepted_user_id = now, user_id
        await repository.save_invitation_accepted(conn, invitation)
        await _record_invitation(conn, tenant_id, actor, "invitation.accept", invitation, before)
    if not created:
        await auth.rate_limiter.record_success(invitation.email, address)
    return AcceptedInvitation(tenant, user_id, created, auth.tokens.issue(user_id, tenant_id))


async def _verify_own_password(
    auth: AuthService, email: str, password_hash: str, password: str, address: str, field: str
) -> None:
    """WRONG_PASSWORD unless `password` is the account's; failures count like failed logins (RATE_LIMITED)."""
    try:
        await auth.rate_limiter.check(email, address)
    except AuthError as error:
        raise TenancyError.of(TenancyErrorCode.RATE_LIMITED, error.message, field) from error
    if not verify_password(password_hash, password):
        await auth.rate_limiter.record_failure(email, address)
        raise TenancyError.of(TenancyErrorCode.WRONG_PASSWORD, _("The password is not this account's."), field)


# --- members --------------------------------------------------------------------------------------------------------


async def list_members(tenant_id: TenantId, page: PageRequest) -> Page[MemberRow]:
    async with tenant_unit_of_work(tenant_id) as conn:
        return await repository.members_page(conn, tenant_id, page)


def _member_state(row: MemberRow) -> dict[str, Any]:
    return {"userId": row.user_id, "email": row.email, "role": row.role}


async def _locked_member(
    conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int | None
) -> tuple[list[int], Membership, MemberRow]:
    """The tenant's owners (their rows locked first: role changes and removals of a tenant are serialised on them),
    the member's membership (locked) and the member as it is; NOT_FOUND on userId when the tenant has no such member."""
    owners = await repository.lock_owners(conn, tenant_id)
    membership = await repository.membership_for_update(conn, tenant_id, user_id) if user_id is not None else None
    member = (
        await repository.member(conn, tenant_id, user_id) if membership is not None and user_id is not None else None
    )
    if membership is None or member is None:
        raise TenancyError.of(TenancyErrorCode.NOT_FOUND, NO_SUCH_MEMBER, "userId")
    return owners, membership, member


async def set_member_role(principal: UserPrincipal, user_id: int | None, role: Role) -> MemberRow:
    """The member's role from the next request on (auth reads it per request). Same role: nothing changes."""
    tenant_id, acting = _acting_admin(principal, "role")
    async with tenant_unit_of_work(tenant_id) as conn:
        owners, membership, before = await _locked_member(conn, tenant_id, user_id)
        current = Role(membership.role)
        if acting != Role.OWNER and Role.OWNER in (current, role):
            raise _role_not_allowed()
        if current == Role.OWNER and role != Role.OWNER and owners == [before.user_id]:
            raise TenancyError.of(TenancyErrorCode.LAST_OWNER, _("A tenant keeps at least one owner."), "role")
        if current != role:
            membership.role = role.value
            await repository.save_role(conn, membership)
            after = replace(before, role=role.value)  # the row just read, with the role just saved
            await record(
                conn,
                tenant_id,
                Actor(user_id=principal.user_id),
                "membership.set_role",
                "membership",
                before.user_id,
                _member_state(before),
                _member_state(after),
            )
            return after
        return before


async def remove_member(principal: UserPrincipal, user_id: int | None) -> MemberRow:
    """The membership goes (its managed teams with it; a linked staff record is unlinked); the member's tokens for
    this tenant stop working at once. Answers the member as it was."""
    tenant_id, acting = _acting_admin(principal, "userId")
    async with tenant_unit_of_work(tenant_id) as conn:
        owners, membership, before = await _locked_member(conn, tenant_id, user_id)
        current = Role(membership.role)
        if acting != Role.OWNER and current == Role.OWNER:
            raise _role_not_allowed("userId")
        if current == Role.OWNER and owners == [before.user_id]:
            raise TenancyError.of(TenancyErrorCode.LAST_OWNER, _("A tenant keeps at least one owner."), "userId")
        await repository.delete_membership(conn, tenant_id, before.user_id)
        await record(
            conn,
            tenant_id,
            Actor(user_id=principal.user_id),
            "membership.remove",
            "membership",
            before.user_id,
            _member_state(before),
            None,
        )
    return before


# --- API keys (audited) --------------------------------------------------------------------------------------------


def _audit_key_changes(tenant_id: TenantId, actor: Actor) -> ApiKeyChange:
    async def audited(
        conn: BaseDBAsyncClient, action: str, key: ApiKey, before: dict[str, Any] | None, after: dict[str, Any]
    ) -> None:
        await record(conn, tenant_id, actor, action, "api_key", key.id, before, after)

    return audited


async def create_api_key(tenant_id: TenantId, actor: Actor, name: str, scopes: list[Scope]) -> CreatedApiKey:
    """tenants.tenancy.service.create_api_key, audited in its unit of work (the key's secret never is)."""
    return await tenancy_service.create_api_key(
        tenant_id, name, scopes, actor.user_id, on_change=_audit_key_changes(tenant_id, actor)
    )


async def revoke_api_key(tenant_id: TenantId, actor: Actor, api_key_id: int) -> ApiKey:
    """tenants.tenancy.service.revoke_api_key, audited in its unit of work."""
    return await tenancy_service.revoke_api_key(tenant_id, api_key_id, on_change=_audit_key_changes(tenant_id, actor))


# --- passwords and sessions -----------------------------------------------------------------------------------------


async def _audit_in_each_tenant(conn: BaseDBAsyncClient, user_id: int, action: str, at: datetime) -> None:
    """A user's change, audited in every tenant the user belongs to (the last statements of the transaction: each
    one scopes it to the next tenant)."""
    for membership in await repository.memberships_of_user(conn, user_id):
        tenant_id = tenant_id_from_membership(membership.tenant_id)
        await repository.scope_to_tenant(conn, tenant_id)
        await record(conn, tenant_id, Actor(user_id=user_id), action, "user", user_id, None, {"sessionsRevokedAt": at})


# Tokens answered after a password change are issued at least this long after the cut-off (iat is a float of seconds:
# its last microsecond is not exact).
_AFTER_CUTOFF = timedelta(milliseconds=1)


async def change_password(
    auth: AuthService, principal: UserPrincipal, current_password: str, new_password: str, address: str
) -> TokenPair:
    """The new password; every other session ends. Answers a new token pair for the caller's session (same family)."""
    check_password(new_password, "newPassword", email=principal.email)
    cutoff = datetime.now(UTC)
    async with global_unit_of_work() as conn:
        user = await repository.active_user_for_update(conn, principal.user_id)
        if user is None:
            raise TenancyError.of(TenancyErrorCode.NOT_FOUND, _("No such user."), "currentPassword")
        await _verify_own_password(auth, user.email, user.password_hash, current_password, address, "currentPassword")
        await repository.save_password(conn, user.id, hash_password(new_password), cutoff)
        await _audit_in_each_tenant(conn, user.id, "user.change_password", cutoff)
    await auth.rate_limiter.record_success(principal.email, address)
    issued = max(datetime.now(UTC), cutoff + _AFTER_CUTOFF)
    return auth.tokens.issue(principal.user_id, principal.tenant_id, now=issued, family=principal.session_family)


async def request_password_reset(
    redis: Redis, email: str, address: str, *, locale: Locale = DEFAULT_LOCALE, policy: AccountPolicy = DEFAULT_POLICY
) -> None:
    """Mails a reset token when the address has an active account; answers the same (nothing, or RATE_LIMITED for
    both alike) when it has none."""
    email = normalized_email(email)
    await count_attempt(
        redis,
        [
            Limit(limit_key("reset-email", email), policy.resets_per_email, policy.window_seconds),
            Limit(limit_key("reset-address", address), policy.resets_per_address, policy.window_seconds),
        ],
        "email",
    )
    token = _new_token("rst")
    expires_at = datetime.now(UTC) + policy.reset_ttl
    async with global_unit_of_work() as conn:
        user = await repository.active_user_with_email(conn, email)
        if user is None:
            return
        await repository.insert_password_reset(conn, user.id, _token_hash(token), expires_at)
        mail = OutgoingMail(
            to=email,
            kind=MailKind.PASSWORD_RESET,
            subject=_("Reset your Kaohe password"),
            body=_(
                "Someone asked to reset the password of this account. If it was you, use this token before {expires}: "
                "{token}. Otherwise ignore this message.",
                expires=expires_at.isoformat(timespec="minutes"),
                token=token,
            ),
            locale=locale,
            data={"token": token},
        )

        async def send() -> None:
            await send_mail(mail)

        after_commit(send)


async def reset_password(auth: AuthService, token: str, password: str) -> None:
    """The new password, with a token mailed by request_password_reset (used up with every other pending one of the
    user); every session of the user ends, and a login lock of the account is lifted."""
    token_hash = _checked_token(token)
    now = datetime.now(UTC)
    async with global_unit_of_work() as conn:
        reset = await repository.password_reset_for_update(conn, token_hash)
        if reset is None:
            raise TenancyError.of(TenancyErrorCode.TOKEN_INVALID, TOKEN_INVALID_MESSAGE, "token")
        if reset.used_at is not None:
            raise TenancyError.of(TenancyErrorCode.TOKEN_USED, _("This reset token was used already."), "token")
        if reset.expires_at <= now:
            raise TenancyError.of(
                TenancyErrorCode.TOKEN_EXPIRED, _("This reset token has expired; ask for a new one."), "token"
            )
        user = await repository.active_user_for_update(conn, reset.user_id)
        if user is None:
            raise TenancyError.of(TenancyErrorCode.TOKEN_INVALID, TOKEN_INVALID_MESSAGE, "token")
        check_password(password, email=user.email)
        await repository.save_password(conn, user.id, hash_password(password), now)
        await repository.use_password_resets(conn, user.id, now)
        await _audit_in_each_tenant(conn, user.id, "user.reset_password", now)
    await auth.rate_limiter.record_success(user.email, "")


async def logout(auth: AuthService, principal: UserPrincipal) -> None:
    """Ends the caller's session: every token of its refresh family, the access token in hand included. Audited in
    the session's tenant (an operator's session outside tenants has no audit log)."""
    await auth.logout(principal)
    if principal.tenant_id is not None:
        async with tenant_unit_of_work(principal.tenant_id) as conn:
            await record(
                conn,
                principal.tenant_id,
                Actor(user_id=principal.user_id),
                "user.logout",
                "user",
                principal.user_id,
                {"signedIn": True},
                {"signedIn": False},
            )
