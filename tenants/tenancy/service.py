"""Tenancy use cases: tenants, users, memberships, API keys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.exceptions import IntegrityError

from tenants.tenancy.auth import Role, Scope, generate_api_key, hash_password
from tenants.tenancy.errors import TenancyError, TenancyErrorCode
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import ApiKey, Membership, Tenant, User
from tenants.tenancy.uow import global_unit_of_work, platform_unit_of_work, tenant_unit_of_work

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
MIN_PASSWORD_LENGTH = 8


def _check_timezone(timezone: str) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TenancyError(TenancyErrorCode.INVALID, f"Unknown timezone {timezone!r}.", "timezone") from exc


async def create_tenant(slug: str, name: str, timezone: str = "Asia/Shanghai", currency: str = "CNY") -> Tenant:
    if not SLUG_PATTERN.match(slug):
        raise TenancyError(
            TenancyErrorCode.INVALID, "Use 2-63 lower-case letters, digits and dashes, starting alphanumeric.", "slug"
        )
    if not name.strip():
        raise TenancyError(TenancyErrorCode.INVALID, "A tenant needs a name.", "name")
    _check_timezone(timezone)
    if currency != "CNY":
        raise TenancyError(TenancyErrorCode.INVALID, "Only CNY is supported for now.", "currency")
    async with platform_unit_of_work():
        if await Tenant.exists(slug=slug):
            raise TenancyError(TenancyErrorCode.DUPLICATE, f"A tenant {slug!r} exists already.", "slug")
        return await Tenant.create(slug=slug, name=name.strip(), timezone=timezone, currency=currency)


async def tenant_by_slug(slug: str) -> Tenant | None:
    async with platform_unit_of_work():
        return await Tenant.get_or_none(slug=slug)


async def get_tenant(tenant_id: TenantId) -> Tenant:
    async with tenant_unit_of_work(tenant_id):
        return await Tenant.get(id=tenant_id)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise TenancyError(
            TenancyErrorCode.INVALID, f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.", "password"
        )


async def create_user(email: str, password: str, display_name: str = "", *, platform_operator: bool = False) -> User:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise TenancyError(TenancyErrorCode.INVALID, "Not an email address.", "email")
    _check_password(password)
    async with global_unit_of_work():
        if await User.exists(email=email):
            raise TenancyError(TenancyErrorCode.DUPLICATE, f"A user {email} exists already.", "email")
        return await User.create(
            email=email,
            password_hash=hash_password(password),
            display_name=display_name,
            is_platform_operator=platform_operator,
        )


async def user_by_email(email: str) -> User | None:
    async with global_unit_of_work():
        return await User.get_or_none(email=email.strip().lower())


async def set_password(user_id: int, password: str) -> None:
    _check_password(password)
    async with global_unit_of_work():
        updated = await User.filter(id=user_id).update(password_hash=hash_password(password))
    if not updated:
        raise TenancyError(TenancyErrorCode.NOT_FOUND, "No such user.", "email")


async def set_platform_operator(user_id: int, platform_operator: bool) -> None:
    async with global_unit_of_work():
        updated = await User.filter(id=user_id).update(is_platform_operator=platform_operator)
    if not updated:
        raise TenancyError(TenancyErrorCode.NOT_FOUND, "No such user.", "email")


async def add_membership(tenant_id: TenantId, user_id: int, role: Role) -> Membership:
    async with tenant_unit_of_work(tenant_id):
        existing = await Membership.get_or_none(user_id=user_id)
        if existing is not None:
            existing.role = role.value
            await existing.save(update_fields=["role"])
            return existing
        return await Membership.create(tenant_id=tenant_id, user_id=user_id, role=role.value)


@dataclass(frozen=True)
class CreatedApiKey:
    api_key: ApiKey
    plaintext: str


async def create_api_key(
    tenant_id: TenantId, name: str, scopes: list[Scope], created_by_user_id: int | None
) -> CreatedApiKey:
    if not name.strip():
        raise TenancyError(TenancyErrorCode.INVALID, "An API key needs a name.", "name")
    if not scopes:
        raise TenancyError(TenancyErrorCode.INVALID, "Give the key at least one scope.", "scopes")
    new_key = generate_api_key()
    async with tenant_unit_of_work(tenant_id):
        try:
            api_key = await ApiKey.create(
                tenant_id=tenant_id,
                name=name.strip(),
                prefix=new_key.prefix,
                secret_hash=new_key.secret_hash,
                scopes=sorted({scope.value for scope in scopes}),
                created_by_user_id=created_by_user_id,
            )
        except IntegrityError as exc:  # a prefix collision: 48 random bits, so practically never
            raise TenancyError(TenancyErrorCode.DUPLICATE, "Please try again.") from exc
    return CreatedApiKey(api_key, new_key.plaintext)


async def list_api_keys(tenant_id: TenantId) -> list[ApiKey]:
    async with tenant_unit_of_work(tenant_id):
        return await ApiKey.filter(tenant_id=tenant_id).order_by("id")


async def revoke_api_key(tenant_id: TenantId, api_key_id: int) -> ApiKey:
    async with tenant_unit_of_work(tenant_id):
        api_key = await ApiKey.filter(tenant_id=tenant_id, id=api_key_id).select_for_update().first()
        if api_key is None:
            raise TenancyError(TenancyErrorCode.NOT_FOUND, "No such API key.", "id")
        if api_key.revoked_at is not None:
            raise TenancyError(TenancyErrorCode.ALREADY_REVOKED, "The key was already revoked.", "id")
        api_key.revoked_at = datetime.now(UTC)
        await api_key.save(update_fields=["revoked_at"])
        return api_key
