"""Tenancy tables: tenants, users, memberships, API keys, invitations, password resets.

`tenant`, `user` and `password_reset` are platform tables (a user and its password belong to no tenant).
`membership`, `api_key` and `invitation` are tenant-owned: row level security, and keys that include tenant_id, are
added by RunSQL in the migrations (Tortoise cannot declare composite keys).
Secrets (API keys, invitation and reset tokens) are stored as SHA-256 hashes only: they carry 256 random bits.
References between tables are plain id columns; composite foreign keys (tenant_id, x_id) are declared in SQL.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from tenants.db.models import TenantModel


class Tenant(Model):
    id = fields.BigIntField(primary_key=True)
    slug = fields.CharField(max_length=63, unique=True)
    name = fields.CharField(max_length=200)
    timezone = fields.CharField(max_length=64, default="Asia/Shanghai")
    currency = fields.CharField(max_length=3, default="CNY")
    # Tenant-level knobs (close grace hours, auto re-close...) that do not deserve a column each.
    settings: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Set by a platform operator: the tenant's users and API keys are refused on every request; its data stays.
    suspended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "tenant"


class User(Model):
    id = fields.BigIntField(primary_key=True)
    # Stored lower-cased: one account per address whatever the caller's casing.
    email = fields.CharField(max_length=320, unique=True)
    display_name = fields.CharField(max_length=200, default="")
    password_hash = fields.CharField(max_length=255)
    is_platform_operator = fields.BooleanField(default=False)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Tokens issued before this instant are refused (a password change or reset ends the other sessions).
    sessions_revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "user"


class Membership(TenantModel):
    user_id = fields.BigIntField()
    role = fields.CharField(max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "membership"


class ApiKey(TenantModel):
    name = fields.CharField(max_length=200)
    # The public part of the key, used to find the row; the secret part is only stored as a hash.
    prefix = fields.CharField(max_length=32)
    secret_hash = fields.CharField(max_length=128)
    scopes: fields.Field[list[str]] = fields.JSONField(default=list)
    created_by_user_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"


class Invitation(TenantModel):
    """An invitation into the tenant: accepted once, before `expires_at`, with the token mailed to `email`."""

    email = fields.CharField(max_length=320)
    role = fields.CharField(max_length=16)
    # Applied when accepted: the teams a manager manages and the staff record the login is linked to (codes).
    team_codes: fields.Field[list[str]] = fields.JSONField(default=list)
    staff_code = fields.CharField(max_length=64, null=True)
    token_hash = fields.CharField(max_length=64)
    invited_by_user_id = fields.BigIntField(null=True)
    expires_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)
    accepted_user_id = fields.BigIntField(null=True)
    # A newer invitation of the same address replaces a pending one.
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "invitation"


class PasswordReset(Model):
    """A password reset token of one user: used once, before `expires_at`."""

    id = fields.BigIntField(primary_key=True)
    user_id = fields.BigIntField()
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "password_reset"
