"""The abstract base of every tenant-owned table.

A tenant table has a bigint `id` and a `tenant_id`; its migration makes the primary key `(tenant_id, id)`, enables and
forces row level security with the tenant policy, and makes every unique index and foreign key between tenant tables
include `tenant_id` (tenants/rls.py; tests/tenancy/test_catalogue.py and tests/test_scale_out.py hold every table to
it). Tortoise declares one primary key only, so the composite key lives in the migrations.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class TenantModel(Model):
    id = fields.BigIntField(primary_key=True)
    tenant_id = fields.BigIntField()

    class Meta:
        abstract = True


class Timestamps:
    """Rows the merchant edits in place (master data, drafts): when they were created and last changed."""

    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
