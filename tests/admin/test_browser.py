"""The console in a real headless browser (Debian's chromium driven by Playwright): the DESIGN.md worked example run
entirely from the console, in Chinese.

Sign in; create the example's three guides with the console's staff form (the example uses no team) and see them
listed; create a scheme from the 导购拉新 template; save a draft whose weights sum to 90 (the error shows next to the
weights and nothing is stored); fix it and publish; close 2026-10 and watch the job's progress until it finishes (a
real arq worker, in burst mode); see the ledger and export the statements; screenshots of the designer and of the
dashboard are written to tests/output/ (gitignored).
The customers and October events are loaded afterwards through the services a merchant's integration uses (feeding
them is the integration's job, not the console's); the events name the guides the console created.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker
from playwright.async_api import Browser, Page, async_playwright, expect
from starlette.applications import Starlette

from server.settings import Settings
from tenants.audit.models import AuditEntry
from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.demo import GUIDES, worked_example_events
from tenants.events.service import ingest
from tenants.grading import service as grading
from tenants.periods.models import LedgerLine
from tenants.schemes.models import Scheme, SchemeVersion
from tenants.staff.models import Staff
from tenants.staff.records import CustomerItem
from tenants.staff.service import upsert_customers
from tenants.tenancy.identity import TenantId
from tests.conftest import PASSWORD, TenantFactory
from workers.settings import FUNCTIONS

CHROMIUM = os.environ.get("KAOHE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUTPUT = Path(__file__).resolve().parents[1] / "output"
TIMEOUT_MS = 20_000

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (make test installs it)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
async def live_url(app: Starlette) -> AsyncIterator[str]:
    """The app (its lifespan already entered by the `app` fixture) served by uvicorn on this event loop."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn has no "started" event to await; 10 s at most
        if server.started:
            break
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        await chromium.close()


async def run_close_worker(settings: Settings) -> None:
    """A real arq worker of the app's queue, in burst mode in this process (Tortoise is initialised by `app`)."""
    worker = Worker(
        functions=FUNCTIONS,
        redis_pool=await create_pool(
            RedisSettings.from_dsn(settings.redis_url), default_queue_name=settings.queue_name
        ),
        queue_name=settings.queue_name,
        burst=True,
        poll_delay=0,
        handle_signals=False,
        ctx={"settings": settings},
    )
    try:
        await worker.main()
    finally:
        await worker.close()


async def load_customers_and_october(tenant_id: TenantId) -> None:
    """What the merchant's integration sends: the customers, then October's events (naming the console's staff)."""
    customers = await upsert_customers(
        tenant_id,
        SYSTEM,
        [CustomerItem(code=f"cust-{code}-{n}") for code, *_, orders, _r, _m, _c in GUIDES for n in range(len(orders))],
    )
    assert not customers.errors
    result = await ingest(tenant_id, enumerate(worked_example_events()))
    assert not result.rejected, result.rejected


async def create_staff_in_the_console(page: Page, base: str) -> None:
    """The example's guides, one create form each, as a merchant types them (the form's defaults otherwise)."""
    for code, name, *_ in GUIDES:
        await page.goto(f"{base}/admin/staff-row/list")
        await page.click("a[href$='/admin/staff-row/create']")
        await expect(page.locator("form")).to_contain_text("入职日期")
        await page.fill("#code", code)
        await page.fill("#hired_on", "2026-01-01")  # typed into the date picker; a click elsewhere closes it
        await page.click("#name")
        await page.fill("#name", name)
        await page.fill("#role", "guide")
        await page.click("input[type=submit][name=save]")
        await expect(page).to_have_url(re.compile(r"/admin/staff-row/list"))
    await page.goto(f"{base}/admin/staff-row/list")
    table = page.locator("table")
    for code, name, *_ in GUIDES:
        row = table.locator("tr", has_text=code)
        await expect(row).to_contain_text(name)
        await expect(row).to_contain_text("guide")
        await expect(row.locator(".fa-check.text-success")).to_have_count(1)  # active


async def sign_in(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/admin/login")
    await expect(page.locator("h2")).to_contain_text("登录")
    await page.fill("#username", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("text=退出登录")).to_be_visible()


async def test_a_merchant_runs_the_worked_example_from_the_console(
    make_tenant: TenantFactory, browser: Browser, live_url: str, database: Settings
) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    tenant = await make_tenant()
    context = await browser.new_context(locale="en-US", accept_downloads=True, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    try:
        await sign_in(page, live_url, tenant.admin_email)  # the browser asks for English: the console stays Chinese
        assert await page.locator("html").get_attribute("lang") == "zh-CN"

        # the staff of the example, through the console's own create form; then the integration feeds October
        await create_staff_in_the_console(page, live_url)
        async with tenant_unit_of_work(tenant.tenant_id):
            created = await Staff.filter(tenant_id=tenant.tenant_id).order_by("code")
        assert [(s.code, s.name, s.role, s.active, s.hired_on) for s in created] == [
            (code, name, "guide", True, date(2026, 1, 1)) for code, name, *_ in GUIDES
        ]
        async with tenant_unit_of_work(tenant.tenant_id):
            staff_audit = await AuditEntry.filter(tenant_id=tenant.tenant_id, entity="staff", action="upsert")
        assert [entry.actor_user_id for entry in staff_audit] == [tenant.admin_user_id] * len(GUIDES)
        await load_customers_and_october(tenant.tenant_id)

        # create a scheme from the template
        await page.goto(f"{live_url}/admin/scheme-row/list")
        await page.click("#new-scheme-from-template")
        await page.check("input[value=store_guide_new_customers]")
        await page.fill("#scheme-name", "导购拉新 2026")
        await page.click("#create-from-template")
        await expect(page.locator("#designer-root")).to_be_visible()
        async with tenant_unit_of_work(tenant.tenant_id):
            scheme = await Scheme.get(tenant_id=tenant.tenant_id, name="导购拉新 2026")
        indicator = page.locator("#weights-indicator")
        await expect(indicator).to_have_attribute("data-sum", "100")

        # weights summing to 90: the live indicator turns, the save is refused next to the field, nothing stored
        weight = page.locator('input[data-path="metrics[0].weight"]')
        await weight.fill("30")
        await expect(indicator).to_have_attribute("data-sum", "90")
        await page.click("#save-draft")
        error = page.locator('[data-error-for="metrics"][data-code="WEIGHTS_NOT_100"]').first
        await expect(error).to_be_visible()
        await expect(error).to_contain_text("权重")
        await expect(page.locator('input[data-path="metrics[0].weight"]')).to_have_class(re.compile("is-invalid"))
        async with tenant_unit_of_work(tenant.tenant_id):
            stored = await SchemeVersion.filter(tenant_id=tenant.tenant_id, scheme_id=scheme.id).order_by("number")
        assert [(v.number, v.status, v.config["metrics"][0]["weight"]) for v in stored] == [(1, "draft", 40)]
        await page.screenshot(path=str(OUTPUT / "admin-scheme-designer-invalid.png"), full_page=True)

        # fix it (the submitted config came back: the weight shows 30) and save, then publish from 2026-10-01
        await page.locator('input[data-path="metrics[0].weight"]').fill("40")
        await page.locator('input[data-path="metrics[2].label"]').fill("老客户到店数")
        await page.click("#save-draft")
        await expect(page.locator("#designer-notice")).to_contain_text("草稿已保存")
        await page.fill("#effective-from", "2026-10-01")
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.click("#publish-button")
        await expect(page.locator("#designer-notice")).to_contain_text("已发布")
        await expect(page.locator('[data-version="1"]')).to_have_attribute("data-status", "published")
        await page.screenshot(path=str(OUTPUT / "admin-scheme-designer.png"), full_page=True)

        # close October and watch the job until it finishes
        await page.goto(f"{live_url}/admin/period-row/list")
        await page.click("#close-a-period")
        await page.select_option("#close-scheme", str(scheme.id))
        await page.fill("#close-period", "2026-10")
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.click("#close-submit")
        await expect(page.locator("#job-stage")).not_to_be_empty()
        await run_close_worker(database)
        await expect(page.locator("#job-done")).to_be_visible()
        await expect(page.locator("#job-bar")).to_have_attribute("data-status", "complete")

        # the ledger, filtered to the period, with the statement exports
        async with tenant_unit_of_work(tenant.tenant_id):
            lines = await LedgerLine.filter(tenant_id=tenant.tenant_id).count()
            audited = {str(entry.action) for entry in await AuditEntry.filter(tenant_id=tenant.tenant_id)}
        assert lines > 0
        assert {
            "console.login",
            "scheme.create",
            "scheme_version.update_draft",
            "scheme_version.publish",
            "period.close_requested",
        } <= audited
        await page.click("#see-ledger")
        await expect(page.locator("table")).to_contain_text("1,000.00")
        await page.goto(f"{live_url}/admin/period-row/list")
        await expect(page.locator("table")).to_contain_text("已结算")
        period_link = page.locator("a[href*='/admin/period-row/details/']").first
        period_id = (await period_link.get_attribute("href") or "").rstrip("/").split("/")[-1]
        await page.goto(f"{live_url}/admin/ledger-line-row/list?period={period_id}")
        await expect(page.locator("#statement-exports")).to_be_visible()
        async with page.expect_download() as download_info:
            await page.click("#export-xlsx")
        download = await download_info.value
        saved = OUTPUT / "admin-statements-2026-10.xlsx"
        await download.save_as(str(saved))
        assert saved.read_bytes()[:2] == b"PK"  # an xlsx is a zip

        # the dashboard, drawn by the vendored ECharts, once October's customers are graded (the monthly job's work)
        await grading.grade_month(tenant.tenant_id, SYSTEM, "2026-10")
        await page.goto(f"{live_url}/admin/dashboard?scheme={scheme.id}&period=2026-10")
        for chart in ("totals", "grades", "payout", "trend", "customerGrades"):
            await expect(page.locator(f"#chart-{chart}")).to_have_attribute("data-rendered", "true")
        await expect(page.locator("#dash-net")).to_contain_text("1,100.00")
        await page.screenshot(path=str(OUTPUT / "admin-dashboard.png"), full_page=True)
    finally:
        await context.close()
