"""`kaohe db init` and `kaohe db migrate` are idempotent."""

from __future__ import annotations

import asyncpg

from server.dbadmin import init_database, migrate_database
from server.settings import Settings


async def test_init_and_migrate_twice_change_nothing(database: Settings, owner_conn: asyncpg.Connection) -> None:
    before = await owner_conn.fetch("SELECT name FROM tortoise_migrations ORDER BY name")
    await init_database(database)
    await migrate_database(database)
    await init_database(database)
    await migrate_database(database)
    after = await owner_conn.fetch("SELECT name FROM tortoise_migrations ORDER BY name")
    assert after == before
    assert len(before) >= 8
