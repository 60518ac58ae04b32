"""Payroll export benchmark (issue 9 item 6): the statements of 20,000 staff as xlsx and csv, time and peak memory.

The tenant is onboarded as a merchant's data arrives (tests/bench/common.py): 1,000 stores of 20 guides and customers
through the GraphQL upserts, the month's events through the NDJSON import, the period closed by a real worker
process. The export then runs in a fresh API server process (uvicorn, one worker) so that its peak RSS (VmHWM) is the
export's, not the seeding's; the file is downloaded over HTTP and counted, never held by the client.

Reference, measured in the same run: the bare SQL read of the very same rows (tenants/exports/repository.lines_query,
whole-tenant scope) with asyncpg on the app role. Printed: each export's time and its ratio to the reference, the
server's peak RSS and its growth over the server's RSS after a warm-up export of a tiny tenant.

Run: `uv run python -m tests.bench.export [--small | --scale N]` (--small: every size / 10).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass

import asyncpg
import httpx
from redis.asyncio import Redis

from server.settings import Settings
from tenants.access.scope import AccessScope
from tenants.db.uow import tenant_unit_of_work
from tenants.exports.repository import lines_query
from tenants.notify import ScorecardChange
from tenants.notify.service import announce_close
from tenants.periods.models import Period
from tenants.tenancy import service
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import tenant_id_for_system
from tests.bench.close import PERIOD, SeededTenant, close_with_worker, scale_from, seed_tenant, start_worker, timed
from tests.bench.common import api_server, bench_database, bench_settings
from tests.conftest import LOGIN, PASSWORD

WHOLE_TENANT = AccessScope(role=Role.ADMIN, user_id=None, staff_id=None, team_ids=None)


@dataclass(frozen=True)
class Download:
    seconds: float
    size: int
    status: int


def server_pid(url: str) -> int:
    """The uvicorn process listening on the URL's port (api_server starts exactly one)."""
    port = url.rsplit(":", 1)[1]
    with open("/proc/net/tcp") as tcp:
        inodes = {
            line.split()[9]
            for line in tcp.readlines()[1:]
            if line.split()[1].endswith(f":{int(port):04X}") and line.split()[3] == "0A"
        }
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    raise RuntimeError("no process listens on the API's port")


def memory_mb(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far: what the export cost the server, however busy the machine."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def admin_token(client: httpx.AsyncClient, tenant_id: int, email: str) -> str:
    user = await service.create_user(email, PASSWORD)
    await service.add_membership(tenant_id_for_system(tenant_id), user.id, Role.ADMIN)
    variables = {"email": email, "password": PASSWORD}
    body = await client.post("/graphql", json={"query": LOGIN, "variables": variables})
    return str(body.json()["data"]["login"]["accessToken"])


async def download(client: httpx.AsyncClient, token: str, tenant: SeededTenant, suffix: str) -> Download:
    started = time.perf_counter()
    size = 0
    async with client.stream(
        "GET",
        f"/exports/statements.{suffix}",
        params={"scheme": str(tenant.scheme_id), "period": PERIOD},
        headers={"authorization": f"Bearer {token}"},
    ) as response:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
    return Download(time.perf_counter() - started, size, response.status_code)


async def bare_sql_seconds(settings: Settings, tenant: SeededTenant) -> tuple[float, int]:
    """The reference: the export's own statement, every row fetched, on the app role."""
    tid = tenant_id_for_system(tenant.tenant_id)
    async with tenant_unit_of_work(tid):
        period = await Period.get(tenant_id=tid, scheme_id=tenant.scheme_id, key=PERIOD)
    assert period.revision >= 1, "the period must be closed"
    sql, values = lines_query(tid, int(period.id), WHOLE_TENANT)
    conn = await asyncpg.connect(settings.database_url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant.tenant_id))
            started = time.perf_counter()
            rows = await conn.fetch(sql, *values)
            elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    return elapsed, len(rows)


class KeptChange:
    """A publisher that keeps what it is given (the change detection is measured, not Redis)."""

    def __init__(self) -> None:
        self.change: ScorecardChange | None = None

    async def publish(self, change: ScorecardChange) -> None:
        self.change = change


async def change_detection_seconds(tenant: SeededTenant) -> tuple[float, ScorecardChange | None]:
    """What a close's live update costs the worker after the close (tenants/notify/service.py announce_close)."""
    tid = tenant_id_for_system(tenant.tenant_id)
    async with tenant_unit_of_work(tid):
        period = await Period.get(tenant_id=tid, scheme_id=tenant.scheme_id, key=PERIOD)
    kept = KeptChange()
    started = time.perf_counter()
    await announce_close(kept, tid, tenant.scheme_id, PERIOD, int(period.id), period.revision)
    return time.perf_counter() - started, kept.change


async def run(scale: int) -> None:
    settings = bench_settings("kaohe_bench_export", queue=True)
    staff, events, customers = 20_000 // scale, 200_000 // scale, 20_000 // scale
    async with bench_database(settings):
        redis = Redis.from_url(settings.redis_url)
        worker = start_worker(settings)
        try:
            with api_server(settings) as url:
                async with httpx.AsyncClient(base_url=url, timeout=600) as client:
                    print(f"seeding through the API: 1 tenant x {staff} staff x {events} events ...", flush=True)
                    big = await timed("seeding", seed_tenant(client, "export", staff, customers, events))
                    warm = await seed_tenant(client, "warm", 20, 20, 100)
                    await timed("close by the worker", close_with_worker(redis, settings, [big, warm]))
                    big_token = await admin_token(client, big.tenant_id, "bench-export@example.com")
                    warm_token = await admin_token(client, warm.tenant_id, "bench-warm@example.com")
        finally:
            worker.process.terminate()
            worker.process.wait(timeout=30)
            await redis.aclose()

        # A fresh API process: its peak RSS is the exports' alone.
        with api_server(settings) as url:
            pid = server_pid(url)
            async with httpx.AsyncClient(base_url=url, timeout=600) as client:
                for suffix in ("xlsx", "csv"):
                    assert (await download(client, warm_token, warm, suffix)).status == 200
                warmed = memory_mb(pid, "VmRSS")
                bare, rows = min([await bare_sql_seconds(settings, big) for _ in range(3)])
                cpu = cpu_seconds(pid)
                xlsx = await download(client, big_token, big, "xlsx")
                cpu_xlsx, cpu = cpu_seconds(pid) - cpu, cpu_seconds(pid)
                peak_xlsx = memory_mb(pid, "VmHWM")
                csv = await download(client, big_token, big, "csv")
                cpu_csv = cpu_seconds(pid) - cpu
                peak = memory_mb(pid, "VmHWM")
                bare = min(bare, (await bare_sql_seconds(settings, big))[0])
        assert xlsx.status == 200 and csv.status == 200
        detection, change = await change_detection_seconds(big)
        assert change is not None
        print(f"{staff} staff, {rows} ledger lines (period {PERIOD}, {(staff + 19) // 20} team sheets)")
        print(f"reference, bare SQL read of the same rows: {bare:.3f} s")
        for name, done, cpu_used in (("xlsx", xlsx, cpu_xlsx), ("csv ", csv, cpu_csv)):
            print(
                f"{name} export over HTTP: {done.seconds:.3f} s ({done.size / 1e6:.1f} MB)"
                f"   ratio {done.seconds / bare:.1f}   server CPU {cpu_used:.1f} s"
            )
        print(f"   load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        listed = "everyone (not listed)" if change.staff_ids is None else f"{len(change.staff_ids)} staff"
        print(
            f"live update after the close (who changed, their teams): {detection:.3f} s"
            f"   ratio {detection / bare:.1f} of the reference; the change names {listed}"
        )
        print(
            f"API server RSS after warm-up {warmed:.0f} MB; peak (VmHWM) after the xlsx {peak_xlsx:.0f} MB "
            f"(+{peak_xlsx - warmed:.0f} MB), after the csv {peak:.0f} MB"
        )


if __name__ == "__main__":
    asyncio.run(run(scale_from(sys.argv)))
