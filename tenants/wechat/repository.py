"""Every statement of the WeChat domain, on the connection of the caller's unit of work (never opens one).

- global_unit_of_work (login, before any tenant is known): `binding_owner`, through the SECURITY DEFINER function
  `kaohe_wechat_binding` (migration 0014), which reads across tenants as the owner; it answers the tenant and login of
  one (appid, openid) pair and nothing else.
- tenant_unit_of_work: the tenant's own bindings (RLS), the staff link of a login.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.locks import advisory_key
from tenants.tenancy.identity import TenantId
from tenants.wechat.models import WechatBinding


@dataclass(frozen=True, slots=True)
class BindingOwner:
    tenant_id: int
    user_id: int


async def binding_owner(conn: BaseDBAsyncClient, appid: str, openid: str) -> BindingOwner | None:
    """The login bound to the pair, whatever its tenant (SECURITY DEFINER; the pair is unique platform-wide)."""
    rows = await conn.execute_query_dict("SELECT * FROM kaohe_wechat_binding($1, $2)", [appid, openid])
    return BindingOwner(rows[0]["tenant_id"], rows[0]["user_id"]) if rows else None


async def lock_openid(conn: BaseDBAsyncClient, appid: str, openid: str) -> None:
    """Serialises binds of one pair across tenants (a unique index cannot: it must lead with tenant_id)."""
    await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [advisory_key("wechat-openid", appid, openid)])


async def bindings_of_user(conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int) -> list[WechatBinding]:
    return list(await WechatBinding.filter(tenant_id=tenant_id, user_id=user_id).using_db(conn).order_by("id"))


async def insert_binding(
    conn: BaseDBAsyncClient, tenant_id: TenantId, appid: str, openid: str, user_id: int
) -> WechatBinding:
    return await WechatBinding.create(using_db=conn, tenant_id=tenant_id, appid=appid, openid=openid, user_id=user_id)


async def delete_bindings_of_user(conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int) -> int:
    """How many bindings went (0: the login had none)."""
    return await WechatBinding.filter(tenant_id=tenant_id, user_id=user_id).using_db(conn).delete()


async def active_staff_of_user(conn: BaseDBAsyncClient, tenant_id: TenantId, user_id: int) -> int | None:
    """The id of the active staff record this login is linked to (staff.user_id), if any."""
    rows = await conn.execute_query_dict(
        "SELECT id FROM staff WHERE tenant_id = $1 AND user_id = $2 AND active ORDER BY id LIMIT 1",
        [int(tenant_id), user_id],
    )
    return int(rows[0]["id"]) if rows else None
