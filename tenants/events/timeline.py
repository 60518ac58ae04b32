"""The tenant's rules by instant, for ingestion and reattribution: one statement per batch, parsed rules cached.

Versions are append-only, so a version's parsed rules never change: they are cached by version id (bounded), and a
batch pays one small query (tenants/events/repository.py `timeline_source`, which replaces the settings query
ingestion made before) and no parsing. A tenant with no version is read from its legacy `tenant.settings` (what
migration 0015 could not move because it did not validate), exactly as before versions existed.
"""

from __future__ import annotations

from typing import Final

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.events import repository
from tenants.rules.attribution import AttributionRules, RulesTimeline
from tenants.rules.attribution_config import AttributionConfigInvalid, parse_attribution_config
from tenants.tenancy.identity import TenantId

_CACHE_LIMIT: Final = 10_000
_parsed: dict[int, AttributionRules] = {}


def rules_of_version(version_id: int, config: object) -> AttributionRules:
    rules = _parsed.get(version_id)
    if rules is None:
        try:
            rules = AttributionRules.from_config(parse_attribution_config(config))
        except AttributionConfigInvalid:
            # Stored configs were validated when saved; rules that tightened since must not stop ingestion.
            rules = AttributionRules()
        if len(_parsed) >= _CACHE_LIMIT:
            _parsed.clear()
        _parsed[version_id] = rules
    return rules


async def load_timeline(conn: BaseDBAsyncClient, tenant_id: TenantId) -> RulesTimeline:
    source = await repository.timeline_source(conn, tenant_id)
    if not source.versions:
        return RulesTimeline((), AttributionRules.from_settings(source.settings))
    return RulesTimeline(
        [(effective_at, rules_of_version(version_id, config)) for version_id, effective_at, config in source.versions]
    )
