from tortoise import migrations
from tortoise.migrations import operations as ops

from tenants.rls import tenant_foreign_key, tenant_table

# Isolation and keys for master data, schemes, audit log and events.
#
# Events: one table, no partitioning, indexed (tenant_id, occurred_at) and (tenant_id, received_at).
# Why not monthly partitions: the integration contract needs `externalId` unique per tenant across all time, and a
# unique constraint on a partitioned table must contain the partition key, so duplicates could only be caught within a
# month. A period close reads one tenant's window, which the (tenant_id, occurred_at) index serves as one range scan;
# under Citus the table is distributed by tenant_id, which bounds each shard. Late arrivals for closed periods are
# found through (tenant_id, received_at). No foreign keys on event: ids are resolved from codes inside the tenant's
# unit of work (RLS-scoped), and per-row FK checks would halve the COPY rate of bulk imports.
SQL = [
    *tenant_table("team"),
    *tenant_table("staff"),
    *tenant_table("customer"),
    *tenant_table("scheme"),
    *tenant_table("scheme_version"),
    *tenant_table("audit_log"),
    *tenant_table("event"),
    "CREATE UNIQUE INDEX team_code_uniq ON team (tenant_id, code)",
    "CREATE UNIQUE INDEX staff_code_uniq ON staff (tenant_id, code)",
    "CREATE UNIQUE INDEX customer_code_uniq ON customer (tenant_id, code)",
    "CREATE INDEX staff_team_idx ON staff (tenant_id, team_id)",
    "CREATE INDEX team_parent_idx ON team (tenant_id, parent_id)",
    tenant_foreign_key("team", "parent_id", "team"),
    tenant_foreign_key("staff", "team_id", "team"),
    tenant_foreign_key("customer", "guide_staff_id", "staff"),
    "CREATE UNIQUE INDEX scheme_version_number_uniq ON scheme_version (tenant_id, scheme_id, number)",
    tenant_foreign_key("scheme_version", "scheme_id", "scheme"),
    "ALTER TABLE scheme_version ADD CONSTRAINT scheme_version_status_check CHECK (status IN ('draft', 'published'))",
    "ALTER TABLE scheme_version ADD CONSTRAINT scheme_version_published_dated "
    "CHECK (status = 'draft' OR effective_from IS NOT NULL)",
    "CREATE INDEX audit_log_entity_idx ON audit_log (tenant_id, entity, entity_id, at)",
    "CREATE UNIQUE INDEX event_external_id_uniq ON event (tenant_id, external_id)",
    "CREATE INDEX event_occurred_idx ON event (tenant_id, occurred_at)",
    "CREATE INDEX event_received_idx ON event (tenant_id, received_at)",
    "ALTER TABLE event ADD CONSTRAINT event_status_check CHECK (status IN ('counted', 'pending'))",
    "ALTER TABLE event ADD CONSTRAINT event_credit_arrays CHECK "
    "(cardinality(credit_staff_ids) = cardinality(credit_shares))",
    # Append-only tables: the database refuses changes whatever the application does.
    """
    CREATE FUNCTION kaohe_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% on % is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION kaohe_refuse_change()",
    # A published version never changes (editing makes a new draft).
    """
    CREATE FUNCTION kaohe_scheme_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.status = 'published' THEN
            RAISE EXCEPTION 'scheme version % is published and cannot change', OLD.id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER scheme_version_immutable BEFORE UPDATE OR DELETE ON scheme_version "
    "FOR EACH ROW EXECUTE FUNCTION kaohe_scheme_version_immutable()",
]


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0003_master_data_schemes_events")]

    operations = [ops.RunSQL(SQL)]
