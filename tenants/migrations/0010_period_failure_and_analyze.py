from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# A close that fails for a reason that retrying cannot fix (the scheme's config) is recorded on the period, so the
# cron stops retrying it and the merchant sees why. `kaohe_analyze` lets the app role refresh the planner statistics
# of the tables that bulk writes change (ANALYZE needs the owner; autovacuum may be off or lag behind an onboarding).
SQL = [
    """
    CREATE FUNCTION kaohe_analyze(p_table text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    BEGIN
        IF p_table NOT IN ('team', 'staff', 'customer', 'event') THEN
            RAISE EXCEPTION 'kaohe_analyze: % is not analysed by the app', p_table;
        END IF;
        EXECUTE format('ANALYZE %I', p_table);
    END
    $$
    """,
]


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0009_event_pool_share")]

    initial = False

    operations = [
        ops.AddField(model_name="Period", name="failed_at", field=fields.DatetimeField(null=True)),
        ops.AddField(model_name="Period", name="failure", field=fields.TextField(null=True)),
        ops.RunSQL(SQL),
    ]
