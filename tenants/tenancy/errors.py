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


class AuthError(DomainError[AuthErrorCode]):
    """The caller is not who it claims, or may not do this: `AuthError.of(AuthErrorCode.X, _("..."))`."""


class TenancyError(DomainError[TenancyErrorCode]):
    """Refused tenancy input (a slug, a password, an API key name...); nothing was changed."""
