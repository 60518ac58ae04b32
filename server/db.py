"""Tortoise wiring: one app, `kaohe`, whose migrations live in tenants/migrations."""

from __future__ import annotations

from typing import Any

from server.settings import Settings

MODEL_MODULES = [
    "tenants.tenancy.models",
    "tenants.staff.models",
    "tenants.schemes.models",
    "tenants.audit.models",
    "tenants.events.models",
    "tenants.periods.models",
    "tenants.wechat.models",
    "tenants.disputes.models",
]


def tortoise_config(database_url: str, *, pool_max_size: int = 10) -> dict[str, Any]:
    return {
        "connections": {
            "default": {
                "engine": "tortoise.backends.asyncpg",
                "credentials": _credentials(database_url, pool_max_size),
            }
        },
        "apps": {
            "kaohe": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "tenants.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _credentials(database_url: str, pool_max_size: int) -> dict[str, Any]:
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(database_url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": parts.path.lstrip("/"),
        "minsize": 1,
        "maxsize": pool_max_size,
    }


def app_tortoise_config(settings: Settings) -> dict[str, Any]:
    return tortoise_config(settings.database_url, pool_max_size=settings.db_pool_max_size)


def owner_tortoise_config(settings: Settings) -> dict[str, Any]:
    return tortoise_config(settings.owner_database_url, pool_max_size=2)


def _cli_config() -> dict[str, Any]:
    from server.settings import get_settings

    return owner_tortoise_config(get_settings())


# For the `tortoise` CLI (makemigrations, sqlmigrate): `tortoise -c server.db.TORTOISE_ORM makemigrations`.
TORTOISE_ORM = _cli_config()
