"""Console events page benchmark (issue 11): the events list over 1,000,000 events of one tenant opens in under 1 s.

Seeding goes the merchant's way (master data through GraphQL upserts, events through `POST /import/events`), into a
database of the run's own, with the API (console included) served by uvicorn in its own process. The console is used
like a browser: sign-in with the CSRF token, then the list pages timed end to end over HTTP (median of 5):
the first page, page 200 (offset 4,975), an external-id search and a sort by id ascending.
The reference measured in the same run is the bare database read behind a page (the app role, RLS, `ORDER BY id DESC
LIMIT 25` on the same tenant); the figure avoided by design is printed too: an exact `count(*)` over the tenant's
events, which sqladmin would otherwise run for every page (the console counts at most 10,001 rows).

Run: `uv run python -m tests.bench.admin_events [events]` (default 1,000,000; `--small` 100,000).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from server.settings import Settings
from tenants.tenancy import service
from tenants.tenancy.auth import Role, Scope
from tenants.tenancy.identity import tenant_id_for_system
from tests.bench.common import bench_database, bench_settings, import_events, upsert_master_data

STAFF = 200
PASSWORD = "bench password 2026"
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"')
RUNS = 5


@contextmanager
def api_server(settings: Settings, start_seconds: float = 180) -> Iterator[str]:
    """The app under uvicorn in its own process, as tests.bench.common.api_server, waiting longer for it to start:
    on a shared, loaded machine importing the app alone has taken over 20 s."""
    port = _free_port()
    env = {
        **os.environ,
        "KAOHE_ENV": "test",
        "KAOHE_DATABASE_URL": settings.database_url,
        "KAOHE_OWNER_DATABASE_URL": settings.owner_database_url,
        "KAOHE_REDIS_URL": settings.redis_url,
        "KAOHE_QUEUE_NAME": settings.queue_name,
    }
    command = [sys.executable, "-m", "uvicorn", "server.app:create_app", "--factory", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--log-level", "warning", "--no-access-log"], env=env, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the API did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def event_lines(count: int) -> Iterator[str]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(count):
        yield json.dumps(
            {
                "externalId": f"e-{i}",
                "type": "order" if i % 5 else "customer_added",
                "occurredAt": (start + timedelta(seconds=i * 20)).isoformat(),
                "staff": f"g{i % STAFF}",
                "amount": f"{(i % 500) + 10}.50",
                "attributes": {"channel": "offline"},
            }
        )


def _token(html: str) -> str:
    match = CSRF.search(html)
    assert match is not None
    return match.group(1) or match.group(2)


async def _median_seconds(client: httpx.AsyncClient, path: str) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = await client.get(path)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return statistics.median(timings)


async def run(count: int) -> None:
    settings = bench_settings("kaohe_bench_admin")
    async with bench_database(settings):
        tenant = await service.create_tenant("bench-admin", "Bench admin")
        tenant_id = tenant_id_for_system(tenant.id)
        user = await service.create_user("bench-admin@example.com", PASSWORD)
        await service.add_membership(tenant_id, user.id, Role.ADMIN)
        key = (
            await service.create_api_key(tenant_id, "bench", [Scope.EVENTS_WRITE, Scope.STAFF_WRITE], None)
        ).plaintext
        with api_server(settings) as url:
            async with httpx.AsyncClient(base_url=url, timeout=None) as api:
                await upsert_master_data(
                    api, key, "staff", [{"code": f"g{i}", "name": f"导购{i}", "role": "guide"} for i in range(STAFF)]
                )
                seeded = time.perf_counter()
                accepted = await import_events(api, key, event_lines(count))
                seed_seconds = time.perf_counter() - seeded
            assert accepted == count
            # The session cookie is Secure outside development and this is plain HTTP to 127.0.0.1: carried by hand.
            async with httpx.AsyncClient(base_url=url, timeout=60) as console:
                login = await console.get("/admin/login")
                console.headers["cookie"] = f"kaohe_admin={login.cookies['kaohe_admin']}"
                response = await console.post(
                    "/admin/login",
                    data={"username": user.email, "password": PASSWORD, "csrf_token": _token(login.text)},
                )
                assert response.status_code == 302, response.text[:300]
                console.cookies.clear()
                console.headers["cookie"] = f"kaohe_admin={response.cookies['kaohe_admin']}"
                first = await console.get("/admin/event-row/list")
                assert first.status_code == 200 and "e-" in first.text, first.text[:300]
                pages = {
                    "first page": "/admin/event-row/list",
                    "page 200": "/admin/event-row/list?page=200",
                    "search external id": f"/admin/event-row/list?search=e-{count // 2}",
                    "sorted ascending": "/admin/event-row/list?sortBy=id&sort=asc",
                }
                figures = {name: await _median_seconds(console, path) for name, path in pages.items()}
        conn = await asyncpg.connect(settings.database_url)
        try:
            reference = []
            exact_count = []
            for _ in range(RUNS):
                async with conn.transaction():
                    await conn.execute(f"SET LOCAL app.tenant_id = '{int(tenant_id)}'")
                    started = time.perf_counter()
                    await conn.fetch("SELECT * FROM event ORDER BY id DESC LIMIT 25")
                    reference.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    total = await conn.fetchval("SELECT count(*) FROM event")
                    exact_count.append(time.perf_counter() - started)
            assert total == count
        finally:
            await conn.close()
    ref = statistics.median(reference)
    print(f"events: {count:,} in one tenant (seeded through POST /import/events in {seed_seconds:.1f} s)")
    print(f"reference (database read of one page, app role + RLS): {ref * 1000:.1f} ms")
    for name, seconds in figures.items():
        print(
            f"console events list, {name}: {seconds * 1000:.0f} ms over HTTP (x{seconds / ref:.0f} the reference)"
            f" -> {'under' if seconds < 1 else 'OVER'} 1 s"
        )
    print(f"avoided: exact count(*) of the tenant's events: {statistics.median(exact_count) * 1000:.0f} ms per page")


def main() -> None:
    count = 100_000 if "--small" in sys.argv else 1_000_000
    numbers = [arg for arg in sys.argv[1:] if arg.isdigit()]
    asyncio.run(run(int(numbers[0]) if numbers else count))


if __name__ == "__main__":
    main()
