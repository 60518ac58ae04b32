"""Process settings, read from KAOHE_* environment variables.

Defaults work on a developer machine with the local Postgres (trust auth) and Redis, so `make demo` and `make test`
need no variables at all. Production must set KAOHE_ENV=production and a real KAOHE_SECRET_KEY.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "kaohe-development-secret-change-me-in-production"


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

    @model_validator(mode="after")
    def _refuse_development_secret_in_production(self) -> Settings:
        if self.env == "production" and self.secret_key.get_secret_value() == DEVELOPMENT_SECRET:
            raise ValueError("KAOHE_SECRET_KEY must be set in production")
        return self

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
