"""Expected failures of the tenancy domain, in the one error model (tenants/errors.py).

Auth failures (AuthError) refuse a caller; tenancy failures (TenancyError) refuse a use case's input. Both carry one
Problem: a code of their enum (a public contract: never renamed) and an i18n message rendered in the reader's locale
by the edge (GraphQL, the import endpoint, the console).
"""

from __future__ import annotations

from enum import StrEnum

from tenants.errors import DomainError


class AuthErrorCode(StrEnum):
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    RATE_LIMITED = "RATE_LIMITED"
    NOT_A_MEMBER = "NOT_A_MEMBER"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    TOKEN_INVALID = "TOKEN_INVALID"
    REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"
    API_KEY_INVALID = "API_KEY_INVALID"
    API_KEY_REVOKED = "API_KEY_REVOKED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    MISSING_SCOPE = "MISSING_SCOPE"
    NO_TENANT = "NO_TENANT"
    TENANT_SUSPENDED = "TENANT_SUSPENDED"
    TOKEN_REVOKED = "TOKEN_REVOKED"


class TenancyErrorCode(StrEnum):
    INVALID = "INVALID"
    DUPLICATE = "DUPLICATE"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_REVOKED = "ALREADY_REVOKED"
    # The password policy (tenants/tenancy/passwords.py).
    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"
    PASSWORD_TOO_LONG = "PASSWORD_TOO_LONG"
    PASSWORD_TOO_WEAK = "PASSWORD_TOO_WEAK"
    # The current password given to prove who you are is not yours.
    WRONG_PASSWORD = "WRONG_PASSWORD"
    # An invitation or password reset token: unknown (or replaced by a newer one), past its time, already used.
    TOKEN_INVALID = "TOKEN_INVALID"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    TOKEN_USED = "TOKEN_USED"
    # Too many invitations or reset requests in the window (per tenant, per address): try later.
    RATE_LIMITED = "RATE_LIMITED"
    # The role may not be given or changed by this caller (an admin and the owner role, a manager and anything
    # but staff).
    ROLE_NOT_ALLOWED = "ROLE_NOT_ALLOWED"
    # A tenant keeps at least one owner.
    LAST_OWNER = "LAST_OWNER"
    # The user is a member of the tenant already.
    ALREADY_MEMBER = "ALREADY_MEMBER"
    # Suspending a suspended tenant, resuming an active one.
    ALREADY_SUSPENDED = "ALREADY_SUSPENDED"
    NOT_SUSPENDED = "NOT_SUSPENDED"
    # The tenant is suspended: its invitations cannot be accepted.
    TENANT_SUSPENDED = "TENANT_SUSPENDED"


class AuthError(DomainError[AuthErrorCode]):
    """The caller is not who it claims, or may not do this: `AuthError.of(AuthErrorCode.X, _("..."))`."""


class TenancyError(DomainError[TenancyErrorCode]):
    """Refused tenancy input (a slug, a password, an API key name...); nothing was changed."""
