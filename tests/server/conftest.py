"""Apps with settings of their own (production, trusted proxies, low limits) beside the session's app.

They share the session app's Redis and Tortoise connections (registered globally when its lifespan started), so no
second lifespan runs: Tortoise allows one registration per process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from server.app import create_app
from server.settings import Settings
from tenants.tenancy.auth import AuthService

PRODUCTION_SECRET = SecretStr("a-production-secret-of-more-than-32-bytes")

ClientFor = Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]


def serve_with(app: Starlette, settings: Settings) -> Starlette:
    """An app built from `settings`, its state taken from the running session app."""
    built = create_app(settings)
    built.state.settings = settings
    built.state.redis = app.state.redis
    built.state.auth = AuthService(settings, app.state.redis)
    return built


@pytest.fixture
def client_for(app: Starlette) -> ClientFor:
    @asynccontextmanager
    async def open_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=serve_with(app, settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://kaohe.test") as http:
            yield http

    return open_client


@pytest.fixture
def production_settings(database: Settings) -> Settings:
    return database.model_copy(update={"env": "production", "secret_key": PRODUCTION_SECRET})
