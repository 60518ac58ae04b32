"""The schema stays ready for Citus by tenant_id: docs/scale-out.md distributes every tenant table, and every key
Citus needs to carry the distribution column does."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg

from tests.tenancy.test_catalogue import TENANT_TABLES_QUERY

DOC = Path(__file__).resolve().parent.parent / "docs" / "scale-out.md"


def _ddl() -> str:
    blocks = re.findall(r"```sql\n(.*?)```", DOC.read_text(), re.S)
    assert blocks, "docs/scale-out.md has no sql block"
    return "\n".join(blocks)


async def test_every_tenant_table_is_distributed_by_tenant_id_and_colocated(owner_conn: asyncpg.Connection) -> None:
    tenant_tables = {row["relname"] for row in await owner_conn.fetch(TENANT_TABLES_QUERY)}
    distributed = dict(re.findall(r"create_distributed_table\('(\w+)', '(\w+)'", _ddl()))
    assert set(distributed) == tenant_tables
    assert set(distributed.values()) == {"tenant_id"}
    anchors = set(re.findall(r"colocate_with => '(\w+)'", _ddl()))
    assert anchors <= tenant_tables
    assert len(anchors) == 1


async def test_platform_tables_are_reference_tables(owner_conn: asyncpg.Connection) -> None:
    platform = {
        row["relname"]
        for row in await owner_conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'tortoise_migrations' "
            f"EXCEPT SELECT relname FROM ({TENANT_TABLES_QUERY}) tenant_tables"
        )
    }
    assert set(re.findall(r"create_reference_table\('(\w+)'\)", _ddl())) == platform


async def test_keys_between_tenant_tables_include_tenant_id(owner_conn: asyncpg.Connection) -> None:
    tenant_tables = {row["relname"] for row in await owner_conn.fetch(TENANT_TABLES_QUERY)}
    constraints = await owner_conn.fetch(
        "SELECT (SELECT relname FROM pg_class WHERE oid = conrelid)::text AS source, "
        "(SELECT relname FROM pg_class WHERE oid = confrelid)::text AS target, contype::text AS contype, "
        "pg_get_constraintdef(oid) AS definition, "
        "(SELECT array_agg(attname::text) FROM pg_attribute WHERE attrelid = conrelid AND attnum = ANY(conkey)) "
        "AS columns, "
        "(SELECT array_agg(attname::text) FROM pg_attribute WHERE attrelid = confrelid AND attnum = ANY(confkey)) "
        "AS target_columns "
        "FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype IN ('p', 'u', 'f')"
    )
    problems = []
    for constraint in constraints:
        source = constraint["source"]
        if source not in tenant_tables:
            continue
        if constraint["contype"] in ("p", "u") and "tenant_id" not in constraint["columns"]:
            problems.append(f"{source}: {constraint['definition']}")
        target = constraint["target"] or ""
        if (
            constraint["contype"] == "f"
            and target in tenant_tables
            and ("tenant_id" not in constraint["columns"] or "tenant_id" not in constraint["target_columns"])
        ):
            problems.append(f"{source}: {constraint['definition']}")
    assert problems == []
    foreign_keys = [c for c in constraints if c["contype"] == "f" and c["source"] in tenant_tables]
    assert any(c["target"] in tenant_tables for c in foreign_keys)  # the check above looked at some
