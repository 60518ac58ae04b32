"""Audit log: who changed what, when, with the state before and after."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from tenants.db.models import TenantModel


class AuditEntry(TenantModel):
    actor_user_id = fields.BigIntField(null=True)
    actor_api_key_id = fields.BigIntField(null=True)
    action = fields.CharField(max_length=64)
    entity = fields.CharField(max_length=64)
    entity_id = fields.BigIntField(null=True)
    before: fields.Field[Any] = fields.JSONField(null=True)
    after: fields.Field[Any] = fields.JSONField(null=True)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "audit_log"
