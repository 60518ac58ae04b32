"""Tenancy use cases: tenants, users, memberships, API keys.

Input is checked before any write, each refusal a TenancyError naming its field; text never exceeds its column, so
the database never answers a length error of its own. Each entry point opens one unit of work (platform for the
tenant table, global for users, the tenant's for memberships and keys) and runs the statements of
tenants/tenancy/repository.py on it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.db.uow import global_unit_of_work, platform_unit_of_work, tenant_unit_of_work
from tenants.i18n import _
from tenants.tenancy import repository
from tenants.tenancy.auth import Role, Scope, generate_api_key, hash_password
from tenants.tenancy.errors import TenancyError, TenancyErrorCode
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import ApiKey, Membership, Tenant, User
from tenants.tenancy.passwords import check_password

NO_SUCH_USER = _("No such user.")
NO_SUCH_API_KEY = _("No such API key.")
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
# The columns' lengths (models.py).
MAX_NAME_LENGTH = 200
MAX_TIMEZONE_LENGTH = 64
MAX_EMAIL_LENGTH = 320


def _check_timezone(timezone: str) -> None:
    if len(timezone) > MAX_TIMEZONE_LENGTH:
        # Not even looked up: a long key is an OSError ("File name too long") of the file system, not a bad name.
        raise TenancyError.of(
            TenancyErrorCode.INVALID,
            _("A timezone name has at most {max_length} characters.", max_length=MAX_TIMEZONE_LENGTH),
            "timezone",
        )
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TenancyError.of(
            TenancyErrorCode.INVALID, _("Unknown timezone “{timezone}”.", timezone=timezone), "timezone"
        ) from exc


def check_name(name: str, field: str) -> None:
    if len(name.strip()) > MAX_NAME_LENGTH:
        raise TenancyError.of(
            TenancyErrorCode.INVALID,
            _("A name has at most {max_length} characters.", max_length=MAX_NAME_LENGTH),
            field,
        )


def check_new_tenant(slug: str, name: str, timezone: str, currency: str) -> None:
    """The checks of a new tenant's fields made before any I/O (TenancyError naming the field)."""
    if not SLUG_PATTERN.match(slug):
        raise TenancyError.of(
            TenancyErrorCode.INVALID,
            _("Use 2-63 lower-case letters, digits and dashes, starting alphanumeric."),
            "slug",
        )
    if not name.strip():
        raise TenancyError.of(TenancyErrorCode.INVALID, _("A tenant needs a name."), "name")
    check_name(name, "name")
    _check_timezone(timezone)
    if currency != "CNY":
        raise TenancyError.of(TenancyErrorCode.INVALID, _("Only CNY is supported for now."), "currency")


def normalized_email(email: str, field: str = "email") -> str:
    """The address as stored (trimmed, lower-cased); TenancyError INVALID when it cannot be one."""
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or not domain or len(email) > MAX_EMAIL_LENGTH or any(c.isspace() for c in email):
        raise TenancyError.of(TenancyErrorCode.INVALID, _("Not an email address."), field)
    return email


async def create_tenant(slug: str, name: str, timezone: str = "Asia/Shanghai", currency: str = "CNY") -> Tenant:
    check_new_tenant(slug, name, timezone, currency)
    async with platform_unit_of_work() as conn:
        if await repository.tenant_slug_exists(conn, slug):
            raise TenancyError.of(TenancyErrorCode.DUPLICATE, _("A tenant “{slug}” exists already.", slug=slug), "slug")
        return await repository.insert_tenant(conn, slug=slug, name=name.strip(), timezone=timezone, currency=currency)


async def tenant_by_slug(slug: str) -> Tenant | None:
    async with platform_unit_of_work() as conn:
        return await repository.tenant_with_slug(conn, slug)


async def get_tenant(tenant_id: TenantId) -> Tenant:
    async with tenant_unit_of_work(tenant_id) as conn:
        return await repository.tenant_by_id(conn, tenant_id)


async def create_user(email: str, password: str, display_name: str = "", *, platform_operator: bool = False) -> User:
    email = normalized_email(email)
    check_password(password, email=email)
    check_name(display_name, "displayName")
    async with global_unit_of_work() as conn:
        if await repository.user_email_exists(conn, email):
            raise TenancyError.of(
                TenancyErrorCode.DUPLICATE, _("A user “{email}” exists already.", email=email), "email"
            )
        return await repository.insert_user(
            conn,
            email=email,
            password_hash=hash_password(password),
            display_name=display_name,
            is_platform_operator=platform_operator,
        )


async def user_by_email(email: str) -> User | None:
    async with global_unit_of_work() as conn:
        return await repository.user_with_email(conn, email.strip().lower())


async def set_password(user_id: int, password: str) -> None:
    check_password(password)
    async with global_unit_of_work() as conn:
        updated = await repository.update_password_hash(conn, user_id, hash_password(password))
    if not updated:
        raise TenancyError.of(TenancyErrorCode.NOT_FOUND, NO_SUCH_USER, "email")


async def set_platform_operator(user_id: int, platform_operator: bool) -> None:
    async with global_unit_of_work() as conn:
        updated = await repository.update_platform_operator(conn, user_id, platform_operator)
    if not updated:
        raise TenancyError.of(TenancyErrorCode.NOT_FOUND, NO_SUCH_USER, "email")


async def add_membership(tenant_id: TenantId, user_id: int, role: Role) -> Membership:
    async with tenant_unit_of_work(tenant_id) as conn:
        existing = await repository.membership_of(conn, user_id)
        if existing is not None:
            existing.role = role.value
            await repository.save_role(conn, existing)
            return existing
        return await repository.insert_membership(conn, tenant_id, user_id, role.value)


@dataclass(frozen=True)
class CreatedApiKey:
    api_key: ApiKey
    plaintext: str


# Called on the unit of work's connection right after a key changed: (conn, action, key, before, after). The audited
# entry points (tenants/accounts) pass one that writes the audit log (tenancy cannot import audit: audit imports it).
ApiKeyChange = Callable[[BaseDBAsyncClient, str, ApiKey, dict[str, Any] | None, dict[str, Any]], Awaitable[None]]


def api_key_state(api_key: ApiKey) -> dict[str, Any]:
    """What the audit log keeps of a key (never its secret's hash)."""
    return {
        "name": api_key.name,
        "prefix": api_key.prefix,
        "scopes": list(api_key.scopes),
        "revokedAt": api_key.revoked_at,
    }


async def create_api_key(
    tenant_id: TenantId,
    name: str,
    scopes: list[Scope],
    created_by_user_id: int | None,
    *,
    on_change: ApiKeyChange | None = None,
) -> CreatedApiKey:
    if not name.strip():
        raise TenancyError.of(TenancyErrorCode.INVALID, _("An API key needs a name."), "name")
    check_name(name, "name")
    if not scopes:
        raise TenancyError.of(TenancyErrorCode.INVALID, _("Give the key at least one scope."), "scopes")
    new_key = generate_api_key()
    async with tenant_unit_of_work(tenant_id) as conn:
        api_key = await repository.insert_api_key(
            conn,
            tenant_id,
            name=name.strip(),
            prefix=new_key.prefix,
            secret_hash=new_key.secret_hash,
            scopes=sorted({scope.value for scope in scopes}),
            created_by_user_id=created_by_user_id,
        )
        if api_key is None:  # a prefix collision: 48 random bits, so practically never
            raise TenancyError.of(TenancyErrorCode.DUPLICATE, _("Please try again."))
        if on_change is not None:
            await on_change(conn, "api_key.create", api_key, None, api_key_state(api_key))
    return CreatedApiKey(api_key, new_key.plaintext)


async def list_api_keys(tenant_id: TenantId) -> list[ApiKey]:
    async with tenant_unit_of_work(tenant_id) as conn:
        return await repository.api_keys(conn, tenant_id)


async def revoke_api_key(tenant_id: TenantId, api_key_id: int, *, on_change: ApiKeyChange | None = None) -> ApiKey:
    async with tenant_unit_of_work(tenant_id) as conn:
        api_key = await repository.api_key_for_update(conn, tenant_id, api_key_id)
        if api_key is None:
            raise TenancyError.of(TenancyErrorCode.NOT_FOUND, NO_SUCH_API_KEY, "id")
        if api_key.revoked_at is not None:
            raise TenancyError.of(TenancyErrorCode.ALREADY_REVOKED, _("The key was already revoked."), "id")
        before = api_key_state(api_key)
        api_key.revoked_at = datetime.now(UTC)
        await repository.save_revoked_at(conn, api_key)
        if on_change is not None:
            await on_change(conn, "api_key.revoke", api_key, before, api_key_state(api_key))
        return api_key
