"""arq worker settings. workers/ is the only package that imports arq, so the queue can be swapped.

One `kaohe worker` process serves two queues (an arq Worker serves one): closes and the cron on the main queue
(WorkerSettings), provisional refreshes on their own queue, served by a second Worker that the first starts and stops.
The refresh worker has few slots, so refreshes never hold more than REFRESH_MAX_JOBS database connections and closes
never queue behind them, whatever one tenant asks for.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any, ClassVar

import structlog
from arq import cron, func
from arq.connections import ArqRedis, RedisSettings
from arq.cron import CronJob
from arq.worker import Worker, run_worker
from tortoise import Tortoise

from server.db import app_tortoise_config
from server.observability import configure_logging
from server.settings import Settings, get_settings
from workers.grading import (
    GRADING_MAX_TRIES,
    detect_missed_follow_ups,
    grade_customers_job,
    grade_due_months,
    install_arq_grading_queue,
)
from workers.jobs import (
    CLOSE_MAX_TRIES,
    REFRESH_MAX_TRIES,
    close_due_periods,
    close_period_job,
    refresh_provisional_job,
)
from workers.keys import job_keys
from workers.queue import install_arq_job_queue

HEALTH_CHECK_KEY = "kaohe:worker:health"
# arq polls Redis for work; its default half second would dominate short closes of small tenants.
POLL_DELAY_SECONDS = 0.05
JOB_TIMEOUT_SECONDS = 30 * 60
REFRESH_MAX_JOBS = 2


async def ping(ctx: dict[str, Any]) -> str:
    """A trivial job, so an operator can check the worker end to end."""
    return "pong"


# Jobs keep no arq result: their status lives in our own job hash, and a kept result would hold a close's arq job id
# (derived from tenant, scheme and period) and refuse the next close of the same period for an hour.
FUNCTIONS: list[Any] = [ping, func(close_period_job, keep_result=0, max_tries=CLOSE_MAX_TRIES)]
# Customer grading (issue 10): one job per tenant and month, no kept result (its id would refuse the next request).
FUNCTIONS.append(func(grade_customers_job, keep_result=0, max_tries=GRADING_MAX_TRIES))
REFRESH_FUNCTIONS: list[Any] = [func(refresh_provisional_job, keep_result=0, max_tries=REFRESH_MAX_TRIES)]


def refresh_worker(
    settings: Settings, redis_pool: ArqRedis | None = None, *, burst: bool = False, poll_delay: float | None = None
) -> Worker:
    """The Worker of the refresh queue (started by the main worker; tests run it directly)."""
    return Worker(
        functions=REFRESH_FUNCTIONS,
        queue_name=job_keys(settings).refresh_queue,
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        redis_pool=redis_pool,
        burst=burst,
        handle_signals=False,
        max_jobs=REFRESH_MAX_JOBS,
        job_timeout=JOB_TIMEOUT_SECONDS,
        poll_delay=POLL_DELAY_SECONDS if poll_delay is None else poll_delay,
        health_check_key=f"{HEALTH_CHECK_KEY}:refresh",
        ctx={"settings": settings},
    )


async def startup(ctx: dict[str, Any]) -> None:
    configure_logging()
    settings = get_settings()
    ctx["settings"] = settings
    # The services a job runs enqueue their follow-up jobs on this worker's queue (tenants/jobs.py).
    install_arq_job_queue(ctx["redis"], settings)
    install_arq_grading_queue(ctx["redis"], settings)
    await Tortoise.init(config=app_tortoise_config(settings))
    # Started after Tortoise.init, so that its jobs see the ORM.
    refreshes = refresh_worker(settings)
    refreshes.main_task = asyncio.create_task(refreshes.main())
    refreshes.main_task.add_done_callback(_stop_if_refreshes_died)
    ctx["refresh_worker"] = refreshes


def _stop_if_refreshes_died(task: asyncio.Task[None]) -> None:
    """A process whose refresh worker died (Redis lost at the wrong moment) stops whole, so that its supervisor
    restarts it, rather than going on closing without ever refreshing."""
    if task.cancelled() or task.exception() is None:
        return
    structlog.get_logger("kaohe.worker").error("refresh worker stopped", exc_info=task.exception())
    os.kill(os.getpid(), signal.SIGTERM)


async def shutdown(ctx: dict[str, Any]) -> None:
    refreshes: Worker | None = ctx.get("refresh_worker")
    if refreshes is not None:
        main_task = refreshes.main_task
        # Cancels its running jobs (arq queues them again) and its polling, then closes its pool.
        await refreshes.close()
        if main_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await main_task
    await Tortoise.close_connections()


def cron_jobs(settings: Settings) -> list[CronJob]:
    if not settings.worker_cron:
        return []
    return [
        cron(
            close_due_periods,
            # arq derives each run's job id from the name: the queue's name keeps it apart from other queues' runs.
            name=job_keys(settings).cron_name("close_due_periods"),
            second={0},
            unique=True,
            run_at_startup=False,
        ),
        # Customer grading: hourly, since each tenant's month ends at its own midnight; a graded month is skipped.
        cron(
            grade_due_months,
            name=job_keys(settings).cron_name("grade_due_months"),
            minute={5},
            second={0},
            unique=True,
            run_at_startup=False,
        ),
        # Missed follow-ups: every five minutes; running twice emits nothing new.
        cron(
            detect_missed_follow_ups,
            name=job_keys(settings).cron_name("detect_missed_follow_ups"),
            minute=set(range(0, 60, 5)),
            second={30},
            unique=True,
            run_at_startup=False,
        ),
    ]


class WorkerSettings:
    functions: ClassVar[list[Any]] = FUNCTIONS
    cron_jobs: ClassVar[list[CronJob]] = cron_jobs(get_settings())
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(get_settings().redis_url)
    queue_name = get_settings().queue_name
    max_tries = CLOSE_MAX_TRIES
    job_timeout = JOB_TIMEOUT_SECONDS
    health_check_key = HEALTH_CHECK_KEY
    poll_delay = POLL_DELAY_SECONDS
    max_jobs = 16


def run() -> None:  # pragma: no cover - runs a worker process
    """`kaohe worker`: arq's runner, so that the CLI needs no arq import of its own."""
    run_worker(WorkerSettings)  # type: ignore[arg-type]
