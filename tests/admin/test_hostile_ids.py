"""Hostile request text. Where the console expects an id: a digit int() refuses ("²"), more digits than a bigint
holds, a NUL byte, a lone surrogate; each names no row (404), filters nothing or is refused. A list's search or
filter value with a NUL byte (PostgreSQL text cannot hold one) finds no row. None is a server error (the ASGI client
raises it), and none changes anything."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette

from tenants.db.uow import tenant_unit_of_work
from tenants.demo import seed_worked_example
from tenants.schemes.models import SchemeVersion
from tenants.staff.models import Staff
from tenants.tenancy import service as tenancy_service
from tests.admin.conftest import Console, ConsoleFactory, signed_in
from tests.admin.test_pages import audit_actions, designer
from tests.conftest import PASSWORD, TenantFactory, unique
from tests.factories import add_staff

NO_IDS = ["²", "9" * 30, "1\x00", "\ud800"]

MERCHANT_PAGES = [
    "/admin/members/role?id={}",
    "/admin/members/remove?id={}",
    "/admin/staff/login?id={}",
    "/admin/periods/action?intent=close&period={}",
    "/admin/scheme-row/details/{}",
    "/admin/staff-row/edit/{}",
]
MERCHANT_LISTS = [
    "/admin/dashboard?scheme={}",
    "/admin/ledger-line-row/list?period={}",
    "/admin/scorecard-row/list?period={}",
    "/admin/scorecard-row/list?team={}",
    "/admin/audit-row/list?actor={}",
    "/admin/schemes/diff?versions={}",
]


def _quoted(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"))


async def _post(console: Console, path: str, fields: dict[str, object]) -> httpx.Response:
    """A form POST with the CSRF token, its values encoded as they are (httpx refuses a lone surrogate)."""
    body = "&".join(f"{key}={_quoted(str(value))}" for key, value in {**fields, "csrf_token": console.token}.items())
    return await console.http.post(path, content=body, headers={"content-type": "application/x-www-form-urlencoded"})


@pytest.mark.parametrize("no_id", NO_IDS)
async def test_a_merchant_page_names_no_row_and_a_list_filters_nothing(
    make_tenant: TenantFactory, console_factory: ConsoleFactory, no_id: str
) -> None:
    tenant = await make_tenant()
    await seed_worked_example(tenant.tenant_id)
    console = await signed_in(console_factory, tenant)
    for page in MERCHANT_PAGES:
        response = await console.get(page.format(_quoted(no_id)))
        assert response.status_code in (400, 404), (page, response.status_code)
    deleted = await console.http.delete(
        f"/admin/staff-row/delete?pks={_quoted(no_id)}", headers={"x-csrf-token": console.token}
    )
    assert deleted.status_code == 404
    for page in MERCHANT_LISTS:
        response = await console.get(page.format(_quoted(no_id)))
        assert response.status_code in (200, 404), (page, response.status_code)


@pytest.mark.parametrize("no_id", NO_IDS)
async def test_a_form_naming_no_row_is_refused_and_changes_nothing(
    make_tenant: TenantFactory, console_factory: ConsoleFactory, app: Starlette, no_id: str
) -> None:
    tenant = await make_tenant()
    staff = await add_staff(tenant.tenant_id, "g-hostile")
    console = await signed_in(console_factory, tenant)
    before = await audit_actions(app, tenant.tenant_id)
    closed = await _post(console, "/admin/periods/close-new", {"scheme": no_id, "period": "2026-10"})
    assert closed.status_code < 500
    linked = await _post(console, "/admin/staff/login", {"id": staff.id, "user": no_id})
    assert linked.status_code == 404
    async with tenant_unit_of_work(tenant.tenant_id):
        assert (await Staff.get(id=staff.id)).user_id is None
    assert await audit_actions(app, tenant.tenant_id) == before


@pytest.mark.parametrize("no_id", NO_IDS)
async def test_the_operators_pages_name_no_merchant(console_factory: ConsoleFactory, no_id: str) -> None:
    email = f"{unique('op')}@example.com"
    await tenancy_service.create_user(email, PASSWORD, platform_operator=True)
    console = await console_factory()
    assert (await console.login(email)).status_code == 302
    assert (await console.get(f"/admin/tenant-row/details/{_quoted(no_id)}")).status_code == 404
    assert (await console.get(f"/admin/tenant-row/list?search={_quoted(no_id)}")).status_code == 200
    opened = await console.get(f"/admin/tenant-row/act?intent=suspend&tenant={_quoted(no_id)}")
    assert opened.status_code == 404
    refused = await _post(console, "/admin/tenant-row/act", {"intent": "suspend", "tenant": no_id})
    assert refused.status_code == 404


async def test_a_search_or_filter_with_a_nul_byte_finds_no_row(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    await add_staff(tenant.tenant_id, "g-nul")
    console = await signed_in(console_factory, tenant)
    assert ">g-nul<" in (await console.get("/admin/staff-row/list?search=g-nul")).text
    for page in [
        "/admin/staff-row/list?search=g-nul%00",
        "/admin/staff-row/list?role=guide%00",
        "/admin/event-row/list?search=e%00",
        "/admin/audit-row/list?action=a%00",
        "/admin/period-row/list?state=open%00",
        "/admin/ledger-line-row/list?kind=bonus%00",
        "/admin/scorecard-row/list?search=g%00",
    ]:
        response = await console.get(page)
        assert response.status_code == 200, page
        assert ">g-nul<" not in response.text, page


async def test_attribution_rules_nested_past_the_parsers_depth_are_refused_and_nothing_is_stored(
    make_tenant: TenantFactory, console_factory: ConsoleFactory, app: Starlette
) -> None:
    tenant = await make_tenant()
    console = await signed_in(console_factory, tenant)
    await console.get("/admin/attribution")
    before = await audit_actions(app, tenant.tenant_id)
    deep = "[" * 100_000 + "]" * 100_000
    refused = await console.post("/admin/attribution", {"rules": deep, "effective_from": "2026-11-01"})
    assert refused.status_code == 400
    assert "尚无版本" in refused.text  # nothing stored
    assert await audit_actions(app, tenant.tenant_id) == before


async def test_a_scheme_config_nested_past_the_parsers_depth_is_refused_and_nothing_is_stored(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    console = await signed_in(console_factory, tenant)
    created = await console.post("/admin/schemes/new", {"template": "store_guide_new_customers", "name": "导购"})
    scheme_id = int(created.headers["location"].rstrip("/").split("/")[-1])
    deep = "[" * 100_000 + "]" * 100_000
    refused = await designer(console, scheme_id, {"intent": "save", "config": deep})
    assert refused.status_code == 400 and "INVALID_JSON" in refused.text
    async with tenant_unit_of_work(tenant.tenant_id):
        assert [v.number for v in await SchemeVersion.filter(tenant_id=tenant.tenant_id, scheme_id=scheme_id)] == [1]
