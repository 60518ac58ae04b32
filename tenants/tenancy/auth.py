"""Authentication: passwords (argon2), access/refresh tokens (JWT), API keys, login rate limiting (Redis).

This module is where a caller becomes a Principal; it is also the only producer of TenantIds for requests. Its reads
go through tenants/tenancy/repository.py, each way in (login, refresh, a token, an API key) in its own units of work.
It reads the process's settings only through `AuthSettings` (what authentication needs of them): the domain never
imports the app's settings (server.settings.Settings satisfies the protocol).
A principal of a tenant carries the tenant's locale and timezone, read in the same transaction that checks the
membership (or the API key), so that every message and time of the request is shown in them without another query.

Every authenticated request and every refresh is checked against the current state, not the token's: the user is
active, still a member of the token's tenant (a membership made after the token was issued does not revive it), the
tenant is not suspended (TENANT_SUSPENDED, the same for its API keys), the user's sessions were not revoked after the
token was issued (a password change or reset: TOKEN_REVOKED), and the token's refresh family was not revoked (logout,
or a replayed refresh token: TOKEN_REVOKED). The family is a `fam` claim that a refresh keeps, so one sign-in is one
family however often it rotates; revoked families are Redis keys that live as long as a refresh token can.
`iat` carries sub-second precision (a NumericDate may be fractional) so "issued before" is exact.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import SecretStr
from redis.asyncio import Redis

from tenants.db.uow import global_unit_of_work, tenant_unit_of_work
from tenants.i18n import Locale, _, parse_locale
from tenants.tenancy import repository
from tenants.tenancy.errors import AuthError, AuthErrorCode
from tenants.tenancy.identity import TenantId, tenant_id_from_membership
from tenants.tenancy.locale import read_tenant_reading

JWT_ALGORITHM = "HS256"
API_KEY_MARKER = "kh_"
_password_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" equal to "wrong password" (no account enumeration).
_DUMMY_HASH = _password_hasher.hash("not-a-real-password")


class AuthSettings(Protocol):
    """What authentication needs of the process's settings (the app passes its own; server.settings.Settings has
    every one of these)."""

    @property
    def secret_key(self) -> SecretStr: ...

    @property
    def access_token_minutes(self) -> int: ...

    @property
    def refresh_token_days(self) -> int: ...

    @property
    def login_max_failures_per_account(self) -> int: ...

    @property
    def login_max_failures_per_address(self) -> int: ...

    @property
    def login_failure_window_seconds(self) -> int: ...


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    STAFF = "staff"


ROLE_RANK = {Role.STAFF: 1, Role.MANAGER: 2, Role.ADMIN: 3, Role.OWNER: 4}


class Scope(StrEnum):
    EVENTS_WRITE = "events:write"
    EVENTS_READ = "events:read"
    STAFF_WRITE = "staff:write"
    STAFF_READ = "staff:read"
    TENANT_READ = "tenant:read"


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Membership:
    tenant_id: int
    tenant_slug: str
    tenant_name: str
    role: Role
    # A suspended tenant's members cannot sign in to it (TENANT_SUSPENDED).
    suspended: bool = False


@dataclass(frozen=True)
class UserPrincipal:
    user_id: int
    email: str
    is_platform_operator: bool
    tenant_id: TenantId | None
    role: Role | None
    memberships: tuple[Membership, ...] = ()
    # The tenant's locale when signed in to one; without a tenant the request's Accept-Language decides.
    locale: Locale | None = None
    # The tenant's timezone (IANA name), read with the locale: times are shown with its UTC offset.
    timezone: str | None = None
    # The refresh-token family of the session (logout revokes it); None for tokens issued before families existed.
    session_family: str | None = None

    def has_role(self, minimum: Role) -> bool:
        return self.role is not None and ROLE_RANK[self.role] >= ROLE_RANK[minimum]


@dataclass(frozen=True)
class ApiKeyPrincipal:
    api_key_id: int
    tenant_id: TenantId
    scopes: frozenset[str] = field(default_factory=frozenset)
    locale: Locale | None = None  # the tenant's
    timezone: str | None = None  # the tenant's


Principal = UserPrincipal | ApiKeyPrincipal
UNAUTHENTICATED_MESSAGE = _("Sign in or send an API key.")


def check_tenant_access(principal: Principal | None, role: Role, scope: Scope | None = None) -> TenantId:
    """A tenant member with at least `role`, or an API key of the tenant holding `scope` (when one is accepted)."""
    if principal is None:
        raise AuthError.of(AuthErrorCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE)
    if isinstance(principal, ApiKeyPrincipal):
        if scope is None:
            raise AuthError.of(AuthErrorCode.FORBIDDEN, _("API keys cannot do this; sign in as a user."))
        if scope.value not in principal.scopes:
            raise AuthError.of(
                AuthErrorCode.MISSING_SCOPE, _("The API key lacks the scope {scope}.", scope=scope.value)
            )
        return principal.tenant_id
    if principal.tenant_id is None:
        raise AuthError.of(AuthErrorCode.NO_TENANT, _("Sign in to a tenant first."))
    if not principal.has_role(role):
        raise AuthError.of(AuthErrorCode.FORBIDDEN, _("This needs the {role} role or higher.", role=role.value))
    return principal.tenant_id


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    family: str = ""


def _membership(row: repository.MembershipRow) -> Membership:
    return Membership(row.tenant_id, row.tenant_slug, row.tenant_name, Role(row.role), row.tenant_suspended)


TENANT_SUSPENDED_MESSAGE = _("This tenant is suspended; contact the platform operator.")
TOKEN_REVOKED_MESSAGE = _("This session has ended; sign in again.")


async def memberships_of(user_id: int) -> tuple[Membership, ...]:
    async with global_unit_of_work() as conn:
        rows = await repository.memberships_of_user(conn, user_id)
    return tuple(_membership(row) for row in rows)


def _choose_membership(memberships: tuple[Membership, ...], tenant_slug: str | None) -> Membership | None:
    """The named tenant's membership; without a name the first tenant that is not suspended (else the first)."""
    if tenant_slug is None:
        active = [m for m in memberships if not m.suspended]
        return active[0] if active else (memberships[0] if memberships else None)
    return next((m for m in memberships if m.tenant_slug == tenant_slug), None)


class LoginRateLimiter:
    """Fixed-window counters of failed logins per account and per client address."""

    def __init__(self, redis: Redis, settings: AuthSettings) -> None:
        self._redis = redis
        self._settings = settings

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        return f"kaohe:login-fail:acct:{email}", f"kaohe:login-fail:addr:{address}"

    async def check(self, email: str, address: str) -> None:
        account_key, address_key = self._keys(email, address)
        account_failures, address_failures = await self._redis.mget([account_key, address_key])
        if (
            int(account_failures or 0) >= self._settings.login_max_failures_per_account
            or int(address_failures or 0) >= self._settings.login_max_failures_per_address
        ):
            raise AuthError.of(AuthErrorCode.RATE_LIMITED, _("Too many failed login attempts; try again later."))

    async def record_failure(self, email: str, address: str) -> None:
        window = self._settings.login_failure_window_seconds
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in self._keys(email, address):
                pipe.incr(key)
                pipe.expire(key, window, nx=True)
            await pipe.execute()

    async def record_success(self, email: str, address: str) -> None:
        await self._redis.delete(self._keys(email, address)[0])


def could_be_token(text: str) -> bool:
    """Whether `text` can be a token we issued: JWTs and API keys are printable ASCII (base64url, hex). Anything else
    (a NUL, a lone surrogate, which a websocket's JSON payload carries as is) is refused before it is encoded, hashed
    or sent to the database, where it would be an uncoded failure."""
    return text.isascii() and text.isprintable()


def _family_key(family: str) -> str:
    return f"kaohe:refresh-family-revoked:{family}"


def issued_at(claims: dict[str, Any]) -> datetime:
    """When a decoded token was issued (to the microsecond for tokens of this version)."""
    return datetime.fromtimestamp(float(claims["iat"]), UTC)


class TokenService:
    def __init__(self, settings: AuthSettings, redis: Redis) -> None:
        self._settings = settings
        self._redis = redis
        self._secret = settings.secret_key.get_secret_value()

    def issue(
        self, user_id: int, tenant_id: int | None, now: datetime | None = None, family: str | None = None
    ) -> TokenPair:
        """A new access/refresh pair; `family`: the session's refresh family (a refresh keeps it), new when None."""
        now = now or datetime.now(UTC)
        family = family or uuid.uuid4().hex
        access_exp = now + timedelta(minutes=self._settings.access_token_minutes)
        refresh_exp = now + timedelta(days=self._settings.refresh_token_days)
        base = {"sub": str(user_id), "tid": tenant_id, "iat": now.timestamp(), "fam": family}
        access = jwt.encode({**base, "typ": "access", "exp": access_exp}, self._secret, algorithm=JWT_ALGORITHM)
        refresh = jwt.encode(
            {**base, "typ": "refresh", "exp": refresh_exp, "jti": uuid.uuid4().hex},
            self._secret,
            algorithm=JWT_ALGORITHM,
        )
        return TokenPair(access, refresh, access_exp, refresh_exp, family)

    async def revoke_family(self, family: str) -> None:
        """No token of the family is accepted any more (kept as long as its longest-lived refresh token)."""
        await self._redis.set(_family_key(family), "1", ex=self._settings.refresh_token_days * 86400)

    async def check_family(self, claims: dict[str, Any]) -> None:
        family = claims.get("fam")
        if isinstance(family, str) and await self._redis.exists(_family_key(family)):
            raise AuthError.of(AuthErrorCode.TOKEN_REVOKED, TOKEN_REVOKED_MESSAGE)

    def decode(self, token: str, expected_type: str) -> dict[str, Any]:
        if not could_be_token(token):
            raise AuthError.of(AuthErrorCode.TOKEN_INVALID, _("The token is not valid."))
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._secret, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub", "typ"]}
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError.of(AuthErrorCode.TOKEN_EXPIRED, _("The token has expired.")) from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError.of(AuthErrorCode.TOKEN_INVALID, _("The token is not valid.")) from exc
        if claims.get("typ") != expected_type:
            raise AuthError.of(
                AuthErrorCode.TOKEN_INVALID,
                _("Expected an access token.") if expected_type == "access" else _("Expected a refresh token."),
            )
        return claims

    async def consume_refresh(self, token: str) -> dict[str, Any]:
        """Refresh tokens rotate: each is accepted once. A replay is refused and ends its whole family: either the
        replayer or the rightful holder has a stolen copy, and neither can tell which."""
        claims = self.decode(token, "refresh")
        await self.check_family(claims)
        remaining = max(int(claims["exp"] - datetime.now(UTC).timestamp()), 1)
        first_use = await self._redis.set(f"kaohe:refresh-used:{claims['jti']}", "1", nx=True, ex=remaining)
        if not first_use:
            if isinstance(claims.get("fam"), str):
                await self.revoke_family(claims["fam"])
            raise AuthError.of(AuthErrorCode.REFRESH_TOKEN_REUSED, _("This refresh token was already used."))
        return claims


class AuthService:
    def __init__(self, settings: AuthSettings, redis: Redis) -> None:
        self.tokens = TokenService(settings, redis)
        self.rate_limiter = LoginRateLimiter(redis, settings)

    async def login(self, email: str, password: str, tenant_slug: str | None, address: str) -> TokenPair:
        email = email.strip().lower()
        await self.rate_limiter.check(email, address)
        async with global_unit_of_work() as conn:
            user = await repository.active_user_with_email(conn, email)
        if not verify_password(user.password_hash if user else _DUMMY_HASH, password) or user is None:
            await self.rate_limiter.record_failure(email, address)
            raise AuthError.of(AuthErrorCode.INVALID_CREDENTIALS, _("Wrong email or password."))
        membership = _choose_membership(await memberships_of(user.id), tenant_slug)
        if membership is None and (tenant_slug is not None or not user.is_platform_operator):
            await self.rate_limiter.record_failure(email, address)
            raise AuthError.of(AuthErrorCode.NOT_A_MEMBER, NOT_A_MEMBER_MESSAGE)
        if membership is not None and membership.suspended:
            if tenant_slug is not None or not user.is_platform_operator:
                raise AuthError.of(AuthErrorCode.TENANT_SUSPENDED, TENANT_SUSPENDED_MESSAGE)
            membership = None  # an operator whose only tenants are suspended signs in outside tenants
        await self.rate_limiter.record_success(email, address)
        return self.tokens.issue(user.id, membership.tenant_id if membership else None)

    async def refresh(self, refresh_token: str) -> TokenPair:
        claims = await self.tokens.consume_refresh(refresh_token)
        principal = await self._user_principal(claims)
        return self.tokens.issue(principal.user_id, principal.tenant_id, family=principal.session_family)

    async def authenticate(self, bearer: str) -> Principal:
        if bearer.startswith(API_KEY_MARKER):
            return await authenticate_api_key(bearer)
        return await self.principal_from_claims(self.tokens.decode(bearer, "access"))

    async def principal_from_claims(self, claims: dict[str, Any]) -> UserPrincipal:
        """The principal of decoded access-token claims (sub, tid, iat, fam; a console session keeps them), checked
        exactly like a bearer token on each request: refresh family, user, membership, suspension, revocation."""
        # The family (Redis) and the account (Postgres) are checked side by side: one round trip of latency, not two.
        family, principal = await asyncio.gather(
            self.tokens.check_family(claims), self._user_principal(claims), return_exceptions=True
        )
        for outcome in (family, principal):
            if isinstance(outcome, BaseException):
                raise outcome  # the family's refusal first: a revoked session says so whatever else is true
        assert isinstance(principal, UserPrincipal)
        return principal

    async def logout(self, principal: UserPrincipal) -> None:
        """Ends the principal's session: its refresh family (every token of this sign-in, rotated or not)."""
        if principal.session_family is not None:
            await self.tokens.revoke_family(principal.session_family)

    async def _user_principal(self, claims: dict[str, Any]) -> UserPrincipal:
        """Checked on every request and refresh: a removed member, a suspended tenant, revoked sessions lose access at
        once, not at token expiry.

        One transaction: the user with its memberships (and each tenant's suspension) in one statement, then (a member
        of the token's tenant) the tenant's locale.
        """
        user_id, tenant_id, issued = int(claims["sub"]), claims.get("tid"), issued_at(claims)
        async with global_unit_of_work() as conn:
            user = await repository.active_user_with_memberships(conn, user_id)
            if user is None:
                raise AuthError.of(AuthErrorCode.TOKEN_INVALID, _("The account no longer exists."))
            if user.sessions_revoked_at is not None and issued < user.sessions_revoked_at:
                raise AuthError.of(AuthErrorCode.TOKEN_REVOKED, TOKEN_REVOKED_MESSAGE)
            rows = {row.tenant_id: row for row in user.memberships}
            memberships = tuple(_membership(row) for row in user.memberships)
            membership = next((m for m in memberships if m.tenant_id == tenant_id), None)
            if tenant_id is not None and membership is None:
                raise AuthError.of(AuthErrorCode.NOT_A_MEMBER, NOT_A_MEMBER_MESSAGE)
            if membership is not None:
                since = rows[membership.tenant_id].member_since
                if since is not None and issued < since:
                    # Issued for an earlier membership that was removed: a new invitation does not revive it.
                    raise AuthError.of(AuthErrorCode.TOKEN_REVOKED, TOKEN_REVOKED_MESSAGE)
                if membership.suspended:
                    raise AuthError.of(AuthErrorCode.TENANT_SUSPENDED, TENANT_SUSPENDED_MESSAGE)
            member_of = tenant_id_from_membership(membership.tenant_id) if membership else None
            reading = await read_tenant_reading(conn, member_of) if member_of is not None else None
        family = claims.get("fam")
        return UserPrincipal(
            user_id=user.id,
            email=user.email,
            is_platform_operator=user.is_platform_operator,
            tenant_id=member_of,
            role=membership.role if membership else None,
            memberships=memberships,
            locale=parse_locale(reading.locale) if reading is not None else None,
            timezone=reading.timezone if reading is not None else None,
            session_family=family if isinstance(family, str) else None,
        )


NOT_A_MEMBER_MESSAGE = _("This account has no access to that tenant.")


# --- API keys -------------------------------------------------------------------------------------------------------
# Format: kh_<prefix>_<secret>. The prefix finds the row; the secret has 256 random bits, so a fast SHA-256 is as safe
# as a slow password hash here (nothing to brute force) and keeps per-request authentication cheap.


@dataclass(frozen=True)
class NewApiKey:
    prefix: str
    secret_hash: str
    plaintext: str


def generate_api_key() -> NewApiKey:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewApiKey(prefix, _hash_secret(secret), f"{API_KEY_MARKER}{prefix}_{secret}")


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def authenticate_api_key(plaintext: str) -> ApiKeyPrincipal:
    if not could_be_token(plaintext):
        raise AuthError.of(AuthErrorCode.API_KEY_INVALID, _API_KEY_INVALID_MESSAGE)
    try:
        prefix, secret = plaintext.removeprefix(API_KEY_MARKER).split("_", 1)
    except ValueError as exc:
        raise AuthError.of(AuthErrorCode.API_KEY_INVALID, _API_KEY_INVALID_MESSAGE) from exc
    async with global_unit_of_work() as conn:
        key = await repository.api_key_by_prefix(conn, prefix)
    if key is None or not hmac.compare_digest(key.secret_hash, _hash_secret(secret)):
        raise AuthError.of(AuthErrorCode.API_KEY_INVALID, _API_KEY_INVALID_MESSAGE)
    if key.revoked_at is not None:
        raise AuthError.of(AuthErrorCode.API_KEY_REVOKED, _("The API key was revoked."))
    tenant_id = tenant_id_from_membership(key.tenant_id)
    async with tenant_unit_of_work(tenant_id) as conn:
        owner = await repository.touch_api_key_read_tenant(conn, key.id, tenant_id)
    if owner.suspended:
        raise AuthError.of(AuthErrorCode.TENANT_SUSPENDED, TENANT_SUSPENDED_MESSAGE)
    return ApiKeyPrincipal(
        api_key_id=key.id,
        tenant_id=tenant_id,
        scopes=frozenset(key.scopes),
        locale=parse_locale(owner.locale),
        timezone=owner.timezone,
    )


_API_KEY_INVALID_MESSAGE = _("The API key is not valid.")
