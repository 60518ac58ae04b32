"""The console's sign-in, session cookie, CSRF and tenant isolation (no browser)."""

from __future__ import annotations

from tests.admin.conftest import ConsoleFactory
from tests.conftest import TenantFactory


async def test_login_sets_a_strict_httponly_secure_session_and_shows_chinese(
    make_tenant: TenantFactory, console_factory: ConsoleFactory
) -> None:
    tenant = await make_tenant()
    console = await console_factory()
    response = await console.login(tenant.admin_email)
    assert response.status_code == 302, response.text
    cookie = response.headers["set-cookie"]
    assert "kaohe_admin=" in cookie
    assert "httponly" in cookie.lower()
    assert "samesite=strict" in cookie.lower()
    assert "secure" in cookie.lower()
    page = await console.get("/admin/staff-row/list")
    assert page.status_code == 200
    assert "员工" in page.text
    assert "退出登录" in page.text
