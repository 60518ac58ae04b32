"""Every statement of the tenancy domain. Each function runs on the connection of the caller's unit of work (never
opens one): which unit of work decides what the statement may see (RLS), so the caller picks it.

- platform_unit_of_work: the tenant table (create, find by slug, suspend, list).
- global_unit_of_work: users, password resets, and the SECURITY DEFINER lookups that cross tenants on purpose (a
  user's memberships, an API key by its prefix, an invitation by its token's hash) before any tenant is known.
- tenant_unit_of_work: memberships, API keys, invitations, the tenant's own row (its locale).

Access styles: QuerySets for rows of one table; raw SQL only for the SECURITY DEFINER functions and the statements
that do more than one thing at once (the user with its memberships, touching a key while reading the locale).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from tenants.db.paging import Page, PageRequest
from tenants.db.uow import set_tenant_sql
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import ApiKey, Invitation, Membership, PasswordReset, Tenant, User

# --- tenants (platform_unit_of_work; get_tenant: the tenant's own unit of work) ------------------------------------


async def tenant_slug_exists(conn: BaseDBAsyncClient, slug: str) -> bool:
    return await Tenant.filter(slug=slug).using_db(conn).exists()


async def insert_tenant(conn: BaseDBAsyncClient, *, slug: str, name: str, timezone: str, currency: str) -> Tenant:
    return await Tenant.create(using_db=conn, slug=slug, name=name, timezone=timezone, currency=currency)


async def tenant_with_slug(conn: BaseDBAsyncClient, slug: str) -> Tenant | None:
    return await Tenant.filter(slug=slug).using_db(conn).get_or_none()


async def tenant_by_id(conn: BaseDBAsyncClient, tenant_id: TenantId) -> Tenant:
    return await Tenant.filter(id=tenant_id).using_db(conn).get()


_READING_OF_TENANT = "SELECT settings->>'locale' AS locale, timezone FROM tenant WHERE id = $1"


@dataclass(frozen=True, slots=True)
class TenantReading:
    """How the tenant's people read: its `settings.locale` as stored and its timezone (None: unset or not visible)."""

    locale: str | None
    timezone: str | None


async def tenant_reading(conn: BaseDBAsyncClient, tenant_id: TenantId) -> TenantReading:
    rows = await conn.execute_query_dict(_READING_OF_TENANT, [int(tenant_id)])
    return TenantReading(rows[0]["locale"], rows[0]["timezone"]) if rows else TenantReading(None, None)


async def locale_setting(conn: BaseDBAsyncClient, tenant_id: TenantId) -> str | None:
    """The tenant's `settings.locale` as stored (None when unset or when the tenant is not visible)."""
    return (await tenant_reading(conn, tenant_id)).locale


async def scope_to_tenant(conn: BaseDBAsyncClient, tenant_id: TenantId) -> None:
    """From here on the transaction open on `conn` is the tenant's (auth, once it found the caller's membership)."""
    await conn.execute_query(set_tenant_sql(tenant_id))


# --- users (global_unit_of_work) -----------------------------------------------------------------------------------


async def active_user_with_email(conn: BaseDBAsyncClient, email: str) -> User | None:
    return await User.filter(email=email, is_active=True).using_db(conn).get_or_none()


async def user_with_email(conn: BaseDBAsyncClient, email: str) -> User | None:
    return await User.filter(email=email).using_db(conn).get_or_none()


async def user_email_exists(conn: BaseDBAsyncClient, email: str) -> bool:
    return await User.filter(email=email).using_db(conn).exists()


async def insert_user(
    conn: BaseDBAsyncClient, *, email: str, password_hash: str, display_name: str, is_platform_operator: bool
) -> User:
    return await User.create(
        using_db=conn,
        email=email,
        password_hash=password_hash,
        display_name=display_name,
        is_platform_operator=is_platform_operator,
    )


async def update_password_hash(conn: BaseDBAsyncClient, user_id: int, password_hash: str) -> bool:
    """False: no such user."""
    return await User.filter(id=user_id).using_db(conn).update(password_hash=password_hash) > 0


async def update_platform_operator(conn: BaseDBAsyncClient, user_id: int, platform_operator: bool) -> bool:
    """False: no such user."""
    return await User.filter(id=user_id).using_db(conn).update(is_platform_operator=platform_operator) > 0


@dataclass(frozen=True, slots=True)
class MembershipRow:
    tenant_id: int
    tenant_slug: str
    tenant_name: str
    role: str
    tenant_suspended: bool = False
    # When the membership was made: tokens for the tenant issued before it are not this membership's.
    member_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class UserWithMemberships:
    id: int
    email: str
    is_platform_operator: bool
    memberships: tuple[MembershipRow, ...]
    sessions_revoked_at: datetime | None = None


async def memberships_of_user(conn: BaseDBAsyncClient, user_id: int) -> list[MembershipRow]:
    """The user's memberships across tenants (SECURITY DEFINER: RLS would hide the other tenants' rows)."""
    rows = await conn.execute_query_dict("SELECT * FROM kaohe_user_memberships($1)", [user_id])
    return [_membership_row(row) for row in rows]


# An active user and its memberships (none: one row of NULL membership columns), in the order of memberships_of_user.
_USER_WITH_MEMBERSHIPS = """
SELECT u.id, u.email, u.is_platform_operator, u.sessions_revoked_at,
       m.tenant_id, m.tenant_slug, m.tenant_name, m.role, m.tenant_suspended, m.member_since
FROM "user" u LEFT JOIN LATERAL kaohe_user_memberships(u.id) m ON true
WHERE u.id = $1 AND u.is_active
ORDER BY m.tenant_id
"""


async def active_user_with_memberships(conn: BaseDBAsyncClient, user_id: int) -> UserWithMemberships | None:
    """The active user and its memberships in one statement (None: no such active user)."""
    rows = await conn.execute_query_dict(_USER_WITH_MEMBERSHIPS, [user_id])
    if not rows:
        return None
    user = rows[0]
    return UserWithMemberships(
        id=user["id"],
        email=user["email"],
        is_platform_operator=user["is_platform_operator"],
        memberships=tuple(_membership_row(row) for row in rows if row["tenant_id"] is not None),
        sessions_revoked_at=user["sessions_revoked_at"],
    )


def _membership_row(row: dict[str, Any]) -> MembershipRow:
    return MembershipRow(
        row["tenant_id"],
        row["tenant_slug"],
        row["tenant_name"],
        row["role"],
        tenant_suspended=bool(row["tenant_suspended"]),
        member_since=row["member_since"],
    )


# --- memberships (tenant_unit_of_work) -----------------------------------------------------------------------------


async def membership_of(conn: BaseDBAsyncClient, user_id: int) -> Membership | None:
    """The user's membership in the unit of work's tenant (RLS scopes the lookup)."""
    return await Membership.filter(user_id=user_id).using_db(conn).get_or_none()


async def insert_membership(conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int, role: str) -> Membership:
    return await Membership.create(using_db=conn, tenant_id=tenant_id, user_id=user_id, role=role)


async def save_role(conn: BaseDBAsyncClient, membership: Membership) -> None:
    await membership.save(using_db=conn, update_fields=["role"])


# --- API keys (global_unit_of_work for the lookup by prefix, tenant_unit_of_work for the rest) ---------------------


@dataclass(frozen=True, slots=True)
class ApiKeyCredentials:
    """What authenticating a key needs of its row, found by prefix before its tenant is known."""

    id: int
    tenant_id: int
    secret_hash: str
    scopes: list[str]
    revoked_at: datetime | None


async def api_key_by_prefix(conn: BaseDBAsyncClient, prefix: str) -> ApiKeyCredentials | None:
    """SECURITY DEFINER: the key's tenant is what the lookup finds out."""
    rows = await conn.execute_query_dict("SELECT * FROM kaohe_api_key_by_prefix($1)", [prefix])
    if not rows:
        return None
    row = rows[0]
    return ApiKeyCredentials(
        id=row["id"],
        tenant_id=row["tenant_id"],
        secret_hash=row["secret_hash"],
        # asyncpg returns jsonb as text. tenants.db.codecs.json_value is not used: tenants.db imports tenancy.identity,
        # so tenancy -> db would be an import cycle between the domains (the acyclic-domains contract).
        scopes=list(json.loads(row["scopes"]) if isinstance(row["scopes"], str) else row["scopes"]),
        revoked_at=row["revoked_at"],
    )


# Throttled so a busy integration does not write the row on every call; the tenant's locale and suspension come with
# the same statement (a data-modifying CTE runs whether or not its rows are read). A suspended tenant's key is refused,
# so it is not marked used.
_TOUCH_KEY_READ_TENANT = (
    "WITH owner AS (SELECT settings->>'locale' AS locale, timezone, suspended_at IS NOT NULL AS suspended "
    "FROM tenant WHERE id = $2), "
    "touched AS (UPDATE api_key SET last_used_at = now() WHERE id = $1 "
    "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute') "
    "AND EXISTS (SELECT 1 FROM owner WHERE NOT suspended) RETURNING id) "
    "SELECT locale, timezone, suspended FROM owner"
)


@dataclass(frozen=True, slots=True)
class KeyTenant:
    """What a request by an API key needs of the key's tenant."""

    locale: str | None
    suspended: bool
    timezone: str | None = None


async def touch_api_key_read_tenant(conn: BaseDBAsyncClient, api_key_id: int, tenant_id: TenantId) -> KeyTenant:
    """Marks the key used (at most once a minute, never for a suspended tenant); the tenant's `settings.locale` as
    stored and whether it is suspended (a tenant not visible here counts as suspended: fail closed)."""
    rows = await conn.execute_query_dict(_TOUCH_KEY_READ_TENANT, [api_key_id, int(tenant_id)])
    if not rows:
        return KeyTenant(locale=None, suspended=True)
    row = rows[0]
    return KeyTenant(locale=row["locale"], suspended=bool(row["suspended"]), timezone=row["timezone"])


async def insert_api_key(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    *,
    name: str,
    prefix: str,
    secret_hash: str,
    scopes: list[str],
    created_by_user_id: int | None,
) -> ApiKey | None:
    """The new key; None when its prefix is taken (the transaction is then aborted: the caller must give up)."""
    try:
        return await ApiKey.create(
            using_db=conn,
            tenant_id=tenant_id,
            name=name,
            prefix=prefix,
            secret_hash=secret_hash,
            scopes=scopes,
            created_by_user_id=created_by_user_id,
        )
    except IntegrityError:
        return None


async def api_keys(conn: BaseDBAsyncClient, tenant_id: TenantId) -> list[ApiKey]:
    return await ApiKey.filter(tenant_id=tenant_id).using_db(conn).order_by("id")


async def api_key_for_update(conn: BaseDBAsyncClient, tenant_id: TenantId, api_key_id: int) -> ApiKey | None:
    return await ApiKey.filter(tenant_id=tenant_id, id=api_key_id).using_db(conn).select_for_update().first()


async def save_revoked_at(conn: BaseDBAsyncClient, api_key: ApiKey) -> None:
    await api_key.save(using_db=conn, update_fields=["revoked_at"])


# --- suspension (any unit of work that sees the tenant's row: its own, or the platform's) --------------------------


async def tenant_suspension(conn: BaseDBAsyncClient, tenant_id: int) -> tuple[bool, datetime | None]:
    """(visible, suspended_at): whether the tenant's row is visible on `conn`, and when it was suspended (None: it is
    active)."""
    rows = await conn.execute_query_dict("SELECT suspended_at FROM tenant WHERE id = $1", [int(tenant_id)])
    if not rows:
        return False, None
    return True, rows[0]["suspended_at"]


# --- tenants as a platform operator sees them (platform_unit_of_work) ----------------------------------------------


async def tenant_for_update(conn: BaseDBAsyncClient, tenant_id: int) -> Tenant | None:
    return await Tenant.filter(id=tenant_id).using_db(conn).select_for_update().first()


async def save_suspended_at(conn: BaseDBAsyncClient, tenant: Tenant) -> None:
    await tenant.save(using_db=conn, update_fields=["suspended_at"])


async def tenants_page(conn: BaseDBAsyncClient, *, suspended: bool | None, page: PageRequest) -> Page[Tenant]:
    """Tenants by id (oldest first); `suspended` keeps only suspended (True) or active (False) ones."""
    query = Tenant.all().using_db(conn)
    if suspended is not None:
        query = query.filter(suspended_at__isnull=not suspended)
    total = await query.count()
    items = await query.order_by("id").offset(page.offset).limit(page.limit)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


# --- invitations (tenant_unit_of_work; the lookup by token hash: global_unit_of_work) ------------------------------


async def insert_invitation(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    *,
    email: str,
    role: str,
    team_codes: list[str],
    staff_code: str | None,
    token_hash: str,
    invited_by_user_id: int | None,
    expires_at: datetime,
) -> Invitation | None:
    """The new invitation; None when a concurrent one of the same address won the race (the unique index on pending
    invitations; the transaction is then aborted: the caller must give up)."""
    try:
        return await Invitation.create(
            using_db=conn,
            tenant_id=tenant_id,
            email=email,
            role=role,
            team_codes=team_codes,
            staff_code=staff_code,
            token_hash=token_hash,
            invited_by_user_id=invited_by_user_id,
            expires_at=expires_at,
        )
    except IntegrityError:
        return None


async def pending_invitations_for_update(conn: BaseDBAsyncClient, tenant_id: TenantId, email: str) -> list[Invitation]:
    """The address's pending invitations (a new one replaces them), locked: a concurrent acceptance waits."""
    return await (
        Invitation.filter(tenant_id=tenant_id, email=email, accepted_at__isnull=True, revoked_at__isnull=True)
        .using_db(conn)
        .select_for_update()
        .order_by("id")
    )


@dataclass(frozen=True, slots=True)
class InvitationRef:
    id: int
    tenant_id: int


async def invitation_by_token_hash(conn: BaseDBAsyncClient, token_hash: str) -> InvitationRef | None:
    """SECURITY DEFINER: the invitation's tenant is what the lookup finds out (only its id and tenant are answered)."""
    rows = await conn.execute_query_dict("SELECT * FROM kaohe_invitation_by_token_hash($1)", [token_hash])
    return InvitationRef(rows[0]["id"], rows[0]["tenant_id"]) if rows else None


async def invitation_for_update(conn: BaseDBAsyncClient, tenant_id: TenantId, invitation_id: int) -> Invitation | None:
    return await Invitation.filter(tenant_id=tenant_id, id=invitation_id).using_db(conn).select_for_update().first()


async def invitations_page(
    conn: BaseDBAsyncClient, tenant_id: TenantId, *, pending_at: datetime | None, page: PageRequest
) -> Page[Invitation]:
    """The tenant's invitations, newest first; `pending_at`: only those still acceptable at that instant."""
    query = Invitation.filter(tenant_id=tenant_id).using_db(conn)
    if pending_at is not None:
        query = query.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=pending_at)
    total = await query.count()
    items = await query.order_by("-created_at", "-id").offset(page.offset).limit(page.limit)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


async def save_invitation_revoked(conn: BaseDBAsyncClient, invitation: Invitation) -> None:
    await invitation.save(using_db=conn, update_fields=["revoked_at"])


async def save_invitation_accepted(conn: BaseDBAsyncClient, invitation: Invitation) -> None:
    await invitation.save(using_db=conn, update_fields=["accepted_at", "accepted_user_id"])


# --- members (tenant_unit_of_work) ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberRow:
    user_id: int
    email: str
    display_name: str
    role: str
    since: datetime


def _member_row(row: dict[str, Any]) -> MemberRow:
    return MemberRow(row["user_id"], row["email"], row["display_name"], row["role"], row["created_at"])


_MEMBERS = """
SELECT m.user_id, u.email, u.display_name, m.role, m.created_at, count(*) OVER () AS total
FROM membership m JOIN "user" u ON u.id = m.user_id
WHERE m.tenant_id = $1
ORDER BY u.email, m.user_id
LIMIT $2 OFFSET $3
"""


async def members_page(conn: BaseDBAsyncClient, tenant_id: TenantId, page: PageRequest) -> Page[MemberRow]:
    """The tenant's members by email; one statement (a window count), a second only for a page past the end."""
    rows = await conn.execute_query_dict(_MEMBERS, [int(tenant_id), page.limit, page.offset])
    if rows:
        total = int(rows[0]["total"])
    else:
        total = await Membership.filter(tenant_id=tenant_id).using_db(conn).count()
    items = [_member_row(row) for row in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


async def member(conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int) -> MemberRow | None:
    rows = await conn.execute_query_dict(
        'SELECT m.user_id, u.email, u.display_name, m.role, m.created_at FROM membership m JOIN "user" u '
        "ON u.id = m.user_id WHERE m.tenant_id = $1 AND m.user_id = $2",
        [int(tenant_id), user_id],
    )
    return _member_row(rows[0]) if rows else None


async def lock_owners(conn: BaseDBAsyncClient, tenant_id: TenantId) -> list[int]:
    """Locks the tenant's owner memberships (role changes and removals of one tenant are serialised on them) and
    answers the owners' user ids as they are once the lock is held."""
    rows = await conn.execute_query_dict(
        "SELECT user_id FROM membership WHERE tenant_id = $1 AND role = 'owner' ORDER BY id FOR UPDATE",
        [int(tenant_id)],
    )
    return [row["user_id"] for row in rows]


async def membership_for_update(conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int) -> Membership | None:
    return await Membership.filter(tenant_id=tenant_id, user_id=user_id).using_db(conn).select_for_update().first()


async def delete_membership(conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int) -> None:
    """Its managed teams go with it (cascade); a linked staff record is unlinked (access's foreign key)."""
    await Membership.filter(tenant_id=tenant_id, user_id=user_id).using_db(conn).delete()


# --- users' passwords and sessions (global_unit_of_work) -----------------------------------------------------------


async def active_user_for_update(conn: BaseDBAsyncClient, user_id: int) -> User | None:
    return await User.filter(id=user_id, is_active=True).using_db(conn).select_for_update().first()


async def save_password(
    conn: BaseDBAsyncClient, user_id: int, password_hash: str, sessions_revoked_at: datetime
) -> None:
    """The new password; every token issued before `sessions_revoked_at` is refused from now on."""
    await (
        User.filter(id=user_id)
        .using_db(conn)
        .update(password_hash=password_hash, sessions_revoked_at=sessions_revoked_at)
    )


async def insert_password_reset(
    conn: BaseDBAsyncClient, user_id: int, token_hash: str, expires_at: datetime
) -> PasswordReset:
    return await PasswordReset.create(using_db=conn, user_id=user_id, token_hash=token_hash, expires_at=expires_at)


async def password_reset_for_update(conn: BaseDBAsyncClient, token_hash: str) -> PasswordReset | None:
    return await PasswordReset.filter(token_hash=token_hash).using_db(conn).select_for_update().first()


async def use_password_resets(conn: BaseDBAsyncClient, user_id: int, at: datetime) -> None:
    """Every unused reset token of the user is used up (the one just used and any older one still in a mailbox)."""
    await PasswordReset.filter(user_id=user_id, used_at__isnull=True).using_db(conn).update(used_at=at)
