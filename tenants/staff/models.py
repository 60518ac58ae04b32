"""Master data: teams (a tree), staff, customers. Tenant-owned; keyed by the merchant's external codes."""

from __future__ import annotations

from tortoise import fields

from tenants.db.models import TenantModel, Timestamps


class Team(TenantModel, Timestamps):
    code = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    # region > store > group; free text so merchants can name their own levels.
    kind = fields.CharField(max_length=32, default="store")
    parent_id = fields.BigIntField(null=True)

    class Meta:
        table = "team"


class Staff(TenantModel, Timestamps):
    code = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    role = fields.CharField(max_length=32)
    team_id = fields.BigIntField(null=True)
    active = fields.BooleanField(default=True)
    hired_on = fields.DateField(null=True)
    left_on = fields.DateField(null=True)
    # The staff member's own login (mini-program), when they have one.
    user_id = fields.BigIntField(null=True)

    class Meta:
        table = "staff"


class Customer(TenantModel, Timestamps):
    code = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200, default="")
    # Exclusive guide (专属导购) binding: orders of this customer are credited to the guide while bound.
    guide_staff_id = fields.BigIntField(null=True)
    bound_since = fields.DatetimeField(null=True)

    class Meta:
        table = "customer"
