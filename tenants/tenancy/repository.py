"""Every statement of the tenancy domain. Each function runs on the connection of the caller's unit of work (never
opens one): which unit of work decides what the statement may see (RLS), so the caller picks it.

- platform_unit_of_work: the tenant table (create, find by slug).
- global_unit_of_work: users, and the SECURITY DEFINER lookups that cross tenants on purpose (a user's memberships,
  an API key by its prefix) before any tenant is known.
- tenant_unit_of_work: memberships, API keys, the tenant's own row (its locale).

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

from tenants.db.uow import set_tenant_sql
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import ApiKey, Membership, Tenant, User

# --- tenants (platform_unit_of_work; get_tenant: the tenant's own unit of work) ------------------------------------


async def tenant_slug_exists(conn: BaseDBAsyncClient, slug: str) -> bool:
    return await Tenant.filter(slug=slug).using_db(conn).exists()


async def insert_tenant(conn: BaseDBAsyncClient, *, slug: str, name: str, timezone: str, currency: str) -> Tenant:
    return await Tenant.create(using_db=conn, slug=slug, name=name, timezone=timezone, currency=currency)


async def tenant_with_slug(conn: BaseDBAsyncClient, slug: str) -> Tenant | None:
    return await Tenant.filter(slug=slug).using_db(conn).get_or_none()


async def tenant_by_id(conn: BaseDBAsyncClient, tenant_id: TenantId) -> Tenant:
    return await Tenant.filter(id=tenant_id).using_db(conn).get()


_LOCALE_OF_TENANT = "SELECT settings->>'locale' AS locale FROM tenant WHERE id = $1"


async def locale_setting(conn: BaseDBAsyncClient, tenant_id: TenantId) -> str | None:
    """The tenant's `settings.locale` as stored (None when unset or when the tenant is not visible)."""
    rows = await conn.execute_query_dict(_LOCALE_OF_TENANT, [int(tenant_id)])
    return rows[0]["locale"] if rows else None


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
    "WITH owner AS (SELECT settings->>'locale' AS locale, suspended_at IS NOT NULL AS suspended "
    "FROM tenant WHERE id = $2), "
    "touched AS (UPDATE api_key SET last_used_at = now() WHERE id = $1 "
    "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute') "
    "AND EXISTS (SELECT 1 FROM owner WHERE NOT suspended) RETURNING id) "
    "SELECT locale, suspended FROM owner"
)


@dataclass(frozen=True, slots=True)
class KeyTenant:
    """What a request by an API key needs of the key's tenant."""

    locale: str | None
    suspended: bool


async def touch_api_key_read_tenant(conn: BaseDBAsyncClient, api_key_id: int, tenant_id: TenantId) -> KeyTenant:
    """Marks the key used (at most once a minute, never for a suspended tenant); the tenant's `settings.locale` as
    stored and whether it is suspended (a tenant not visible here counts as suspended: fail closed)."""
    rows = await conn.execute_query_dict(_TOUCH_KEY_READ_TENANT, [api_key_id, int(tenant_id)])
    if not rows:
        return KeyTenant(locale=None, suspended=True)
    return KeyTenant(locale=rows[0]["locale"], suspended=bool(rows[0]["suspended"]))


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
