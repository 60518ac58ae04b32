"""A merchant onboarded through the product gets planner statistics: after a bulk upsert of staff committed, the
table is analysed (tenants/statistics.py), so the close's plan does not assume an empty table.

The table must be fresh (never analysed, reltuples -1), which the run's shared database cannot promise (other tests
analyse it): the upsert runs in a process of its own, on a database of its own, created and migrated for this test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from server.dbadmin import drop_database
from server.settings import Settings

ONBOARDING = """
import asyncio, json

from tortoise import Tortoise
from tortoise.connection import get_connection

from server.db import app_tortoise_config
from server.dbadmin import init_database, migrate_database
from server.settings import get_settings
from tenants.audit.service import SYSTEM
from tenants.staff.records import StaffItem
from tenants.staff.service import upsert_staff
from tenants.tenancy.identity import tenant_id_for_system
from tenants.tenancy.service import create_tenant


async def reltuples():
    rows = await get_connection("default").execute_query_dict(
        "SELECT reltuples FROM pg_class WHERE oid = 'public.staff'::regclass"
    )
    return float(rows[0]["reltuples"])


async def main():
    settings = get_settings()
    await init_database(settings)
    await migrate_database(settings)
    await Tortoise.init(config=app_tortoise_config(settings))
    try:
        tenant = await create_tenant("onboarding", "Onboarding", "Asia/Shanghai")
        before = await reltuples()
        staff = [StaffItem(f"guide-{index:04d}", f"Guide {index}", "guide") for index in range(1000)]
        outcome = await upsert_staff(tenant_id_for_system(tenant.id), SYSTEM, staff)
        after = await reltuples()
        print(json.dumps({"before": before, "after": after, "created": outcome.created}))
    finally:
        await Tortoise.close_connections()


asyncio.run(main())
"""


def test_a_fresh_staff_table_is_analysed_after_a_bulk_upsert(database: Settings) -> None:
    fresh = database.with_database(f"kaohe_test_onboarding_{uuid.uuid4().hex[:8]}")
    env = {
        **os.environ,
        "KAOHE_ENV": "test",
        "KAOHE_DATABASE_URL": fresh.database_url,
        "KAOHE_OWNER_DATABASE_URL": fresh.owner_database_url,
        "KAOHE_SUPERUSER_URL": fresh.superuser_url,
        "KAOHE_REDIS_URL": fresh.redis_url,
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", ONBOARDING], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        measured = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        import asyncio

        asyncio.run(drop_database(fresh))
    # never analysed before; afterwards the planner knows the 1,000 rows (ANALYZE reads every page of a small table)
    assert measured == {"before": -1.0, "after": 1000.0, "created": 1000}
