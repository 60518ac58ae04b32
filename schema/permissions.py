"""Permission classes; resolvers never check roles by hand.

A refused caller gets a top-level GraphQL error whose `extensions.code` is the AuthErrorCode (an expired token, a
revoked key, UNAUTHENTICATED; FORBIDDEN / MISSING_SCOPE for a missing role or scope) and whose message is in the
reader's locale: permissions raise AuthErrors, and schema/request_errors.py answers every escaping DomainError with its
code and rendered message. Nothing runs when a permission fails.
"""

from __future__ import annotations

from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from schema.context import Info
from tenants.i18n import _
from tenants.tenancy.auth import (
    UNAUTHENTICATED_MESSAGE,
    ApiKeyPrincipal,
    Role,
    Scope,
    UserPrincipal,
    check_tenant_access,
)
from tenants.tenancy.errors import AuthError, AuthErrorCode


def _require_principal(info: Info) -> UserPrincipal | ApiKeyPrincipal:
    context = info.context
    if context.auth_error is not None:
        raise context.auth_error
    if context.principal is None:
        raise AuthError.of(AuthErrorCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE)
    return context.principal


class IsAuthenticatedUser(BasePermission):
    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if not isinstance(_require_principal(info), UserPrincipal):
            raise AuthError.of(AuthErrorCode.FORBIDDEN, _("This needs a signed-in user, not an API key."))
        return True


class IsPlatformOperator(BasePermission):
    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = _require_principal(info)
        if not (isinstance(principal, UserPrincipal) and principal.is_platform_operator):
            raise AuthError.of(AuthErrorCode.FORBIDDEN, _("Only platform operators may do this."))
        return True


class TenantAccess(BasePermission):
    """A tenant member with at least `role`, or (when `scope` is given) an API key of the tenant with that scope."""

    def __init__(self, role: Role, scope: Scope | None = None) -> None:
        self.role = role
        self.scope = scope

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        check_tenant_access(_require_principal(info), self.role, self.scope)
        return True


def tenant_access(role: Role, scope: Scope | None = None) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[TenantAccess(role, scope)], use_directives=False)]


def platform_operator() -> list[FieldExtension]:
    return [PermissionExtension(permissions=[IsPlatformOperator()], use_directives=False)]


def signed_in_user() -> list[FieldExtension]:
    return [PermissionExtension(permissions=[IsAuthenticatedUser()], use_directives=False)]
