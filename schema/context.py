"""The per-request GraphQL context: who is calling (already authenticated), the language of its messages, and the
per-request loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from starlette.requests import Request
from strawberry.types import Info as StrawberryInfo

from server.settings import Settings
from tenants.i18n import Locale
from tenants.tenancy.auth import ApiKeyPrincipal, AuthService, Principal, UserPrincipal
from tenants.tenancy.errors import AuthError
from tenants.tenancy.identity import TenantId
from tenants.tenancy.locale import reader_locale


@dataclass
class Context:
    request: Request
    settings: Settings
    redis: Redis
    auth: AuthService
    principal: Principal | None = None
    auth_error: AuthError | None = None
    # Per-request DataLoaders, created lazily by each domain module (keyed by name), so they never outlive a request.
    loaders: dict[str, Any] = field(default_factory=dict)

    @property
    def client_address(self) -> str:
        return self.request.client.host if self.request.client else "unknown"

    @property
    def locale(self) -> Locale:
        """The language of this request's messages: the tenant's, else Accept-Language, else zh-CN (no I/O)."""
        return reader_locale(self.principal, self.request.headers.get("accept-language"))

    @property
    def tenant_id(self) -> TenantId:
        """Only call behind a permission that requires a tenant; the permission guarantees it is set."""
        assert self.principal is not None and self.principal.tenant_id is not None
        return self.principal.tenant_id

    @property
    def user(self) -> UserPrincipal | None:
        return self.principal if isinstance(self.principal, UserPrincipal) else None

    @property
    def api_key(self) -> ApiKeyPrincipal | None:
        return self.principal if isinstance(self.principal, ApiKeyPrincipal) else None


Info = StrawberryInfo[Context, None]
