"""Every table with a tenant_id column is isolated by the database itself; the app role cannot get around it."""

from __future__ import annotations

import asyncpg

from server.settings import Settings
from tenants.rls import CURRENT_TENANT

TENANT_TABLES_QUERY = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) AS owner
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
ORDER BY c.relname
"""


async def test_every_tenant_table_forces_rls_with_the_tenant_policy(
    owner_conn: asyncpg.Connection, database: Settings
) -> None:
    tables = await owner_conn.fetch(TENANT_TABLES_QUERY)
    assert {"membership", "api_key"} <= {t["relname"] for t in tables}
    problems = []
    for table in tables:
        name = table["relname"]
        if not (table["relrowsecurity"] and table["relforcerowsecurity"]):
            problems.append(f"{name}: RLS not enabled and forced")
        policies = await owner_conn.fetch(
            "SELECT policyname, roles::text[] AS roles, cmd, qual, with_check FROM pg_policies "
            "WHERE schemaname = 'public' AND tablename = $1",
            name,
        )
        expected = f"(tenant_id = {CURRENT_TENANT})"
        isolation = [p for p in policies if p["policyname"] == "tenant_isolation"]
        if not isolation or "app.tenant_id" not in (isolation[0]["qual"] or "") or not isolation[0]["with_check"]:
            problems.append(
                f"{name}: no tenant_isolation policy with USING and WITH CHECK on app.tenant_id ({expected})"
            )
        for policy in policies:
            # Any other policy must not apply to the app role (policies are OR-ed: one wide policy opens the table).
            if policy["policyname"] != "tenant_isolation" and (
                "public" in policy["roles"] or database.database_url.split("//")[1].split(":")[0] in policy["roles"]
            ):
                problems.append(f"{name}: policy {policy['policyname']} applies to the app role")
        primary_key = await owner_conn.fetchval(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'", name
        )
        if not primary_key or "tenant_id" not in primary_key:
            problems.append(f"{name}: primary key {primary_key} does not include tenant_id")
        uniques = await owner_conn.fetch(
            "SELECT indexrelid::regclass::text AS index, pg_get_indexdef(indexrelid) AS definition FROM pg_index "
            "WHERE indrelid = $1::regclass AND indisunique",
            name,
        )
        for unique in uniques:
            if "tenant_id" not in unique["definition"]:
                problems.append(f"{name}: unique index {unique['index']} does not include tenant_id")
    assert problems == []


async def test_app_role_owns_nothing_and_cannot_bypass_rls(owner_conn: asyncpg.Connection, database: Settings) -> None:
    app_role = database.database_url.split("//")[1].split(":")[0]
    role = await owner_conn.fetchrow(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1", app_role
    )
    assert role is not None
    assert dict(role) == {"rolsuper": False, "rolbypassrls": False, "rolcreaterole": False, "rolcreatedb": False}
    owned = await owner_conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = $1",
        app_role,
    )
    assert owned == []
    # DML only: no TRUNCATE (not covered by RLS), REFERENCES or TRIGGER on any table.
    extra = await owner_conn.fetch(
        "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
        "WHERE grantee = $1 AND privilege_type NOT IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')",
        app_role,
    )
    assert extra == []
    migrations_grants = await owner_conn.fetch(
        "SELECT privilege_type FROM information_schema.role_table_grants "
        "WHERE grantee = $1 AND table_name = 'tortoise_migrations'",
        app_role,
    )
    assert migrations_grants == []
