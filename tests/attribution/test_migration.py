"""Migration 0015 moves the unvalidated tenant.settings into version 1 of the attribution rules, effective since 1970,
so nothing changes for existing tenants: the version reads as the settings read; settings that do not validate stay
the fallback (no version). Run here against the migrated test database, in a transaction rolled back at the end."""

from __future__ import annotations

import importlib
import json
from typing import Any

import asyncpg

from tenants.db.uow import platform_unit_of_work
from tenants.rules.attribution import AttributionRules
from tenants.rules.attribution_config import parse_attribution_config
from tenants.tenancy.models import Tenant
from tests.conftest import TenantFactory

migration = importlib.import_module("tenants.migrations.0015_attribution_rules")

LEGACY = {
    "locale": "en",
    "large_order_threshold": "30000",
    "attribution": {
        "exclusive_guide": {"protection_days": 90},
        "o2o": {
            "attribute": "channel",
            "value": "o2o",
            "splits": [{"staff_attribute": "operator", "share": 0.3}, {"staff_attribute": "service", "share": "0.7"}],
        },
    },
}
INVALID = {
    "attribution": {"o2o": {"attribute": "channel", "value": "o2o", "splits": [{"staff_attribute": "a", "share": 2}]}}
}


class _Client:
    """What the migration's RunPython uses of Tortoise's client, over the owner's asyncpg connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def execute_query_dict(self, sql: str, values: list[Any] | None = None) -> list[dict[str, Any]]:
        return [dict(row) for row in await self.conn.fetch(sql, *(values or []))]

    async def execute_query(self, sql: str, values: list[Any] | None = None) -> None:
        await self.conn.execute(sql, *(values or []))


class _Editor:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.client = _Client(conn)


class _RolledBack(Exception):
    pass


async def test_legacy_settings_become_version_one(make_tenant: TenantFactory, owner_conn: asyncpg.Connection) -> None:
    legacy, invalid, plain = [await make_tenant() for _ in range(3)]
    async with platform_unit_of_work():
        await Tenant.filter(id=legacy.tenant_id).update(settings=LEGACY)
        await Tenant.filter(id=invalid.tenant_id).update(settings=INVALID)
    found: dict[int, list[dict[str, Any]]] = {}
    try:
        async with owner_conn.transaction():
            # As when the migration runs: before the table's isolation is forced (rolled back below).
            await owner_conn.execute("ALTER TABLE attribution_rule_version NO FORCE ROW LEVEL SECURITY")
            await owner_conn.execute("ALTER TABLE attribution_rule_version DISABLE ROW LEVEL SECURITY")
            await migration._settings_into_first_versions(None, _Editor(owner_conn))
            for tenant in (legacy, invalid, plain):
                rows = await owner_conn.fetch(
                    "SELECT number, config, effective_from, effective_at FROM attribution_rule_version "
                    "WHERE tenant_id = $1",
                    tenant.tenant_id,
                )
                found[tenant.tenant_id] = [dict(row) for row in rows]
            raise _RolledBack
    except _RolledBack:
        pass
    [version] = found[legacy.tenant_id]
    assert (version["number"], version["effective_from"].isoformat()) == (1, "1970-01-01")
    config = json.loads(version["config"]) if isinstance(version["config"], str) else version["config"]
    assert config == {
        "exclusive_guide": {"protection_days": 90},
        "o2o": {
            "when": {"channel": "o2o"},
            "splits": [
                {"role": None, "staff_attribute": "operator", "share": "0.3"},
                {"role": None, "staff_attribute": "service", "share": "0.7"},
            ],
        },
        "large_order_threshold": "30000",
        "create_unknown_customers": True,
    }
    assert AttributionRules.from_config(parse_attribution_config(config)) == AttributionRules.from_settings(LEGACY)
    assert found[invalid.tenant_id] == []  # stays on its settings, read as before
    assert found[plain.tenant_id] == []
