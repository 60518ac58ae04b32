"""Console test helpers: an HTTPS client per signed-in user (the session cookie is Secure outside development)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import httpx
import pytest
from starlette.applications import Starlette

from tests.conftest import PASSWORD, TenantFixture

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"|name="csrf-token" content="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match is not None, "no CSRF token on the page"
    return match.group(1) or match.group(2)


class Console:
    """A browser-like client of /admin: keeps its cookies, knows the page's CSRF token."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.token = ""

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        response = await self.http.get(path, **kwargs)  # type: ignore[arg-type]
        if "csrf" in response.text:
            self.token = csrf_of(response.text)
        return response

    async def post(self, path: str, data: Mapping[str, object], *, with_token: bool = True) -> httpx.Response:
        if not self.token:
            await self.get("/admin/login")
        body = {**data, "csrf_token": self.token} if with_token else data
        return await self.http.post(path, data=body)

    async def login(self, email: str, password: str = PASSWORD, tenant: str = "") -> httpx.Response:
        """Signs in; a successful sign-in starts a new session with a new CSRF token, read from the next page."""
        await self.get("/admin/login")
        response = await self.post("/admin/login", {"username": email, "password": password, "tenant": tenant})
        if response.status_code == 302:
            await self.get(response.headers["location"])
        return response


ConsoleFactory = Callable[[], Awaitable[Console]]


async def signed_in(console_factory: ConsoleFactory, tenant: TenantFixture) -> Console:
    """A console signed in as the tenant's admin."""
    console = await console_factory()
    assert (await console.login(tenant.admin_email)).status_code == 302
    return console


@pytest.fixture
async def console_factory(app: Starlette) -> AsyncIterator[ConsoleFactory]:
    clients: list[httpx.AsyncClient] = []

    async def make() -> Console:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://kaohe.test")
        clients.append(http)
        return Console(http)

    yield make
    for http in clients:
        await http.aclose()
