"""Entry points of WeChat mini-program login: wechatLogin, bindWechat, unbindWechat.

WeChat is asked (client.py) before any unit of work opens: no transaction waits on the network. Logging in answers
tokens (TokenService.issue) for the login bound to the code's openid, in the tenant it was bound in, once the login is
still an active member of that tenant and the tenant is not suspended; otherwise the openid counts as unbound (or the
tenant as suspended), never as another tenant's. Binding needs a signed-in staff login, which auth already refuses for
a suspended tenant. Binding and unbinding are audited in the unit of work that makes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tenants.audit.service import Actor, record
from tenants.db.uow import global_unit_of_work, tenant_unit_of_work
from tenants.i18n import _
from tenants.tenancy import repository as tenancy_repository
from tenants.tenancy.auth import TENANT_SUSPENDED_MESSAGE, TokenPair, TokenService
from tenants.tenancy.identity import TenantId, tenant_id_from_membership
from tenants.wechat import repository
from tenants.wechat.client import WechatSettings, exchange_code
from tenants.wechat.errors import WechatError, WechatErrorCode
from tenants.wechat.limits import WechatLoginLimiter

NOT_BOUND_MESSAGE = _("This WeChat account is not bound to a staff login; sign in with your password and bind it.")


@dataclass(frozen=True, slots=True)
class Binding:
    appid: str
    bound_at: datetime


async def wechat_login(
    settings: WechatSettings, tokens: TokenService, code: str, *, limiter: WechatLoginLimiter, address: str
) -> TokenPair:
    """Tokens for the login bound to the code's openid. A client address with too many failed attempts is refused
    before WeChat is asked (limits.py)."""
    await limiter.check(address)
    try:
        return await _wechat_login(settings, tokens, code)
    except WechatError as error:
        await limiter.record(address, error)
        raise


async def _wechat_login(settings: WechatSettings, tokens: TokenService, code: str) -> TokenPair:
    session = await exchange_code(settings, code)
    async with global_unit_of_work() as conn:
        owner = await repository.binding_owner(conn, session.appid, session.openid)
        user = await tenancy_repository.active_user_with_memberships(conn, owner.user_id) if owner else None
    membership = next((m for m in user.memberships if m.tenant_id == owner.tenant_id), None) if owner and user else None
    if owner is None or membership is None:
        raise WechatError.of(WechatErrorCode.NOT_BOUND, NOT_BOUND_MESSAGE, "code")
    if membership.tenant_suspended:
        raise WechatError.of(WechatErrorCode.TENANT_SUSPENDED, TENANT_SUSPENDED_MESSAGE, "code")
    return tokens.issue(owner.user_id, tenant_id_from_membership(owner.tenant_id))


async def bind_wechat(settings: WechatSettings, tenant_id: TenantId, user_id: int, code: str) -> Binding:
    """Binds the code's openid to this staff login. Binding the same openid again answers the binding (a retry);
    another openid while bound is ALREADY_BOUND; an openid bound to any other login (any tenant) is OPENID_TAKEN."""
    session = await exchange_code(settings, code)
    async with tenant_unit_of_work(tenant_id) as conn:
        if await repository.active_staff_of_user(conn, tenant_id, user_id) is None:
            raise WechatError.of(
                WechatErrorCode.NOT_STAFF, _("Only a login linked to an active staff record can bind WeChat.")
            )
        await repository.lock_openid(conn, session.appid, session.openid)
        bindings = await repository.bindings_of_user(conn, tenant_id, user_id)
        same = next((b for b in bindings if b.appid == session.appid and b.openid == session.openid), None)
        if same is not None:
            return Binding(same.appid, same.created_at)
        if any(b.appid == session.appid for b in bindings):
            raise WechatError.of(
                WechatErrorCode.ALREADY_BOUND,
                _("This login is bound to another WeChat account; unbind it first."),
                "code",
            )
        if await repository.binding_owner(conn, session.appid, session.openid) is not None:
            raise WechatError.of(
                WechatErrorCode.OPENID_TAKEN, _("This WeChat account is bound to another login."), "code"
            )
        binding = await repository.insert_binding(conn, tenant_id, session.appid, session.openid, user_id)
        await record(
            conn,
            tenant_id,
            Actor(user_id=user_id),
            "wechat.bind",
            "wechat_binding",
            binding.id,
            after={"user_id": user_id, "appid": session.appid},
        )
    return Binding(binding.appid, binding.created_at)


async def unbind_wechat(tenant_id: TenantId, user_id: int) -> int:
    """Removes this login's WeChat bindings in the tenant; NOT_BOUND when it had none (nothing changed)."""
    async with tenant_unit_of_work(tenant_id) as conn:
        bindings = await repository.bindings_of_user(conn, tenant_id, user_id)
        if not bindings:
            raise WechatError.of(WechatErrorCode.NOT_BOUND, _("This login is not bound to a WeChat account."))
        removed = await repository.delete_bindings_of_user(conn, tenant_id, user_id)
        for binding in bindings:
            await record(
                conn,
                tenant_id,
                Actor(user_id=user_id),
                "wechat.unbind",
                "wechat_binding",
                binding.id,
                before={"user_id": user_id, "appid": binding.appid},
            )
    return removed
