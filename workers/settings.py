"""arq worker settings. workers/ is the only package that imports arq, so the queue can be swapped."""

from __future__ import annotations

from typing import Any, ClassVar

from arq import cron, func
from arq.connections import RedisSettings
from tortoise import Tortoise

from server.db import app_tortoise_config
from server.observability import configure_logging
from server.settings import get_settings
from workers.jobs import close_due_periods, close_period_job, refresh_provisional_job


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


# Close jobs keep no arq result: their status lives in our own job hash, and a kept result would hold the arq job id
# (derived from tenant, scheme and period) and refuse the next close of the same period for an hour.
FUNCTIONS: list[Any] = [
    ping,
    func(close_period_job, keep_result=0),
    func(refresh_provisional_job, keep_result=0),
]


class WorkerSettings:
    functions: ClassVar[list[Any]] = FUNCTIONS
    cron_jobs: ClassVar[list[Any]] = (
        [cron(close_due_periods, second={0}, unique=True, run_at_startup=False)] if get_settings().worker_cron else []
    )
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(get_settings().redis_url)
    queue_name = get_settings().queue_name
    max_tries = 5
    job_timeout = 30 * 60
    health_check_key = "kaohe:worker:health"
    # arq polls Redis for work; its default half second would dominate short closes of small tenants.
    poll_delay = 0.05
    max_jobs = 16
