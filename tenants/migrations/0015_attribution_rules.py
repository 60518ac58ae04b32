import json
from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

from tenants.rls import tenant_foreign_key, tenant_table
from tenants.rules.attribution_config import (
    AttributionConfigInvalid,
    config_from_legacy_settings,
    parse_attribution_config,
    stored_form,
)

# Issue 10 items 1 and 2: attribution rules as validated, effective-dated versions; customers first seen in an event.
#
# `attribution_rule_version`: a tenant's attribution rules (tenants/rules/attribution_config.py), append-only: a new
# version takes effect at `effective_at` (the first instant of `effective_from` in the tenant's timezone); ingestion
# credits each event by the version in force at its time. No Tortoise model: every statement is SQL in
# tenants/attribution/repository.py. The rules that lived in `tenant.settings` (unvalidated) become version 1,
# effective since 1970 (so every event keeps the rules it had) when they validate; a tenant whose settings do not
# validate keeps them as they are read today (ingestion's fallback when a tenant has no version) until an admin saves
# rules.
#
# `customer_binding`: every change of a customer's exclusive guide (an unbinding too: guide NULL), written by a
# trigger on `customer` whoever changes it (master data upserts, the admin console), so an order is credited by the
# binding of its own time: a rebinding moves only later orders, also for late events and a reattribution.
#
# `customer.created_from_event`: a customer an order named before the merchant synced it (name empty).
# `event.credits_edited`: credits a manager set when confirming (a reattribution keeps them).
SQL = [
    """
    CREATE TABLE attribution_rule_version (
        id bigserial NOT NULL,
        tenant_id bigint NOT NULL,
        number integer NOT NULL,
        config jsonb NOT NULL,
        effective_from date NOT NULL,
        effective_at timestamptz NOT NULL,
        created_by_user_id bigint,
        created_by_api_key_id bigint,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE UNIQUE INDEX attribution_rule_version_number_uniq ON attribution_rule_version (tenant_id, number)",
    "CREATE INDEX attribution_rule_version_effective_idx ON attribution_rule_version (tenant_id, effective_at)",
    "CREATE TRIGGER attribution_rule_version_append_only BEFORE UPDATE OR DELETE ON attribution_rule_version "
    "FOR EACH ROW EXECUTE FUNCTION kaohe_refuse_change()",
    """
    CREATE TABLE customer_binding (
        id bigserial NOT NULL,
        tenant_id bigint NOT NULL,
        customer_id bigint NOT NULL,
        guide_staff_id bigint,
        bound_since timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE UNIQUE INDEX customer_binding_since_uniq ON customer_binding (tenant_id, customer_id, bound_since)",
    tenant_foreign_key("customer_binding", "customer_id", "customer", on_delete="CASCADE"),
    # The bindings as they are now (history starts here).
    "INSERT INTO customer_binding (tenant_id, customer_id, guide_staff_id, bound_since) "
    "SELECT tenant_id, id, guide_staff_id, bound_since FROM customer "
    "WHERE guide_staff_id IS NOT NULL AND bound_since IS NOT NULL",
    # Runs as the writer (SECURITY INVOKER): the row is checked by the table's policy like any insert.
    """
    CREATE FUNCTION kaohe_record_customer_binding() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' AND NEW.guide_staff_id IS NULL THEN
            RETURN NULL;
        END IF;
        INSERT INTO customer_binding (tenant_id, customer_id, guide_staff_id, bound_since)
        VALUES (NEW.tenant_id, NEW.id, NEW.guide_staff_id, COALESCE(NEW.bound_since, now()))
        ON CONFLICT (tenant_id, customer_id, bound_since) DO UPDATE SET guide_staff_id = EXCLUDED.guide_staff_id;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER customer_binding_insert AFTER INSERT ON customer "
    "FOR EACH ROW EXECUTE FUNCTION kaohe_record_customer_binding()",
    "CREATE TRIGGER customer_binding_update AFTER UPDATE OF guide_staff_id, bound_since ON customer FOR EACH ROW "
    "WHEN (OLD.guide_staff_id IS DISTINCT FROM NEW.guide_staff_id OR OLD.bound_since IS DISTINCT FROM NEW.bound_since) "
    "EXECUTE FUNCTION kaohe_record_customer_binding()",
    "ALTER TABLE customer ADD COLUMN created_from_event boolean NOT NULL DEFAULT false",
    "ALTER TABLE event ADD COLUMN credits_edited boolean NOT NULL DEFAULT false",
    # Pending large orders are listed oldest first by `event_pending_idx` (migration 0012).
]

# After the legacy settings moved in (the owner inserts without a tenant set; FORCE would refuse it before).
ISOLATION = [
    *tenant_table("attribution_rule_version"),
    *tenant_table("customer_binding"),
]


async def _settings_into_first_versions(apps: Any, schema_editor: Any) -> None:
    """tenant.settings' attribution rules -> version 1 effective since 1970-01-01, when they validate."""
    client = schema_editor.client
    rows = await client.execute_query_dict("SELECT id, settings FROM tenant ORDER BY id")
    for row in rows:
        settings = row["settings"]
        if isinstance(settings, str):
            settings = json.loads(settings)
        legacy = config_from_legacy_settings(settings)
        if legacy is None:
            continue
        try:
            config = parse_attribution_config(legacy)
        except AttributionConfigInvalid:  # settings that never validated stay the fallback, read as before
            continue
        await client.execute_query(
            "INSERT INTO attribution_rule_version (tenant_id, number, config, effective_from, effective_at) "
            "VALUES ($1, 1, $2::jsonb, DATE '1970-01-01', TIMESTAMPTZ '1970-01-01T00:00:00Z')",
            [row["id"], json.dumps(stored_form(config))],
        )


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0014_wechat_disputes_approvals")]

    initial = False

    operations = [
        ops.RunSQL(SQL),
        ops.RunPython(_settings_into_first_versions),
        ops.RunSQL(ISOLATION),
    ]
