"""SQL building blocks for tenant-owned tables, used by RunSQL migrations.

Every tenant-owned table gets: RLS enabled and forced (the owner too), the `tenant_isolation` policy on the
transaction-local `app.tenant_id` setting (USING and WITH CHECK, so rows can neither be seen nor written for another
tenant), a primary key that leads with tenant_id (Citus-ready: the distribution column is in every key).
The policy reads the setting through a sub-select so Postgres evaluates it once per statement (initplan).
"""

from __future__ import annotations

CURRENT_TENANT = "(SELECT nullif(current_setting('app.tenant_id', true), '')::bigint)"


def tenant_table(table: str, *, primary_key: str = "id") -> list[str]:
    return [
        f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_pkey",
        f"ALTER TABLE {table} ADD PRIMARY KEY (tenant_id, {primary_key})",
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING (tenant_id = {CURRENT_TENANT}) "
        f"WITH CHECK (tenant_id = {CURRENT_TENANT})",
    ]


def owner_can_read(table: str) -> str:
    """Lets the owner role (migrations, SECURITY DEFINER lookups) read across tenants; the app role never can."""
    return f"CREATE POLICY owner_lookup ON {table} FOR SELECT TO CURRENT_USER USING (true)"


def tenant_foreign_key(table: str, column: str, target: str, *, on_delete: str = "RESTRICT") -> str:
    """A composite foreign key (tenant_id, column) -> target (tenant_id, id): a row can only point inside its tenant."""
    return (
        f"ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_fkey FOREIGN KEY (tenant_id, {column}) "
        f"REFERENCES {target} (tenant_id, id) ON DELETE {on_delete}"
    )
