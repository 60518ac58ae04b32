"""The demo tenant seeded by `make demo` / `kaohe demo` (idempotent)."""

from __future__ import annotations

from tenants.tenancy import service
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import tenant_id_for_system

DEMO_SLUG = "demo"
DEMO_EMAIL = "admin@demo.kaohe.local"
DEMO_PASSWORD = "kaohe-demo-2026"
OPERATOR_EMAIL = "operator@kaohe.local"


async def seed_demo() -> str:
    tenant = await service.tenant_by_slug(DEMO_SLUG) or await service.create_tenant(
        DEMO_SLUG, "演示门店 Demo Store", "Asia/Shanghai"
    )
    tenant_id = tenant_id_for_system(tenant.id)
    admin = await service.user_by_email(DEMO_EMAIL) or await service.create_user(
        DEMO_EMAIL, DEMO_PASSWORD, "演示管理员"
    )
    await service.add_membership(tenant_id, admin.id, Role.ADMIN)
    if await service.user_by_email(OPERATOR_EMAIL) is None:
        await service.create_user(OPERATOR_EMAIL, DEMO_PASSWORD, "Platform operator", platform_operator=True)
    return f"demo tenant '{DEMO_SLUG}' (id {tenant.id}) with admin {DEMO_EMAIL}; operator {OPERATOR_EMAIL}"
