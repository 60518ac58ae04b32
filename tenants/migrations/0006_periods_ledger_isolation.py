from tortoise import migrations
from tortoise.migrations import operations as ops

from tenants.rls import tenant_foreign_key, tenant_table

# Periods, scorecards, ledger: isolation, keys, and the ledger's append-only guarantee in the database itself.
SQL = [
    *tenant_table("period"),
    *tenant_table("scorecard"),
    *tenant_table("ledger_line"),
    "CREATE UNIQUE INDEX period_key_uniq ON period (tenant_id, scheme_id, key)",
    "CREATE INDEX period_state_idx ON period (tenant_id, state, ends_at)",
    tenant_foreign_key("period", "scheme_id", "scheme"),
    "ALTER TABLE period ADD CONSTRAINT period_state_check CHECK (state IN ('open', 'closing', 'closed', 'stale'))",
    "ALTER TABLE period ADD CONSTRAINT period_window_check CHECK (starts_at < ends_at)",
    "CREATE UNIQUE INDEX scorecard_revision_staff_uniq ON scorecard (tenant_id, period_id, revision, staff_id)",
    tenant_foreign_key("scorecard", "period_id", "period"),
    "CREATE UNIQUE INDEX ledger_line_rule_uniq ON ledger_line (tenant_id, period_id, revision, staff_id, rule_key)",
    "CREATE INDEX ledger_line_staff_idx ON ledger_line (tenant_id, staff_id, period_id)",
    tenant_foreign_key("ledger_line", "period_id", "period"),
    "ALTER TABLE ledger_line ADD CONSTRAINT ledger_line_kind_check "
    "CHECK (kind IN ('commission', 'bonus', 'penalty', 'adjustment'))",
    "CREATE TRIGGER ledger_line_append_only BEFORE UPDATE OR DELETE ON ledger_line "
    "FOR EACH ROW EXECUTE FUNCTION kaohe_refuse_change()",
    # Closed revisions are history; only provisional scorecards (revision 0) may be replaced.
    """
    CREATE FUNCTION kaohe_scorecard_history() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.revision > 0 THEN
            RAISE EXCEPTION 'scorecard % belongs to a closed revision and cannot change', OLD.id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER scorecard_history BEFORE UPDATE OR DELETE ON scorecard "
    "FOR EACH ROW EXECUTE FUNCTION kaohe_scorecard_history()",
]


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0005_periods_ledger")]

    operations = [ops.RunSQL(SQL)]
