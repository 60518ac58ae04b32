"""Schemes and their versions. A published version is immutable: editing means a new draft."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from tenants.db.models import TenantModel, Timestamps


class Scheme(TenantModel):
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "scheme"


class SchemeVersion(TenantModel, Timestamps):
    scheme_id = fields.BigIntField()
    number = fields.IntField()
    config: fields.Field[dict[str, Any]] = fields.JSONField()
    status = fields.CharField(max_length=16, default="draft")
    effective_from = fields.DateField(null=True)
    created_by_user_id = fields.BigIntField(null=True)
    published_by_user_id = fields.BigIntField(null=True)
    published_at = fields.DatetimeField(null=True)

    class Meta:
        table = "scheme_version"
