"""Permission classes; resolvers never check roles by hand.

Authentication problems (expired token, revoked key...) surface as a GraphQL error whose `extensions.code` is the
AuthErrorCode; a missing role or scope is FORBIDDEN / MISSING_SCOPE. Nothing runs when a permission fails.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from schema.context import Info
from tenants.tenancy.auth import ApiKeyPrincipal, Role, Scope, UserPrincipal, check_tenant_access
from tenants.tenancy.errors import AuthError, AuthErrorCode


def _deny(code: AuthErrorCode, message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code.value})


def _require_principal(info: Info) -> UserPrincipal | ApiKeyPrincipal:
    context = info.context
    if context.auth_error is not None:
        raise _deny(context.auth_error.code, context.auth_error.message)
    if context.principal is None:
        raise _deny(AuthErrorCode.UNAUTHENTICATED, "Sign in or send an API key.")
    return context.principal


class IsAuthenticatedUser(BasePermission):
    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if not isinstance(_require_principal(info), UserPrincipal):
            raise _deny(AuthErrorCode.FORBIDDEN, "This needs a signed-in user, not an API key.")
        return True


class IsPlatformOperator(BasePermission):
    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = _require_principal(info)
        if not (isinstance(principal, UserPrincipal) and principal.is_platform_operator):
            raise _deny(AuthErrorCode.FORBIDDEN, "Only platform operators may do this.")
        return True


class TenantAccess(BasePermission):
    """A tenant member with at least `role`, or (when `scope` is given) an API key of the tenant with that scope."""

    def __init__(self, role: Role, scope: Scope | None = None) -> None:
        self.role = role
        self.scope = scope

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        try:
            check_tenant_access(_require_principal(info), self.role, self.scope)
        except AuthError as error:
            raise _deny(error.code, error.message) from error
        return True


def tenant_access(role: Role, scope: Scope | None = None) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[TenantAccess(role, scope)], use_directives=False)]


def platform_operator() -> list[FieldExtension]:
    return [PermissionExtension(permissions=[IsPlatformOperator()], use_directives=False)]


def signed_in_user() -> list[FieldExtension]:
    return [PermissionExtension(permissions=[IsAuthenticatedUser()], use_directives=False)]
