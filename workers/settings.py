"""arq worker settings. workers/ is the only package that imports arq, so the queue can be swapped."""

from __future__ import annotations

from typing import Any, ClassVar

from arq.connections import RedisSettings
from tortoise import Tortoise

from server.db import app_tortoise_config
from server.observability import configure_logging
from server.settings import get_settings


async def startup(ctx: dict[str, Any]) -> None:
    configure_logging()
    settings = get_settings()
    ctx["settings"] = settings
    await Tortoise.init(config=app_tortoise_config(settings))


async def shutdown(ctx: dict[str, Any]) -> None:
    await Tortoise.close_connections()


async def ping(ctx: dict[str, Any]) -> str:
    """A trivial job, so an operator can check the worker end to end."""
    return "pong"


class WorkerSettings:
    functions: ClassVar[list[Any]] = [ping]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(get_settings().redis_url)
    queue_name = "kaohe:queue"
    max_tries = 5
    job_timeout = 30 * 60
    health_check_key = "kaohe:worker:health"
