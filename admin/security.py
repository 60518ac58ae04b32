"""Console sign-in, the session cookie and CSRF.

- Same accounts as the API: `AuthService.login` (argon2 hashes, the login rate limits, membership checks). A user
  with several tenants where they are owner or admin picks one; a platform operator without one gets the operator
  pages. Every request re-reads the user and membership (`principal_for`), so a removed member, a disabled account or
  a suspended tenant (when the accounts service refuses it) loses the console at once, not when the cookie expires.
- The session is Starlette's signed cookie: HttpOnly, SameSite=Strict, Secure outside development, path /admin. It
  holds ids and the CSRF token only.
- CSRF: every unsafe request (POST, PUT, PATCH, DELETE) under /admin carries the session's token, as the form field
  `csrf_token` or the header `X-CSRF-Token`; a missing or wrong token is refused (403) before any view runs. Pages
  render the token into every form (admin/templates); sqladmin's JavaScript requests send it as the header.
  GET requests never change anything (sqladmin's GET "actions" only open a confirmation page that POSTs), except
  sqladmin's own sign-out link, which only ends the caller's session.
- Audit: entering a tenant (at sign-in or by switching) is `console.login` in that tenant; signing out is the API's
  `user.logout` in the session's tenant (tenants.accounts.service.logout). A refused sign-in has no tenant whose log
  could hold it: the login rate limits count it.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqladmin.authentication import AuthenticationBackend
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin.db import current_platform, current_tenant
from admin.i18n import DEFAULT_ZONE, current_zone, render
from tenants.accounts import service as accounts
from tenants.audit.service import Actor, record
from tenants.db.uow import tenant_unit_of_work
from tenants.i18n import _
from tenants.tenancy.auth import ROLE_RANK, AuthService, Membership, Role, UserPrincipal, memberships_of
from tenants.tenancy.errors import AuthError, AuthErrorCode
from tenants.tenancy.identity import TenantId
from tenants.tenancy.service import get_tenant

SESSION_COOKIE: Final = "kaohe_admin"
LANGUAGE_COOKIE: Final = "kaohe_admin_lang"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
SESSION_SECONDS: Final = 8 * 3600
CONSOLE_ROLES: Final = frozenset({Role.OWNER, Role.ADMIN})
PRINCIPAL_STATE: Final = "kaohe_principal"
# Paths a signed-in user may open before choosing a tenant.
CHOOSE_TENANT_PATH: Final = "/choose-tenant"
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuthProvider(Protocol):
    """Where the app's AuthService lives (the app's state, known once its lifespan ran)."""

    def __call__(self) -> AuthService: ...


def csrf_token(request: HTTPConnection) -> str:
    """The session's token (made on first use)."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


class CsrfMiddleware:
    """Refuses unsafe requests whose token does not match the session's (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        expected = connection.session.get(CSRF_FIELD)
        sent = connection.headers.get(CSRF_HEADER)
        body = b""
        if sent is None:
            body = await _read_body(receive)
            form = await _form(scope, body)
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
            receive = _replay(body)
        if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected, sent):
            # before the console's locale middleware: the language cookie decides, Chinese by default
            english = connection.cookies.get(LANGUAGE_COOKIE) == "en"
            text = _("The form has expired or did not come from this console; reload the page and try again.").render(
                "en" if english else "zh-CN"
            )
            await HTMLResponse(f"<!doctype html><meta charset=utf-8><p>{text}</p>", status_code=403)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _form(scope: Scope, body: bytes) -> FormData:
    content_type = HTTPConnection(scope).headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return FormData()
    request = Request(scope, _replay(body))
    try:
        return await request.form()
    except Exception:  # a malformed body simply carries no token: refused like any other
        return FormData()


@dataclass(frozen=True)
class ConsoleUser:
    """Who is signed in to the console for this request."""

    principal: UserPrincipal
    tenant_id: TenantId | None
    tenant_name: str | None

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.principal.user_id)

    @property
    def is_operator(self) -> bool:
        return self.principal.is_platform_operator


def console_user(request: HTTPConnection) -> ConsoleUser | None:
    user = getattr(request.state, PRINCIPAL_STATE, None)
    return user if isinstance(user, ConsoleUser) else None


def console_memberships(memberships: tuple[Membership, ...]) -> list[Membership]:
    """The tenants whose console the user may open (owner or admin there)."""
    return [m for m in memberships if ROLE_RANK[m.role] >= ROLE_RANK[Role.ADMIN]]


SESSION_CLAIMS: Final = ("sub", "tid", "iat", "fam")


async def principal_for(auth: AuthService, claims: dict[str, Any]) -> UserPrincipal:
    """The session's user with their membership of its tenant, checked now exactly as an API token is: a revoked
    session family, an account disabled or signed out everywhere, a removed membership or a suspended tenant raise
    AuthError (AuthService checks them all)."""
    await auth.tokens.check_family(claims)
    return await auth._user_principal(claims)


def _session_claims(request: HTTPConnection) -> dict[str, Any] | None:
    claims = request.session.get("claims")
    if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
        return None
    return {key: claims.get(key) for key in SESSION_CLAIMS}


async def _tenant_zone(tenant_id: TenantId) -> ZoneInfo:
    tenant = await get_tenant(tenant_id)
    try:
        return ZoneInfo(tenant.timezone)
    except (ValueError, ZoneInfoNotFoundError):  # validated when set; an unknown zone only guards old rows
        return DEFAULT_ZONE


class ConsoleAuth(AuthenticationBackend):
    def __init__(self, secret_key: str, *, secure_cookie: bool, auth: AuthProvider) -> None:
        super().__init__(
            secret_key,
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_SECONDS,
            path="/admin",
            same_site="strict",
            https_only=secure_cookie,
        )
        # The session first (outermost), then the CSRF check that reads it.
        self.middlewares = [*self.middlewares, Middleware(CsrfMiddleware)]
        self._auth = auth
        self.templates: Any = None  # set by the console builder: the login page's error re-renders the form

    async def login(self, request: Request) -> Response | bool:
        form = await request.form()
        email = str(form.get("username") or "")
        password = str(form.get("password") or "")
        slug = str(form.get("tenant") or "").strip() or None
        address = request.client.host if request.client else "unknown"
        try:
            tokens = await self._auth().login(email, password, slug, address)
            claims = self._auth().tokens.decode(tokens.access_token, "access")
        except AuthError as error:
            return await self._login_error(request, render(error.message))
        user_id = int(claims["sub"])
        request.session.clear()
        csrf_token(request)  # a new token for the new session
        # The login's own claims (its time and refresh family): every request re-checks them like a token's.
        request.session["claims"] = {key: claims.get(key) for key in SESSION_CLAIMS} | {"tid": None}
        choices = [m for m in console_memberships(await memberships_of(user_id)) if not m.suspended]
        if slug is not None:
            choices = [m for m in choices if m.tenant_slug == slug]
        try:
            if len(choices) == 1:
                await self._enter_tenant(request, choices[0])
                return True
            principal = await principal_for(self._auth(), self._claims(request))
        except AuthError as error:
            request.session.clear()
            return await self._login_error(request, render(error.message))
        if not choices:
            if not principal.is_platform_operator:
                request.session.clear()
                return await self._login_error(request, render(_("This account cannot use the admin console.")))
            return True
        return RedirectResponse(str(request.url_for("admin:view-choose_tenant")), status_code=302)

    @staticmethod
    def _claims(request: HTTPConnection) -> dict[str, Any]:
        claims = _session_claims(request)
        if claims is None:
            raise AuthError.of(AuthErrorCode.UNAUTHENTICATED, _("Sign in or send an API key."))
        return claims

    async def _enter_tenant(self, request: Request, membership: Membership) -> None:
        """Scope the session to the tenant (checked: membership, suspension) and audit the sign-in there."""
        claims = self._claims(request) | {"tid": membership.tenant_id}
        principal = await principal_for(self._auth(), claims)
        request.session["claims"] = claims
        user_id = principal.user_id
        if principal.tenant_id is not None:
            async with tenant_unit_of_work(principal.tenant_id) as conn:
                await record(
                    conn,
                    principal.tenant_id,
                    Actor(user_id=user_id),
                    "console.login",
                    "user",
                    user_id,
                    None,
                    {"email": principal.email, "tenant": membership.tenant_slug, "role": membership.role.value},
                )

    async def choose(self, request: Request, slug: str) -> bool:
        """The tenant picked after login (or switched to): only one where the user is owner or admin."""
        user = console_user(request)
        if user is None:
            return False
        memberships = console_memberships(await memberships_of(user.principal.user_id))
        choice = next((m for m in memberships if m.tenant_slug == slug), None)
        if choice is None:
            return False
        try:
            await self._enter_tenant(request, choice)
        except AuthError:
            return False
        return True

    async def _login_error(self, request: Request, message: str) -> Response:
        response: Response = await self.templates.TemplateResponse(
            request, "sqladmin/login.html", {"error": message}, status_code=400
        )
        return response

    async def logout(self, request: Request) -> Response | bool:
        """Ends the sign-in's session family and audits it in the session's tenant, through the API's own logout
        (user.logout), then forgets the cookie's content. A session whose user can no longer be signed in (removed,
        suspended) has nothing to audit there: its family is still ended."""
        claims = _session_claims(request)
        if claims is not None:
            try:
                principal = await principal_for(self._auth(), claims)
            except AuthError:
                if isinstance(claims.get("fam"), str):
                    await self._auth().tokens.revoke_family(claims["fam"])
            else:
                await accounts.logout(self._auth(), principal)
        request.session.clear()
        return False

    async def authenticate(self, request: Request) -> Response | bool:
        claims = _session_claims(request)
        if claims is None:
            return False
        try:
            principal = await principal_for(self._auth(), claims)
        except AuthError:
            request.session.clear()
            return False
        if principal.tenant_id is not None and principal.role not in CONSOLE_ROLES:
            request.session.clear()
            return False
        if principal.tenant_id is None and not principal.is_platform_operator:
            if request.url.path.endswith(CHOOSE_TENANT_PATH):
                setattr(request.state, PRINCIPAL_STATE, ConsoleUser(principal, None, None))
                return True
            return RedirectResponse(str(request.url_for("admin:view-choose_tenant")), status_code=302)
        name = next((m.tenant_name for m in principal.memberships if m.tenant_id == principal.tenant_id), None)
        if principal.tenant_id is not None:
            current_zone.set(await _tenant_zone(principal.tenant_id))
        setattr(request.state, PRINCIPAL_STATE, ConsoleUser(principal, principal.tenant_id, name))
        # The SQLAlchemy sessions made for this request read it (admin/db.py): RLS scopes every read.
        current_tenant.set(principal.tenant_id)
        current_platform.set(principal.tenant_id is None and principal.is_platform_operator)
        return True

    async def get_user_id(self, request: Request) -> Any:
        user = console_user(request)
        return user.principal.user_id if user is not None else None
