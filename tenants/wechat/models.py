"""The binding of a staff login to a WeChat openid (one per login and appid; an openid belongs to one login)."""

from __future__ import annotations

from tortoise import fields

from tenants.db.models import TenantModel


class WechatBinding(TenantModel):
    appid = fields.CharField(max_length=64)
    openid = fields.CharField(max_length=128)
    user_id = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "wechat_binding"
