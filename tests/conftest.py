"""Test fixtures: a database of its own per run (created and migrated as the owner), the app on the app role.

Tests isolate by creating their own tenants and users (unique slugs and emails), so they never need to clean up.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from server.app import create_app
from server.dbadmin import drop_database, init_database, migrate_database
from server.settings import Settings
from tenants.tenancy import service
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId, tenant_id_for_system

PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def settings() -> Settings:
    run = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    base = Settings(
        env="test",
        redis_url=os.environ.get("KAOHE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        queue_name=f"kaohe:queue:test:{run}",
    )
    return base.with_database(f"kaohe_test_{run}")


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Settings]:
    await init_database(settings)
    await migrate_database(settings)
    yield settings
    if not os.environ.get("KAOHE_KEEP_TEST_DB"):
        await drop_database(settings)


@pytest.fixture(scope="session")
async def app(database: Settings) -> AsyncIterator[Starlette]:
    """The app with its lifespan entered once: Tortoise (app role) is initialised for every test of the session."""
    application = create_app(database)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kaohe.test") as http:
        yield http


@pytest.fixture(scope="session")
async def redis(app: Starlette) -> Redis:
    """The tests' Redis database. Not flushed: parallel runs share it; every key a test relies on is unique to it
    (emails, job ids, this run's queue), and the per-address login counter is cleared after each test."""
    connection: Redis = app.state.redis
    return connection


@pytest.fixture(autouse=True)
async def _forget_login_failures_of_the_test_client(redis: Redis) -> AsyncIterator[None]:
    # All test requests come from one address; per-address counting must not spill from one test into the next.
    yield
    await redis.delete("kaohe:login-fail:addr:127.0.0.1")


@pytest.fixture
async def owner_conn(database: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the tables' owner: for setup and catalogue checks only, never for the code under test."""
    conn = await asyncpg.connect(database.owner_database_url)
    yield conn
    await conn.close()


@pytest.fixture
async def app_conn(database: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A raw connection as the app role, to prove what the database itself allows."""
    conn = await asyncpg.connect(database.database_url)
    yield conn
    await conn.close()


GraphQL = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQL:
    async def run(query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return run


@dataclass(frozen=True)
class TenantFixture:
    tenant_id: TenantId
    slug: str
    admin_email: str
    admin_user_id: int


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


TenantFactory = Callable[..., Awaitable[TenantFixture]]


@pytest.fixture
def make_tenant(app: Starlette) -> TenantFactory:
    async def create(role: Role = Role.ADMIN, timezone: str = "Asia/Shanghai") -> TenantFixture:
        slug = unique("t")
        tenant = await service.create_tenant(slug, f"Tenant {slug}", timezone)
        tenant_id = tenant_id_for_system(tenant.id)
        email = f"{unique('admin')}@example.com"
        user = await service.create_user(email, PASSWORD)
        await service.add_membership(tenant_id, user.id, role)
        return TenantFixture(tenant_id, slug, email, user.id)

    return create


LOGIN = """
mutation Login($email: String!, $password: String!, $tenant: String) {
  login(email: $email, password: $password, tenant: $tenant) {
    __typename
    ... on AuthTokens { accessToken refreshToken }
    ... on AuthErrors { errors { field message code } }
  }
}
"""


@pytest.fixture
def login(gql: GraphQL) -> Callable[..., Awaitable[str]]:
    async def run(email: str, password: str = PASSWORD, tenant: str | None = None) -> str:
        body = await gql(LOGIN, {"email": email, "password": password, "tenant": tenant})
        result = body["data"]["login"]
        assert result["__typename"] == "AuthTokens", result
        return str(result["accessToken"])

    return run
