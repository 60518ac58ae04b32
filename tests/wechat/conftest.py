"""The WeChat tests' fake jscode2session server, and the app's settings pointing at it (the deployment's
configuration, as an operator would set KAOHE_WECHAT_*)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from server.settings import Settings
from tests.wechat.fake_wechat import FakeWechat, running_fake_wechat

APPID = "wx-test-appid"
SECRET = "wechat-test-secret-4f1c"


@pytest.fixture(scope="session")
def fake_wechat_server() -> Iterator[FakeWechat]:
    with running_fake_wechat() as fake:
        yield fake


@pytest.fixture
def wechat(fake_wechat_server: FakeWechat, database: Settings, monkeypatch: pytest.MonkeyPatch) -> FakeWechat:
    """The app (whose settings object is `database`) asks the fake server, with a short timeout."""
    monkeypatch.setattr(database, "wechat_api_base_url", fake_wechat_server.base_url)
    monkeypatch.setattr(database, "wechat_appid", APPID)
    monkeypatch.setattr(database, "wechat_secret", SecretStr(SECRET))
    monkeypatch.setattr(database, "wechat_timeout_seconds", 0.5)
    fake_wechat_server.requests.clear()
    return fake_wechat_server
