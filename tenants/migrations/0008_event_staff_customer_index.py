from tortoise import migrations
from tortoise.migrations import operations as ops

# Incremental re-close: "did this staff member already have an event with this customer in the period?" is one
# index probe per late event; team pools read only the (few) events credited to a team.
SQL = [
    "CREATE INDEX event_staff_customer_idx ON event (tenant_id, staff_id, customer_id, occurred_at)",
    "CREATE INDEX event_pool_idx ON event (tenant_id, occurred_at) WHERE pool_team_id IS NOT NULL",
]


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0007_scorecard_state")]

    operations = [ops.RunSQL(SQL)]
