"""Shared benchmark plumbing: a database of its own, the API as a real HTTP server process, timing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx
from tortoise import Tortoise

from server.db import app_tortoise_config
from server.dbadmin import drop_database, init_database, migrate_database
from server.settings import Settings


def bench_settings() -> Settings:
    return Settings(env="test", redis_url="redis://127.0.0.1:6379/14").with_database(
        f"kaohe_bench_{uuid.uuid4().hex[:8]}"
    )


@asynccontextmanager
async def bench_database(settings: Settings) -> AsyncIterator[Settings]:
    await init_database(settings)
    await migrate_database(settings)
    await Tortoise.init(config=app_tortoise_config(settings))
    try:
        yield settings
    finally:
        await Tortoise.close_connections()
        await drop_database(settings)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def api_server(settings: Settings) -> Iterator[str]:
    """The API under uvicorn in its own process, as in production (one worker)."""
    port = _free_port()
    env = {
        **os.environ,
        "KAOHE_ENV": "test",
        "KAOHE_DATABASE_URL": settings.database_url,
        "KAOHE_OWNER_DATABASE_URL": settings.owner_database_url,
        "KAOHE_REDIS_URL": settings.redis_url,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "server.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("the API did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


class Stopwatch:
    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def timing(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - started
