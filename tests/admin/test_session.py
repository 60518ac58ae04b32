"""The console's sign-in, session cookie, CSRF, languages and tenant isolation (no browser)."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from starlette.applications import Starlette

from admin.db import current_tenant
from admin.tables import AuditRow, StaffRow
from tenants.accounts import service as accounts
from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.staff.models import Staff
from tenants.tenancy import service as tenancy_service
from tenants.tenancy.auth import Role
from tests.admin.conftest import ConsoleFactory
from tests.conftest import PASSWORD, TenantFactory, unique
from tests.factories import add_staff


async def staff_row(tenant_id: object, staff_id: int) -> Staff:
    async with tenant_unit_of_work(tenant_id):  # type: ignore[arg-type]
        return await Staff.get(id=staff_id)


async def test_login_sets_a_strict_httponly_secure_session_and_shows_chinese(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    console = await console_factory()
    response = await console.login(tenant.admin_email)
    assert response.status_code == 302, response.text
    cookie = response.headers["set-cookie"].lower()
    assert "kaohe_admin=" in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" in cookie
    assert "path=/admin" in cookie
    page = await console.get("/admin/staff-row/list")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert "员工" in page.text
    assert "退出登录" in page.text  # sqladmin's own string, from our zh_Hans catalogue
    english = await console.get("/admin/staff-row/list?lang=en")
    assert "Staff" in english.text
    assert "Logout" in english.text


async def test_a_wrong_password_is_refused_in_chinese_and_signs_nobody_in(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    console = await console_factory()
    response = await console.login(tenant.admin_email, password="wrong password!")
    assert response.status_code == 400
    assert "邮箱或密码错误" in response.text or "密码" in response.text
    assert (await console.get("/admin/staff-row/list")).status_code == 302


async def test_staff_role_and_managers_cannot_use_the_console(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant(role=Role.MANAGER)
    console = await console_factory()
    response = await console.login(tenant.admin_email)
    assert response.status_code == 400
    assert (await console.get("/admin/staff-row/list")).status_code == 302


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    console = await console_factory()
    await console.login(tenant.admin_email)
    form = {"code": "g-1", "name": "小王", "role": "guide", "active": "y"}
    refused = await console.post("/admin/staff-row/create", form, with_token=False)
    assert refused.status_code == 403
    wrong = await console.http.post("/admin/staff-row/create", data={**form, "csrf_token": "not-the-token"})
    assert wrong.status_code == 403
    header_wrong = await console.http.delete("/admin/staff-row/delete?pks=1", headers={"x-csrf-token": "nope"})
    assert header_wrong.status_code == 403
    async with tenant_unit_of_work(tenant.tenant_id):
        assert await Staff.filter(tenant_id=tenant.tenant_id).count() == 0
    accepted = await console.post("/admin/staff-row/create", form)
    assert accepted.status_code == 302, accepted.text
    async with tenant_unit_of_work(tenant.tenant_id):
        assert await Staff.filter(tenant_id=tenant.tenant_id, code="g-1").count() == 1


async def test_a_login_post_without_the_csrf_token_is_refused(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    console = await console_factory()
    response = await console.http.post("/admin/login", data={"username": tenant.admin_email, "password": PASSWORD})
    assert response.status_code == 403


async def test_merchant_b_gets_not_found_for_merchant_a_rows_and_a_is_unchanged(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant_a, tenant_b = await make_tenant(), await make_tenant()
    staff = await add_staff(tenant_a.tenant_id, "a-guide", name="A 的导购")
    console = await console_factory()
    await console.login(tenant_b.admin_email)
    assert (await console.get(f"/admin/staff-row/edit/{staff.id}")).status_code == 404
    assert (await console.get(f"/admin/staff-row/details/{staff.id}")).status_code == 404
    posted = await console.post(f"/admin/staff-row/edit/{staff.id}", {"name": "hijacked", "role": "guide"})
    assert posted.status_code == 404
    deleted = await console.http.delete(
        f"/admin/staff-row/delete?pks={staff.id}", headers={"x-csrf-token": console.token}
    )
    assert deleted.status_code == 404
    after = await staff_row(tenant_a.tenant_id, staff.id)
    assert (after.name, after.active, after.updated_at) == (staff.name, True, staff.updated_at)
    listed = await console.get("/admin/staff-row/list")
    assert "a-guide" not in listed.text
    # the same URLs work for A's own admin: the 404 above is the tenant wall, not a broken route
    own = await console_factory()
    await own.login(tenant_a.admin_email)
    assert (await own.get(f"/admin/staff-row/edit/{staff.id}")).status_code == 200


async def test_staff_edit_and_delete_go_through_the_service_with_audit(
    make_tenant: TenantFactory, console_factory: ConsoleFactory, app: Starlette
) -> None:
    tenant = await make_tenant()
    staff = await add_staff(tenant.tenant_id, "g-7", name="小李")
    console = await console_factory()
    await console.login(tenant.admin_email)
    await console.get(f"/admin/staff-row/edit/{staff.id}")
    invalid = await console.post(f"/admin/staff-row/edit/{staff.id}", {"name": "小李", "role": "Not A Role!"})
    assert invalid.status_code == 400
    assert "role" in invalid.text
    assert (await staff_row(tenant.tenant_id, staff.id)).role == "guide"
    saved = await console.post(
        f"/admin/staff-row/edit/{staff.id}", {"name": "小李子", "role": "sales", "active": "y", "save": "Save"}
    )
    assert saved.status_code == 302, saved.text
    after = await staff_row(tenant.tenant_id, staff.id)
    assert (after.name, after.role, after.code) == ("小李子", "sales", "g-7")
    deleted = await console.http.delete(
        f"/admin/staff-row/delete?pks={staff.id}", headers={"x-csrf-token": console.token}
    )
    assert deleted.status_code == 200
    assert (await staff_row(tenant.tenant_id, staff.id)).active is False  # deactivated, history kept
    maker = app.state.admin_console.session_maker
    token = current_tenant.set(tenant.tenant_id)
    try:
        async with maker() as session:
            audit = (await session.execute(select(AuditRow).where(AuditRow.entity == "staff"))).scalars().all()
            logins = (await session.execute(select(AuditRow).where(AuditRow.action == "console.login"))).scalars().all()
    finally:
        current_tenant.reset(token)
    assert len(audit) == 2
    assert all(entry.actor_user_id == tenant.admin_user_id for entry in audit)
    assert len(logins) == 1


async def test_the_console_session_sees_only_the_signed_in_tenant_and_nothing_without_one(
    make_tenant: TenantFactory, app: Starlette
) -> None:
    tenant_a, tenant_b = await make_tenant(), await make_tenant()
    await add_staff(tenant_a.tenant_id, "only-a")
    maker = app.state.admin_console.session_maker
    count = select(func.count()).select_from(StaffRow).where(StaffRow.code == "only-a")

    async def visible() -> int:
        async with maker() as session:
            return int((await session.execute(count)).scalar_one())

    assert await visible() == 0  # no tenant: fail closed
    for tenant, expected in ((tenant_a, 1), (tenant_b, 0)):
        token = current_tenant.set(tenant.tenant_id)
        try:
            assert await visible() == expected
        finally:
            current_tenant.reset(token)


async def test_a_user_with_several_tenants_picks_one_and_a_suspended_tenant_cannot_sign_in(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant_a, tenant_b = await make_tenant(), await make_tenant()
    await tenancy_service.add_membership(tenant_b.tenant_id, tenant_a.admin_user_id, Role.OWNER)
    console = await console_factory()
    response = await console.login(tenant_a.admin_email)
    assert response.status_code == 302
    assert response.headers["location"].endswith("/admin/choose-tenant")
    assert (await console.get("/admin/staff-row/list")).status_code == 302  # not before choosing
    picker = await console.get("/admin/choose-tenant")
    assert tenant_a.slug in picker.text and tenant_b.slug in picker.text
    chosen = await console.post("/admin/choose-tenant", {"tenant": tenant_b.slug})
    assert chosen.status_code == 302
    entered = await console.get("/admin/staff-row/list")
    assert entered.status_code == 200
    assert f"Tenant {tenant_b.slug}" in entered.text and 'id="switch-tenant"' in entered.text
    # suspended by the platform operator: refused at once, and at the next sign-in
    await accounts.suspend_tenant(SYSTEM, tenant_b.tenant_id)
    assert (await console.get("/admin/staff-row/list")).status_code == 302
    again = await console_factory()
    refused = await again.login(tenant_a.admin_email, tenant=tenant_b.slug)
    assert refused.status_code == 400
    assert "停用" in refused.text or "暂停" in refused.text


async def test_logout_ends_the_session(make_tenant: TenantFactory, console_factory: ConsoleFactory) -> None:
    tenant = await make_tenant()
    console = await console_factory()
    await console.login(tenant.admin_email)
    cookie = console.http.cookies.get("kaohe_admin")
    assert (await console.get("/admin/logout")).status_code == 302
    assert (await console.get("/admin/staff-row/list")).status_code == 302
    # the old cookie replayed is refused too: the sign-in's session family was revoked
    replay = httpx.AsyncClient(transport=console.http._transport, base_url="https://kaohe.test")
    replay.cookies.set("kaohe_admin", cookie or "", domain="kaohe.test")
    try:
        assert (await replay.get("/admin/staff-row/list")).status_code == 302
    finally:
        await replay.aclose()


async def test_operators_see_merchants_and_merchants_do_not(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    email = f"{unique('op')}@example.com"
    operator = await tenancy_service.create_user(email, PASSWORD, platform_operator=True)
    assert operator.is_platform_operator
    console = await console_factory()
    assert (await console.login(email)).status_code == 302
    listed = await console.get("/admin/tenant-row/list")
    assert listed.status_code == 200
    assert tenant.slug in listed.text
    assert (await console.get("/admin/staff-row/list")).status_code == 403
    merchant = await console_factory()
    await merchant.login(tenant.admin_email)
    assert (await merchant.get("/admin/tenant-row/list")).status_code == 403
