"""The WeChat tests' fake jscode2session server, and the app's settings pointing at it (the deployment's
configuration, as an operator would set KAOHE_WECHAT_*)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from server.settings import Settings
from tenants.wechat.limits import KEY_PREFIX
from tests.wechat.fake_wechat import FakeWechat, running_fake_wechat

APPID = "wx-test-appid"
SECRET = "wechat-test-secret-4f1c"
TEST_CLIENT_FAILURES = KEY_PREFIX + "127.0.0.1"


@pytest.fixture(scope="session")
def fake_wechat_server() -> Iterator[FakeWechat]:
    with running_fake_wechat() as fake:
        yield fake


@pytest.fixture
async def wechat(
    fake_wechat_server: FakeWechat, database: Settings, monkeypatch: pytest.MonkeyPatch, redis: Redis
) -> AsyncIterator[FakeWechat]:
    """The app (whose settings object is `database`) asks the fake server, with a short timeout. Every test request
    comes from one address: its failed WeChat logins are forgotten before and after each test."""
    await redis.delete(TEST_CLIENT_FAILURES)
    monkeypatch.setattr(database, "wechat_api_base_url", fake_wechat_server.base_url)
    monkeypatch.setattr(database, "wechat_appid", APPID)
    monkeypatch.setattr(database, "wechat_secret", SecretStr(SECRET))
    monkeypatch.setattr(database, "wechat_timeout_seconds", 0.5)
    # Test runs of several people share one Redis and one client address (127.0.0.1): their failed WeChat logins must
    # not add up to a limit here. The limit itself is tested from an address of its own (test_wechat_login.py).
    monkeypatch.setattr(database, "login_max_failures_per_address", 1_000_000)
    fake_wechat_server.requests.clear()
    yield fake_wechat_server
    await redis.delete(TEST_CLIENT_FAILURES)
