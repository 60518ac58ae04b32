"""Database bootstrap (`kaohe db init`) and migrations (`kaohe db migrate`); both idempotent.

init, as a superuser: the owner role (owns the schema and tables, runs migrations), the app role (LOGIN, NOBYPASSRLS,
not an owner, DML only), the database, and default privileges so every table the owner creates later is granted to
the app role for DML and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import asyncpg

from server.db import owner_tortoise_config
from server.settings import Settings, replace_database

MIGRATIONS_TABLE = "tortoise_migrations"


@dataclass(frozen=True)
class RoleSpec:
    name: str
    password: str | None


def _role(url: str) -> RoleSpec:
    parts = urlsplit(url)
    if not parts.username:
        raise ValueError(f"database URL without a user name: {url}")
    return RoleSpec(unquote(parts.username), unquote(parts.password) if parts.password else None)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def _ensure_role(conn: asyncpg.Connection, role: RoleSpec) -> None:
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role.name)
    verb = "ALTER" if exists else "CREATE"
    password = f" PASSWORD {_literal(role.password)}" if role.password else ""
    # NOSUPERUSER NOBYPASSRLS matter for the app role: superusers and BYPASSRLS roles ignore row level security.
    await conn.execute(
        f"{verb} ROLE {_ident(role.name)} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB{password}"
    )


async def init_database(settings: Settings) -> None:
    owner = _role(settings.owner_database_url)
    app = _role(settings.database_url)
    if owner.name == app.name:
        raise ValueError("the app role must differ from the owner role, or RLS would not apply to the app")
    database = settings.database_name
    conn = await asyncpg.connect(settings.superuser_url)
    try:
        await _ensure_role(conn, owner)
        await _ensure_role(conn, app)
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f"CREATE DATABASE {_ident(database)} OWNER {_ident(owner.name)}")
    finally:
        await conn.close()

    conn = await asyncpg.connect(replace_database(settings.superuser_url, database))
    try:
        o, a = _ident(owner.name), _ident(app.name)
        await conn.execute(
            f"""
            ALTER DATABASE {_ident(database)} OWNER TO {o};
            ALTER SCHEMA public OWNER TO {o};
            REVOKE CREATE ON SCHEMA public FROM PUBLIC;
            GRANT USAGE ON SCHEMA public TO {a};
            GRANT CONNECT ON DATABASE {_ident(database)} TO {a};
            ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public
                GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {a};
            ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {a};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {a};
            GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {a};
            """
        )
        await _revoke_migration_bookkeeping(conn, app.name)
    finally:
        await conn.close()


async def _revoke_migration_bookkeeping(conn: asyncpg.Connection, app_role: str) -> None:
    # The app has no business reading or writing the migration history.
    if await conn.fetchval("SELECT to_regclass($1)", MIGRATIONS_TABLE):
        await conn.execute(f"REVOKE ALL ON {MIGRATIONS_TABLE} FROM {_ident(app_role)}")


async def migrate_database(settings: Settings) -> None:
    from tortoise import Tortoise
    from tortoise.migrations.api.migrate import migrate

    try:
        await migrate(config=owner_tortoise_config(settings))
    finally:
        await Tortoise.close_connections()
    conn = await asyncpg.connect(settings.owner_database_url)
    try:
        await _revoke_migration_bookkeeping(conn, _role(settings.database_url).name)
    finally:
        await conn.close()


async def drop_database(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.superuser_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_ident(settings.database_name)} WITH (FORCE)")
    finally:
        await conn.close()
