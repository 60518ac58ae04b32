"""`kaohe db init` and `kaohe db migrate` are idempotent (run as the CLI, in a process of their own, because
migrations initialise Tortoise globally)."""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg

from server.settings import Settings


def kaohe(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KAOHE_DATABASE_URL": settings.database_url,
        "KAOHE_OWNER_DATABASE_URL": settings.owner_database_url,
        "KAOHE_SUPERUSER_URL": settings.superuser_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def test_init_and_migrate_twice_change_nothing(database: Settings, owner_conn: asyncpg.Connection) -> None:
    before = await owner_conn.fetch("SELECT name FROM tortoise_migrations ORDER BY name")
    for _ in range(2):
        for command in (("db", "init"), ("db", "migrate")):
            done = kaohe(database, *command)
            assert done.returncode == 0, done.stderr
    after = await owner_conn.fetch("SELECT name FROM tortoise_migrations ORDER BY name")
    assert after == before
    assert len(before) >= 8
