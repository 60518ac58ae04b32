"""Process settings, read from KAOHE_* environment variables.

Defaults work on a developer machine with the local Postgres (trust auth) and Redis, so `make demo` and `make test`
need no variables at all. Production (KAOHE_ENV=production) refuses to start without a KAOHE_SECRET_KEY of at least
32 bytes (the development secret is public), and turns GraphiQL, introspection and "Did you mean" suggestions off.
X-Forwarded-For is believed only from KAOHE_TRUSTED_PROXIES (none by default): a client could otherwise name any
address it likes and escape the per-address login limit.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEVELOPMENT_SECRET = "kaohe-development-secret-change-me-in-production"
# HS256 keys shorter than the hash output (32 bytes) are guessable offline from one token (RFC 7518, section 3.2).
MIN_PRODUCTION_SECRET_BYTES = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAOHE_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    # The app (API, workers, admin) connects as a role that does not own the tables and cannot bypass RLS.
    database_url: str = "postgres://kaohe_app:kaohe_app@127.0.0.1:5432/kaohe"
    # Migrations run as the owner of the tables.
    owner_database_url: str = "postgres://kaohe_owner:kaohe_owner@127.0.0.1:5432/kaohe"
    # Only `kaohe db init` uses a superuser, to create roles and the database.
    superuser_url: str = "postgres://postgres@127.0.0.1:5432/postgres"
    redis_url: str = "redis://127.0.0.1:6379/0"

    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)

    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 20
    login_failure_window_seconds: int = 15 * 60
    # Addresses or networks of the reverse proxies whose X-Forwarded-For names the client (comma-separated in the
    # environment, e.g. "10.0.0.5,10.1.0.0/16"). Empty: the header is ignored and the peer address counts.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    db_pool_max_size: int = 10
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 20_000
    graphql_max_body_bytes: int = 8 * 1024 * 1024
    page_size_max: int = 200
    # The worker's cron (auto close, re-close, provisional refresh); tests that run a worker process turn it off.
    worker_cron: bool = True
    # The arq queue; tests give each run its own so parallel runs never take each other's jobs.
    queue_name: str = "kaohe:queue"
    # Events must occur in [event_time_min, event_time_max): outside it a timestamp is a mistake (year 0001, 9999)
    # that would also break every listing of the tenant's events.
    event_time_min: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    event_time_max: datetime = datetime(2200, 1, 1, tzinfo=UTC)
    # WeChat mini-program login (tenants/wechat): where jscode2session is asked, the mini-program's appid and secret
    # (an empty appid turns WeChat login off: WECHAT_NOT_CONFIGURED), and how long WeChat may take to answer.
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    wechat_appid: str = ""
    wechat_secret: SecretStr = SecretStr("")
    wechat_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: list[str]) -> list[str]:
        # Explicit addresses or networks only: a wildcard would trust every client with its own claim.
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"KAOHE_TRUSTED_PROXIES: {entry!r} is not an IP address or network") from exc
        return value

    @model_validator(mode="after")
    def _refuse_weak_secret_in_production(self) -> Settings:
        if self.env != "production":
            return self
        secret = self.secret_key.get_secret_value()
        if secret == DEVELOPMENT_SECRET:
            raise ValueError("KAOHE_SECRET_KEY must be set in production")
        if len(secret.encode()) < MIN_PRODUCTION_SECRET_BYTES:
            raise ValueError(f"KAOHE_SECRET_KEY must be at least {MIN_PRODUCTION_SECRET_BYTES} bytes in production")
        return self

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def database_name(self) -> str:
        return urlsplit(self.database_url).path.lstrip("/")

    def with_database(self, name: str) -> Settings:
        """The same settings pointing every URL but the superuser's at another database (tests use one per run)."""
        return self.model_copy(
            update={
                "database_url": replace_database(self.database_url, name),
                "owner_database_url": replace_database(self.owner_database_url, name),
            }
        )


def replace_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@lru_cache
def get_settings() -> Settings:
    return Settings()
