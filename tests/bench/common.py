"""Shared benchmark plumbing: a database of its own, the API as a real HTTP server process, seeding through the
product's own ingestion path (GraphQL upserts, the NDJSON import), timing.

Benchmarks seed the way a merchant's data arrives: master data through `upsertTeams` / `upsertStaff` /
`upsertCustomers` in batches of 1,000 and events through `POST /import/events`, never by SQL, and never VACUUM or
ANALYZE by hand, so what they measure is what a new merchant gets (statistics included).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from tortoise import Tortoise

from server.db import app_tortoise_config
from server.dbadmin import drop_database, init_database, migrate_database
from server.settings import Settings

UPSERT_BATCH = 1_000
_UPSERTS = {
    "teams": ("upsertTeams", "TeamInput", "teams"),
    "staff": ("upsertStaff", "StaffInput", "staff"),
    "customers": ("upsertCustomers", "CustomerInput", "customers"),
}


def bench_settings(prefix: str = "kaohe_bench", *, queue: bool = False) -> Settings:
    """Settings for a database of this run's own (and, with `queue`, an arq queue of its own)."""
    run = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    base = Settings(env="test", redis_url="redis://127.0.0.1:6379/14")
    if queue:
        base = base.model_copy(update={"queue_name": f"kaohe:queue:bench:{run}"})
    return base.with_database(f"{prefix}_{run}")


@asynccontextmanager
async def bench_database(settings: Settings, *, keep: bool = False) -> AsyncIterator[Settings]:
    """The run's database, created and migrated (an existing one is reused), dropped after the run unless `keep`."""
    await init_database(settings)
    await migrate_database(settings)
    await Tortoise.init(config=app_tortoise_config(settings))
    try:
        yield settings
    finally:
        await Tortoise.close_connections()
        if not keep:
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
        "KAOHE_QUEUE_NAME": settings.queue_name,
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


async def upsert_master_data(
    client: httpx.AsyncClient, api_key: str, what: str, items: Sequence[dict[str, Any]]
) -> None:
    """`what` ("teams", "staff", "customers") through its GraphQL upsert, in batches of 1,000; every item stored."""
    field, input_type, argument = _UPSERTS[what]
    document = (
        f"mutation($items: [{input_type}!]!) {{ {field}({argument}: $items) "
        "{ created updated errors { index code message } } }"
    )
    for start in range(0, len(items), UPSERT_BATCH):
        batch = list(items[start : start + UPSERT_BATCH])
        response = await client.post(
            "/graphql",
            json={"query": document, "variables": {"items": batch}},
            headers={"authorization": f"Bearer {api_key}"},
        )
        body = response.json()
        assert response.status_code == 200 and not body.get("errors"), response.text[:500]
        result = body["data"][field]
        assert not result["errors"] and result["created"] + result["updated"] == len(batch), str(result)[:500]


async def import_events(client: httpx.AsyncClient, api_key: str, lines: Iterable[str]) -> int:
    """NDJSON lines through `POST /import/events`, streamed in ~1 MB pieces; every line must be accepted."""

    async def body() -> AsyncIterator[bytes]:
        piece: list[str] = []
        size = 0
        for line in lines:
            piece.append(line)
            size += len(line) + 1
            if size >= 1 << 20:
                yield ("\n".join(piece) + "\n").encode()
                piece, size = [], 0
        if piece:
            yield ("\n".join(piece) + "\n").encode()

    response = await client.post(
        "/import/events", content=body(), headers={"authorization": f"Bearer {api_key}"}, timeout=None
    )
    answer = response.json()
    assert response.status_code == 200 and answer["accepted"] == answer["items"], response.text[:500]
    return int(answer["accepted"])


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
