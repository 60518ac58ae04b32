"""The HTTP status of an authentication refusal on the REST endpoints (imports, exports): a caller who is not, or no
longer, signed in gets 401 (sign in again); one signed in without the right gets 403."""

from __future__ import annotations

from typing import Final

from tenants.tenancy.errors import AuthErrorCode

_NOT_SIGNED_IN: Final = frozenset(
    {
        AuthErrorCode.UNAUTHENTICATED,
        AuthErrorCode.TOKEN_EXPIRED,
        AuthErrorCode.TOKEN_REVOKED,
        AuthErrorCode.TOKEN_INVALID,
        AuthErrorCode.API_KEY_INVALID,
        AuthErrorCode.API_KEY_REVOKED,
    }
)


def auth_status(code: AuthErrorCode) -> int:
    return 401 if code in _NOT_SIGNED_IN else 403
