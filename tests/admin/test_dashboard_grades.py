"""The dashboard's customer grade mix with real grades: months graded by the grading service
(tenants/grading/service.py grade_month) from real orders, shown per grade in Chinese for the month a period ends in,
whatever the scheme's cycle (a month, a week starting in September and ending in October, a quarter), with a note
when that month has no grades yet (shown on the page's grade-mix card, in a real browser), and never another tenant's
grades."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import async_playwright, expect
from starlette.applications import Starlette

from tenants.audit.service import SYSTEM
from tenants.grading.service import grade_month
from tenants.periods.close import close_period
from tenants.schemes import service as schemes
from tenants.schemes.templates import get_template
from tenants.tenancy.identity import TenantId
from tests.admin.conftest import Console, ConsoleFactory, signed_in
from tests.admin.test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, free_port, sign_in
from tests.conftest import TenantFactory
from tests.factories import add_customer, add_staff
from tests.grading.support import order, send, stored_grades

DATA = re.compile(r"var data = (.*);\n")
WORDS = re.compile(r"var words = (.*);\n")
OCTOBER = "2026-10-15T12:00:00+08:00"
SEPTEMBER = "2026-09-15T12:00:00+08:00"
# DESIGN.md's example: shares 0, 0.5, 0.8, 0.9, 0.96 before each buyer, c6 buys nothing: A 1, B 1, C 3, D 1.
OCTOBER_ORDERS = {"c1": "5000.00", "c2": "3000.00", "c3": "1000.00", "c4": "600.00", "c5": "400.00"}
CHINESE_GRADES = ["A 类客户", "B 类客户", "C 类客户", "D 类客户"]


async def scheme(tenant_id: TenantId, name: str, cycle: str) -> int:
    config = {**get_template("store_guide_new_customers").config, "cycle": cycle}
    created = await schemes.create_scheme(tenant_id, SYSTEM, name)
    draft = await schemes.save_draft(tenant_id, SYSTEM, created.id, config)
    await schemes.publish_version(tenant_id, SYSTEM, draft.id, date(2026, 6, 1))
    return int(created.id)


async def shop(tenant_id: TenantId) -> None:
    """A guide, six customers, orders in September and October (DESIGN.md's October), both months graded."""
    await add_staff(tenant_id, "g1")
    for code in ("c1", "c2", "c3", "c4", "c5", "c6"):
        await add_customer(tenant_id, code)
    await send(tenant_id, [order(f"o-{code}", code, amount, OCTOBER) for code, amount in OCTOBER_ORDERS.items()])
    await send(tenant_id, [order("s-c1", "c1", "1000.00", SEPTEMBER), order("s-c2", "c2", "100.00", SEPTEMBER)])


async def charts(console: Console, scheme_id: int, period: str) -> tuple[dict[str, Any], dict[str, Any]]:
    page = await console.get(f"/admin/dashboard?scheme={scheme_id}&period={period}")
    assert page.status_code == 200
    data, words = DATA.search(page.text), WORDS.search(page.text)
    assert data is not None and words is not None
    return json.loads(data.group(1)), json.loads(words.group(1))


def mix(chart: dict[str, Any]) -> dict[str, int]:
    return dict(zip(chart["labels"], chart["values"], strict=True))


async def test_the_customer_grade_mix_shows_the_graded_months_counts_per_grade_and_only_the_tenants_own(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant, other = await make_tenant(), await make_tenant()
    tid = tenant.tenant_id
    await shop(tid)
    monthly = await scheme(tid, "月度方案", "month")
    await close_period(tid, monthly, "2026-10")
    console = await signed_in(console_factory, tenant)

    # Not graded yet: no slices, and the chart data says which month has no grades.
    before, _ = await charts(console, monthly, "2026-10")
    assert before["customerGrades"]["month"] == "2026-10"
    assert before["customerGrades"]["labels"] == [] and "尚未进行客户分级" in before["customerGrades"]["note"]

    outcome = await grade_month(tid, SYSTEM, "2026-10")
    assert outcome.counts == {"A": 1, "B": 1, "C": 3, "D": 1}
    stored = Counter(grade for grade, _, _ in (await stored_grades(tid, "2026-10")).values())
    data, words = await charts(console, monthly, "2026-10")
    shown = data["customerGrades"]
    assert shown["month"] == "2026-10" and shown["note"] is None
    assert shown["labels"] == CHINESE_GRADES  # every grade in order, in Chinese
    assert mix(shown) == {"A 类客户": 1, "B 类客户": 1, "C 类客户": 3, "D 类客户": 1}
    assert shown["values"] == [stored[grade] for grade in "ABCD"]
    assert words["customerGrades"] == "客户分级构成（2026-10）"

    # Another merchant with more customers and its own October grades: neither dashboard shows the other's.
    await add_staff(other.tenant_id, "g1")
    for n in range(9):
        await add_customer(other.tenant_id, f"x{n}")
    await send(other.tenant_id, [order(f"x-{n}", f"x{n}", "10.00", OCTOBER) for n in range(9)])
    other_scheme = await scheme(other.tenant_id, "B 的方案", "month")
    await close_period(other.tenant_id, other_scheme, "2026-10")
    await grade_month(other.tenant_id, SYSTEM, "2026-10")
    again, _ = await charts(console, monthly, "2026-10")
    assert sum(again["customerGrades"]["values"]) == 6
    stranger = await console_factory()
    assert (await stranger.login(other.admin_email)).status_code == 302
    theirs, _ = await charts(stranger, other_scheme, "2026-10")
    assert sum(theirs["customerGrades"]["values"]) == 9
    # and A's scheme id in B's console shows nothing of A's
    foreign, _ = await charts(stranger, monthly, "2026-10")
    assert foreign == {}


async def test_a_week_or_a_quarter_shows_the_grade_mix_of_the_month_it_ends_in(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await shop(tid)
    weekly, quarterly = await scheme(tid, "周方案", "week"), await scheme(tid, "季度方案", "quarter")
    await close_period(tid, weekly, "2026-W40")  # Monday 2026-09-28 to Sunday 2026-10-04: ends in October
    await close_period(tid, quarterly, "2026-Q3")  # July to September: ends in September
    october = await grade_month(tid, SYSTEM, "2026-10")
    september = await grade_month(tid, SYSTEM, "2026-09")
    assert october.counts != september.counts
    console = await signed_in(console_factory, tenant)

    week, week_words = await charts(console, weekly, "2026-W40")
    assert week["customerGrades"]["month"] == "2026-10"
    assert week["customerGrades"]["values"] == [october.counts.get(grade, 0) for grade in "ABCD"]
    assert week_words["customerGrades"] == "客户分级构成（2026-10）"
    quarter, _ = await charts(console, quarterly, "2026-Q3")
    assert quarter["customerGrades"]["month"] == "2026-09"
    assert quarter["customerGrades"]["values"] == [september.counts.get(grade, 0) for grade in "ABCD"]


@pytest.fixture
async def served(app: Starlette) -> AsyncIterator[str]:
    """The app served by uvicorn on this event loop, for the browser (as tests/admin/test_browser.py serves it)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (make test installs it)")
async def test_the_grade_mix_card_shows_its_note_in_chinese_until_the_month_is_graded(
    make_tenant: TenantFactory, served: str
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await shop(tid)
    monthly = await scheme(tid, "月度方案", "month")
    await close_period(tid, monthly, "2026-10")
    dashboard = f"{served}/admin/dashboard?scheme={monthly}&period=2026-10"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = await browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            await sign_in(page, served, tenant.admin_email)
            await page.goto(dashboard)
            await expect(page.locator("#chart-totals")).to_have_attribute("data-rendered", "true")
            card = page.locator("#customer-grades-card")
            await expect(card).to_be_visible()
            await expect(card).to_contain_text("客户分级构成（2026-10）")
            await expect(page.locator("#customer-grades-note")).to_have_text("2026-10 尚未进行客户分级。")

            # graded: the chart instead of the note
            await grade_month(tid, SYSTEM, "2026-10")
            await page.goto(dashboard)
            await expect(page.locator("#chart-customerGrades")).to_have_attribute("data-rendered", "true")
            await expect(page.locator("#customer-grades-note")).to_have_count(0)
        finally:
            await browser.close()
