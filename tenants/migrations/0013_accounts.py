from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

from tenants.rls import owner_can_read, tenant_table

# Issue 9 (accounts): tenant suspension, invitations, password resets, the end of other sessions.
#
# - tenant.suspended_at: a suspended tenant's users and API keys are refused on every request (auth reads it with the
#   membership or the key); its data stays.
# - user.sessions_revoked_at: tokens issued before it are refused (a password change or reset).
# - invitation: tenant-owned (RLS); found by its token's hash before the tenant is known, through a SECURITY DEFINER
#   lookup that answers only the row's id and tenant (like an API key by its prefix). One pending invitation per
#   address and tenant.
# - password_reset: a platform table (a user's password belongs to no tenant).
# - kaohe_user_memberships also answers whether each tenant is suspended (login skips them, auth refuses them), so the
#   check costs no statement of its own. A function's result columns cannot be changed in place: dropped and created.
SQL = [
    *tenant_table("invitation"),
    "CREATE UNIQUE INDEX invitation_token_uniq ON invitation (tenant_id, token_hash)",
    "CREATE INDEX invitation_token_idx ON invitation (token_hash)",
    "CREATE UNIQUE INDEX invitation_pending_email_uniq ON invitation (tenant_id, lower(email)) "
    "WHERE accepted_at IS NULL AND revoked_at IS NULL",
    "CREATE INDEX invitation_created_idx ON invitation (tenant_id, created_at)",
    "ALTER TABLE invitation ADD CONSTRAINT invitation_role_check CHECK (role IN ('owner', 'admin', 'manager', 'staff'))",
    "ALTER TABLE invitation ADD CONSTRAINT invitation_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenant (id)",
    'ALTER TABLE invitation ADD CONSTRAINT invitation_user_fkey FOREIGN KEY (accepted_user_id) REFERENCES "user" (id)',
    owner_can_read("invitation"),
    """
    CREATE FUNCTION kaohe_invitation_by_token_hash(p_token_hash text)
    RETURNS TABLE (id bigint, tenant_id bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT i.id, i.tenant_id FROM invitation i WHERE i.token_hash = p_token_hash
    $$
    """,
    "CREATE INDEX password_reset_user_idx ON password_reset (user_id)",
    'ALTER TABLE password_reset ADD CONSTRAINT password_reset_user_fkey FOREIGN KEY (user_id) REFERENCES "user" (id) '
    "ON DELETE CASCADE",
    "CREATE INDEX tenant_suspended_idx ON tenant (suspended_at) WHERE suspended_at IS NOT NULL",
    "DROP FUNCTION kaohe_user_memberships(bigint)",
    """
    CREATE FUNCTION kaohe_user_memberships(p_user_id bigint)
    RETURNS TABLE (tenant_id bigint, tenant_slug text, tenant_name text, role text, tenant_suspended boolean,
                   member_since timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT m.tenant_id, t.slug::text, t.name::text, m.role::text, t.suspended_at IS NOT NULL, m.created_at
        FROM membership m JOIN tenant t ON t.id = m.tenant_id
        WHERE m.user_id = p_user_id ORDER BY m.tenant_id
    $$
    """,
]


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0012_access_scope")]

    initial = False

    operations = [
        ops.AddField(model_name="Tenant", name="suspended_at", field=fields.DatetimeField(null=True)),
        ops.AddField(model_name="User", name="sessions_revoked_at", field=fields.DatetimeField(null=True)),
        ops.CreateModel(
            name="Invitation",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("tenant_id", fields.BigIntField()),
                ("email", fields.CharField(max_length=320)),
                ("role", fields.CharField(max_length=16)),
                (
                    "team_codes",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("staff_code", fields.CharField(null=True, max_length=64)),
                ("token_hash", fields.CharField(max_length=64)),
                ("invited_by_user_id", fields.BigIntField(null=True)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("accepted_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("accepted_user_id", fields.BigIntField(null=True)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "invitation", "app": "kaohe", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PasswordReset",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("user_id", fields.BigIntField()),
                ("token_hash", fields.CharField(unique=True, max_length=64)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "password_reset", "app": "kaohe", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.RunSQL(SQL),
    ]
