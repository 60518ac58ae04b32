"""Read-path benchmark (issue 8 item 12): what the mini-program and the dashboard ask, over HTTP, against bare
references measured in the same run.

The references run the SAME SQL: every statement the API runs for the request (authentication, the tenant's zone,
the access scope, the read itself) is captured by running the very request once in-process through the app (each
statement with its values, grouped by transaction), then replayed through asyncpg:
1. `myScorecard` throughput over HTTP (uvicorn, one process each, 16 concurrent keep-alive connections on loopback),
   against a bare Starlette endpoint (uvicorn too) that replays the request's statements in the same transactions and
   returns the same JSON (checked equal before timing). Target >= 0.5x.
2. `leaderboard` first 50 of 1,000 staff (a guide asking, so the page carries its own row), p95 latency at 16
   concurrent connections against the bare endpoint's p95. Target <= 2x.
3. `teamSummary` over 20,000 staff (an admin asking), the request's latency against its bare SQL (the summary's unit
   of work replayed through asyncpg, no HTTP). Target <= 1.5x (medians of sequential runs).

Seeding is the merchant's path (tests/bench/close.py seed_tenant: GraphQL upserts and the NDJSON import of a real API
process, no VACUUM/ANALYZE by hand); the period is closed by the close service; logins are linked with the access
service and sign in over HTTP.

Run: `uv run python -m tests.bench.views [--small] [--summary-staff N] [--only-summary] [--profile]`
(--small: 100 and 2,000 staff, shorter runs; --summary-staff: another size for the teamSummary tenant; --only-summary:
that part alone; --profile: where an API request's time goes, in-process).
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise.backends.asyncpg.client import AsyncpgDBClient

from server.app import create_app
from server.dbadmin import drop_database, init_database, migrate_database
from server.settings import Settings
from tenants.access import service as access
from tenants.audit.service import SYSTEM
from tenants.periods.close import close_period
from tenants.rules.money import round2
from tenants.scorecards.repository import CardOrder
from tenants.scorecards.service import encode_cursor, exact
from tenants.tenancy import service
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import tenant_id_for_system
from tests.bench.close import PERIOD, SeededTenant, seed_tenant
from tests.bench.common import _free_port, api_server, bench_settings

CONCURRENCY = 16
PASSWORD = "bench-password-2026"

MY_SCORECARD = (
    "query($scheme: ID!, $period: String!) { myScorecard(schemeId: $scheme, period: $period) { staffCode staffName "
    "teamCode revision provisional computedAt total grade rank participants net metrics { key value score weight } } }"
)
LEADERBOARD = (
    "query($scheme: ID!, $period: String!) { leaderboard(schemeId: $scheme, period: $period, first: 50) { totalCount "
    "pageInfo { hasNextPage endCursor } edges { node { rank staffCode staffName teamCode total grade } } "
    "me { rank staffCode total grade } } }"
)
TEAM_SUMMARY = (
    "query($scheme: ID!, $period: String!) { teamSummary(schemeId: $scheme, period: $period) { participants average "
    "minimum maximum buckets { count } grades { grade count } payoutTotal payoutsByKind { kind amount } "
    "top { staffCode total } bottom { staffCode total } } }"
)
LOGIN = (
    "mutation($email: String!, $password: String!, $tenant: String) { login(email: $email, password: $password, "
    "tenant: $tenant) { ... on AuthTokens { accessToken } } }"
)


# --- capturing the statements of a request --------------------------------------------------------------------------

Captured = list[tuple[int, str, list[Any], set[str]]]  # (transaction number, sql, values, columns of its rows)
_capture: ContextVar[Captured | None] = ContextVar("bench_capture", default=None)
_transactions: dict[int, int] = {}


def _install_capture() -> None:
    """Wraps Tortoise's asyncpg client so that statements run while capturing are recorded (this process only)."""
    original_query, original_dict = AsyncpgDBClient.execute_query, AsyncpgDBClient.execute_query_dict

    def record(client: AsyncpgDBClient, sql: str, values: list[Any] | None) -> set[str]:
        captured = _capture.get()
        columns: set[str] = set()
        if captured is not None:
            number = _transactions.setdefault(id(client), len(_transactions))
            captured.append((number, sql, list(values or []), columns))
        return columns

    async def execute_query(self: AsyncpgDBClient, query: str, values: list[Any] | None = None) -> Any:
        columns = record(self, query, values)
        result = await original_query(self, query, values)
        columns.update(result[1][0].keys() if result[1] else ())
        return result

    async def execute_query_dict(self: AsyncpgDBClient, query: str, values: list[Any] | None = None) -> Any:
        columns = record(self, query, values)
        rows = await original_dict(self, query, values)
        columns.update(rows[0].keys() if rows else ())
        return rows

    AsyncpgDBClient.execute_query = execute_query  # type: ignore[method-assign]
    AsyncpgDBClient.execute_query_dict = execute_query_dict  # type: ignore[method-assign]


Transactions = list[list[tuple[str, list[Any]]]]


@dataclass(frozen=True)
class Capture:
    transactions: Transactions
    columns: list[set[str]]  # per statement (all transactions in order): the columns its rows had


async def capture(app_client: httpx.AsyncClient, document: str, variables: dict[str, Any], token: str) -> Capture:
    """The statements one request runs, grouped by transaction in order (through the app in this process)."""
    captured: Captured = []
    _transactions.clear()
    marker = _capture.set(captured)
    try:
        response = await app_client.post(
            "/graphql", json={"query": document, "variables": variables}, headers={"authorization": f"Bearer {token}"}
        )
    finally:
        _capture.reset(marker)
    assert response.status_code == 200 and "errors" not in response.json(), response.text[:500]
    groups: Transactions = []
    last = None
    for number, sql, values, _columns in captured:
        if number != last:
            groups.append([])
            last = number
        groups[-1].append((sql, values))
    return Capture(groups, [columns for *_, columns in captured])


# --- the bare references ---------------------------------------------------------------------------------------------


# The statement whose rows the answer is made of (the others are authentication, scope, period, zone), known by the
# columns of its rows (whatever its text).
ANSWER_COLUMNS = {"scorecard": {"staff_code", "metrics", "participants"}, "leaderboard": {"total_count", "extra"}}


@dataclass(frozen=True)
class BareCase:
    """One caller's request: its transactions, which statement holds the answer, the tenant's zone."""

    transactions: Transactions
    answer: int  # index of the answer's statement among all statements of the request
    zone: str

    @classmethod
    def of(cls, view: str, captured: Capture, zone: str) -> BareCase:
        answer = next(i for i, columns in enumerate(captured.columns) if ANSWER_COLUMNS[view] <= columns)
        return cls(captured.transactions, answer, zone)


async def replay(conn: asyncpg.Connection, transactions: Transactions) -> list[list[asyncpg.Record]]:
    """Every statement of the request on one connection, transaction by transaction; the rows of each statement."""
    results: list[list[asyncpg.Record]] = []
    for statements in transactions:
        async with conn.transaction():
            for sql, values in statements:
                results.append(await conn.fetch(sql, *values))
    return results


def _decimal(raw: Any) -> str | None:
    return None if raw is None else str(Decimal(str(raw)))


def _exact(raw: Any) -> str | None:
    return None if raw is None else str(exact(Decimal(str(raw))))


def scorecard_json(rows: list[asyncpg.Record], zone: ZoneInfo) -> dict[str, Any]:
    """myScorecard's answer from the card statement's row."""
    if not rows:
        return {"data": {"myScorecard": None}}
    row = rows[0]
    metrics = json.loads(row["metrics"]) if isinstance(row["metrics"], str) else row["metrics"]
    return {
        "data": {
            "myScorecard": {
                "staffCode": row["staff_code"],
                "staffName": row["staff_name"],
                "teamCode": row["team_code"],
                "revision": row["revision"],
                "provisional": row["provisional"],
                "computedAt": row["computed_at"].astimezone(zone).isoformat(),
                "total": str(round2(row["total"])),
                "grade": row["grade"],
                "rank": row["rank"],
                "participants": row["participants"],
                "net": str(row["net"]),
                "metrics": [
                    {
                        "key": str(m.get("key")),
                        "value": _exact(m.get("value")),
                        "score": _decimal(m.get("score")),
                        "weight": _exact(m.get("weight")),
                    }
                    for m in metrics
                ],
            }
        }
    }


def _row(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "rank": row["rank"],
        "staffCode": row["staff_code"],
        "staffName": row["staff_name"],
        "teamCode": row["team_code"],
        "total": str(round2(row["total"])),
        "grade": row["grade"],
    }


def leaderboard_json(rows: list[asyncpg.Record], limit: int = 50) -> dict[str, Any]:
    """leaderboard's answer from the page statement's rows: the count's row, up to `limit` + 1 page rows (one more
    tells there is a next page) and the reader's own row (`extra`)."""
    found = [r for r in rows if r["id"] is not None]
    page = [r for r in found if not r["extra"]]
    mine = [r for r in found if r["extra"]]
    shown = page[:limit]
    me = _row(mine[0]) if mine else None
    return {
        "data": {
            "leaderboard": {
                "totalCount": int(rows[0]["total_count"]),
                "pageInfo": {
                    "hasNextPage": len(page) > limit,
                    "endCursor": encode_cursor(CardOrder.RANK, shown[-1]["rank"], shown[-1]["staff_code"])
                    if shown
                    else None,
                },
                "edges": [{"node": _row(r)} for r in shown],
                "me": None if me is None else {k: me[k] for k in ("rank", "staffCode", "total", "grade")},
            }
        }
    }


def create_bare_app() -> Starlette:
    """The reference server: uvicorn runs it like the API (`--factory`), from the captured cases in a pickle file."""
    cases: dict[str, list[BareCase]] = pickle.loads(Path(os.environ["KAOHE_BENCH_CASES"]).read_bytes())
    pool_size = int(os.environ.get("KAOHE_BENCH_POOL", "10"))
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        url = os.environ["KAOHE_DATABASE_URL"]
        async with asyncpg.create_pool(url, min_size=pool_size, max_size=pool_size) as pool:
            state["pool"] = pool
            yield

    async def answer(request: Request) -> Response:
        view, index = request.path_params["view"], int(request.path_params["index"])
        if view not in cases:
            return Response(status_code=404)  # the readiness probe (and nothing else) asks for no case
        case = cases[view][index]
        async with state["pool"].acquire() as conn:
            results = await replay(conn, case.transactions)
        rows = results[case.answer]
        body = scorecard_json(rows, ZoneInfo(case.zone)) if view == "scorecard" else leaderboard_json(rows)
        return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), media_type="application/json")

    return Starlette(routes=[Route("/bare/{view}/{index}", answer, methods=["POST"])], lifespan=lifespan)


@contextmanager
def bare_server(settings: Settings, cases_file: Path) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "KAOHE_DATABASE_URL": settings.database_url,
        "KAOHE_BENCH_CASES": str(cases_file),
        "KAOHE_BENCH_POOL": str(settings.db_pool_max_size),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.bench.views:create_bare_app", "--factory", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.post(f"{url}/bare/none/0", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the bare server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- a lean HTTP/1.1 load generator (keep-alive, one request in flight per connection) ------------------------------


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer)

    async def post(self, path: str, body: bytes, token: str | None = None) -> bytes:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        head = f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n{auth}"
        self.writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        if b" 200 " not in status:
            raise RuntimeError(f"{status!r} {payload[:300]!r}")
        return payload

    def close(self) -> None:
        self.writer.close()


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.latencies, n=20)[-1]


async def load(url: str, calls: Sequence[tuple[str, bytes, str | None]], seconds: float, warmup: float) -> Load:
    """CONCURRENCY connections, connection i sending calls[i % len(calls)] again and again for `seconds` after a
    warm-up; the completed requests and their latencies."""
    connections = [await Connection.open(url) for _ in range(CONCURRENCY)]
    latencies: list[float] = []
    measuring = False
    stop = False

    async def drive(index: int) -> None:
        path, body, token = calls[index % len(calls)]
        conn = connections[index]
        while not stop:
            started = time.perf_counter()
            await conn.post(path, body, token)
            if measuring:
                latencies.append(time.perf_counter() - started)

    tasks = [asyncio.create_task(drive(i)) for i in range(CONCURRENCY)]
    await asyncio.sleep(warmup)
    measuring = True
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    measuring = False
    elapsed = time.perf_counter() - started
    stop = True
    await asyncio.gather(*tasks)
    for conn in connections:
        conn.close()
    return Load(len(latencies), elapsed, latencies)


# --- the run ---------------------------------------------------------------------------------------------------------


@asynccontextmanager
async def in_process_app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The database of this run, migrated, and the app in this process (its Tortoise for the services, and an ASGI
    client to capture requests)."""
    await init_database(settings)
    await migrate_database(settings)
    application = create_app(settings)
    try:
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                yield client
    finally:
        await drop_database(settings)


async def staff_logins(api: httpx.AsyncClient, tenant: SeededTenant, slug: str, count: int) -> list[str]:
    """`count` staff logins linked to guides g0..g(count-1), signed in over HTTP: their access tokens."""
    tenant_id = tenant_id_for_system(tenant.tenant_id)
    tokens = []
    for index in range(count):
        email = f"g{index}@{slug}.bench"
        user = await service.create_user(email, PASSWORD)
        await service.add_membership(tenant_id, user.id, Role.STAFF)
        await access.link_staff_user(tenant_id, SYSTEM, f"g{index}", user.id)
        tokens.append(await login(api, email, slug))
    return tokens


async def login(api: httpx.AsyncClient, email: str, slug: str) -> str:
    response = await api.post(
        "/graphql", json={"query": LOGIN, "variables": {"email": email, "password": PASSWORD, "tenant": slug}}
    )
    return str(response.json()["data"]["login"]["accessToken"])


async def profile_requests(app_client: httpx.AsyncClient, document: str, variables: dict[str, Any], token: str) -> None:
    """Where an API request's time goes (in-process, sequential): the top functions by own time."""
    import cProfile
    import pstats

    body = {"query": document, "variables": variables}
    headers = {"authorization": f"Bearer {token}"}
    for _ in range(20):
        await app_client.post("/graphql", json=body, headers=headers)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(200):
        await app_client.post("/graphql", json=body, headers=headers)
    profiler.disable()
    print(f"profile: {(time.perf_counter() - started) / 200 * 1000:.2f} ms per request in-process (profiled)")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


async def run(
    small: bool = False, profile: bool = False, summary_staff: int | None = None, only_summary: bool = False
) -> None:
    settings = bench_settings("kaohe_bench_views")
    _install_capture()
    staff, big_staff = (100, 2_000) if small else (1_000, 20_000)
    big_staff = summary_staff or big_staff
    staff = 20 if only_summary else staff  # the views tenant is still seeded (logins), but not measured
    seconds, warmup = (3.0, 1.0) if small else (10.0, 2.0)
    async with in_process_app(settings) as app_client:
        with api_server(settings) as api_url:
            async with httpx.AsyncClient(base_url=api_url, timeout=None) as api:
                seed_started = time.perf_counter()
                views = await seed_tenant(api, "views", staff, staff * 2, staff * 20)
                summary = await seed_tenant(api, "summary", big_staff, big_staff, big_staff * 2)
                for seeded in (views, summary):
                    await close_period(tenant_id_for_system(seeded.tenant_id), seeded.scheme_id, PERIOD)
                tokens = await staff_logins(api, views, "views", CONCURRENCY)
                admin_email = "admin@summary.bench"
                admin = await service.create_user(admin_email, PASSWORD)
                await service.add_membership(tenant_id_for_system(summary.tenant_id), admin.id, Role.ADMIN)
                admin_token = await login(api, admin_email, "summary")
                seeding = time.perf_counter() - seed_started
                print(f"seeded {staff:,} + {big_staff:,} staff and closed {PERIOD} in {seeding:.0f} s")

                if not only_summary:
                    variables = {"scheme": str(views.scheme_id), "period": PERIOD}
                    cases: dict[str, list[BareCase]] = {"scorecard": [], "leaderboard": []}
                    for token in tokens:
                        for view, document in (("scorecard", MY_SCORECARD), ("leaderboard", LEADERBOARD)):
                            captured = await capture(app_client, document, variables, token)
                            cases[view].append(BareCase.of(view, captured, "Asia/Shanghai"))
                    if profile:
                        await profile_requests(app_client, MY_SCORECARD, variables, tokens[0])
                    with tempfile.TemporaryDirectory() as scratch:
                        cases_file = Path(scratch) / "cases.pickle"
                        cases_file.write_bytes(pickle.dumps(cases))
                        with bare_server(settings, cases_file) as bare_url:
                            await compare(api_url, bare_url, tokens, variables, cases, seconds, warmup)
                await team_summary(api, settings, app_client, admin_token, summary, big_staff)


async def compare(
    api_url: str,
    bare_url: str,
    tokens: list[str],
    variables: dict[str, Any],
    cases: dict[str, list[BareCase]],
    seconds: float,
    warmup: float,
) -> None:
    for view, document in (("scorecard", MY_SCORECARD), ("leaderboard", LEADERBOARD)):
        body = json.dumps({"query": document, "variables": variables}).encode()
        api_calls = [("/graphql", body, token) for token in tokens]
        bare_calls = [(f"/bare/{view}/{index}", b"{}", None) for index in range(len(tokens))]
        # Same JSON: every caller's answer from the bare endpoint equals the API's.
        api_conn, bare_conn = await Connection.open(api_url), await Connection.open(bare_url)
        for (path, request, token), (bare_path, bare_body, _) in zip(api_calls, bare_calls, strict=True):
            expected = json.loads(await api_conn.post(path, request, token))
            got = json.loads(await bare_conn.post(bare_path, bare_body))
            assert got == expected, (view, json.dumps(expected)[:400], json.dumps(got)[:400])
        api_conn.close()
        bare_conn.close()
        statements = sum(len(t) for t in cases[view][0].transactions)
        for number, group in enumerate(cases[view][0].transactions):
            print(f"  {view} transaction {number}: " + " | ".join(" ".join(sql.split())[:60] for sql, _ in group))
        api = await load(api_url, api_calls, seconds, warmup)
        bare = await load(bare_url, bare_calls, seconds, warmup)
        print(
            f"{view}: {statements} statements in {len(cases[view][0].transactions)} transactions per request; "
            f"API {api.per_second:,.0f} req/s p95 {api.p95 * 1000:.1f} ms; "
            f"bare {bare.per_second:,.0f} req/s p95 {bare.p95 * 1000:.1f} ms"
        )
        if view == "scorecard":
            print(f"  myScorecard throughput ratio {api.per_second / bare.per_second:.2f}x bare (target >= 0.5)")
        else:
            print(f"  leaderboard first 50 of the period p95 ratio {api.p95 / bare.p95:.2f}x bare (target <= 2)")


def _sets_tenant(sql: str) -> bool:
    """The first statement of a tenant's unit of work (tenants/db/uow.py set_tenant_sql, either form)."""
    return sql.startswith(("SET LOCAL app.tenant_id", "SELECT set_config('app.tenant_id'"))


async def team_summary(
    api: httpx.AsyncClient,
    settings: Settings,
    app_client: httpx.AsyncClient,
    admin_token: str,
    summary: SeededTenant,
    staff: int,
    runs: int = 15,
) -> None:
    variables = {"scheme": str(summary.scheme_id), "period": PERIOD}
    captured_at = time.perf_counter()
    transactions = (await capture(app_client, TEAM_SUMMARY, variables, admin_token)).transactions
    # A summary that takes minutes (a plan gone quadratic) is measured once each, without warm-up, and says so.
    slow = time.perf_counter() - captured_at > 30
    if slow:
        print(f"teamSummary: one in-process request took {time.perf_counter() - captured_at:.0f} s; measuring once")
    # The summary's own unit of work: the transaction that sets the tenant and reads the summary (the last one).
    own = [statements for statements in transactions if statements and _sets_tenant(statements[0][0])][-1]
    headers = {"authorization": f"Bearer {admin_token}"}
    request = {"query": TEAM_SUMMARY, "variables": variables}
    api_times, bare_times = [], []
    conn = await asyncpg.connect(settings.database_url)
    try:
        for _ in range(0 if slow else 2):  # warm-up of both
            await api.post("/graphql", json=request, headers=headers)
            await replay(conn, [own])
        budget = time.perf_counter() + 180  # a slow summary is measured fewer times (at least 3, or 1 when slow)
        for run_number in range(1 if slow else runs):
            if run_number >= 3 and time.perf_counter() > budget:
                break
            started = time.perf_counter()
            response = await api.post("/graphql", json=request, headers=headers)
            api_times.append(time.perf_counter() - started)
            assert response.json()["data"]["teamSummary"]["participants"] == staff, response.text[:300]
            started = time.perf_counter()
            await replay(conn, [own])
            bare_times.append(time.perf_counter() - started)
    finally:
        await conn.close()
    api_median, bare_median = statistics.median(api_times), statistics.median(bare_times)
    print(
        f"teamSummary over {staff:,} staff: API {api_median * 1000:.1f} ms, bare SQL {bare_median * 1000:.1f} ms "
        f"({len(own)} statements; medians of {len(api_times)}): ratio {api_median / bare_median:.2f}x (target <= 1.5)"
    )


if __name__ == "__main__":
    # Through the module's own name: the bare server unpickles the cases as tests.bench.views classes.
    from tests.bench import views

    sized = int(sys.argv[sys.argv.index("--summary-staff") + 1]) if "--summary-staff" in sys.argv else None
    asyncio.run(views.run("--small" in sys.argv, "--profile" in sys.argv, sized, "--only-summary" in sys.argv))
