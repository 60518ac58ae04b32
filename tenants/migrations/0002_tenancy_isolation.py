from tortoise import migrations
from tortoise.migrations import operations as ops

from tenants.rls import CURRENT_TENANT, owner_can_read, tenant_table

# Tenancy: RLS on tenant-owned tables, tenant_id-leading keys, composite foreign keys, and the two narrow
# SECURITY DEFINER lookups that must work before a tenant is known (login lists a user's memberships; an API key is
# found by its public prefix). They run as the owner, whose `owner_lookup` policy allows reading across tenants.
SQL = [
    *tenant_table("membership"),
    *tenant_table("api_key"),
    "CREATE UNIQUE INDEX membership_tenant_user_uniq ON membership (tenant_id, user_id)",
    "CREATE INDEX membership_user_idx ON membership (user_id)",
    "CREATE UNIQUE INDEX api_key_tenant_prefix_uniq ON api_key (tenant_id, prefix)",
    "CREATE INDEX api_key_prefix_idx ON api_key (prefix)",
    "ALTER TABLE membership ADD CONSTRAINT membership_role_check CHECK (role IN ('owner', 'admin', 'manager', 'staff'))",
    "ALTER TABLE membership ADD CONSTRAINT membership_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenant (id)",
    'ALTER TABLE membership ADD CONSTRAINT membership_user_fkey FOREIGN KEY (user_id) REFERENCES "user" (id)',
    "ALTER TABLE api_key ADD CONSTRAINT api_key_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenant (id)",
    owner_can_read("membership"),
    owner_can_read("api_key"),
    # The tenant table: a tenant sees its own row; the platform context (operator tools) sees all.
    "ALTER TABLE tenant ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE tenant FORCE ROW LEVEL SECURITY",
    f"CREATE POLICY tenant_self ON tenant USING (id = {CURRENT_TENANT} "
    "OR current_setting('app.platform', true) = 'on') "
    f"WITH CHECK (id = {CURRENT_TENANT} OR current_setting('app.platform', true) = 'on')",
    owner_can_read("tenant"),
    'CREATE UNIQUE INDEX user_email_lower_uniq ON "user" (lower(email))',
    """
    CREATE FUNCTION kaohe_user_memberships(p_user_id bigint)
    RETURNS TABLE (tenant_id bigint, tenant_slug text, tenant_name text, role text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT m.tenant_id, t.slug::text, t.name::text, m.role::text
        FROM membership m JOIN tenant t ON t.id = m.tenant_id
        WHERE m.user_id = p_user_id ORDER BY m.tenant_id
    $$
    """,
    """
    CREATE FUNCTION kaohe_api_key_by_prefix(p_prefix text)
    RETURNS TABLE (id bigint, tenant_id bigint, secret_hash text, scopes jsonb, revoked_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT k.id, k.tenant_id, k.secret_hash::text, k.scopes, k.revoked_at FROM api_key k WHERE k.prefix = p_prefix
    $$
    """,
]


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0001_initial")]

    operations = [ops.RunSQL(SQL)]
