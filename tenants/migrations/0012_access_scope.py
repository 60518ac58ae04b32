from tortoise import migrations
from tortoise.migrations import operations as ops

from tenants.rls import tenant_foreign_key, tenant_table

# Issue 8: what a login may see inside its tenant (tenants/access/).
#
# `membership_team`: the teams a member manages (a manager sees the subtree under each). No Tortoise model: every
# statement on it is SQL in tenants/access/repository.py, and its natural key (tenant_id, user_id, team_id) is the
# primary key (Tortoise declares single-column keys only). Removing a membership removes its teams (CASCADE); a team
# cannot be deleted while someone manages it.
#
# `staff.user_id` links a staff record to its login: one login per staff member and one staff record per login
# (unique on both sides), and the login must be a member of the tenant: the composite key on membership makes a
# removed member's staff record unlinked (SET NULL on user_id only; Postgres 15).
#
# `event_pending_idx` (issue 8 item 8, the operators' listing, tenants/events/listing.py): events waiting for a
# manager (large orders and their refunds) are few among millions, so "status = pending, by time" is a partial index
# of those few rows, and their count reads only them. Small and rarely written: it does not slow the bulk imports.
# `event_staff_time_idx`: one staff member's events in the listing's order. Without it a page of a staff member with
# few (recent) events walks the tenant's whole time index from the oldest event, filtering (the planner bets the
# staff member's events are spread evenly in time); event_staff_customer_idx has the customer before the time.
SQL = [
    """
    CREATE TABLE membership_team (
        tenant_id bigint NOT NULL,
        user_id bigint NOT NULL,
        team_id bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    *tenant_table("membership_team", primary_key="user_id, team_id"),
    "ALTER TABLE membership_team ADD CONSTRAINT membership_team_membership_fkey FOREIGN KEY (tenant_id, user_id) "
    "REFERENCES membership (tenant_id, user_id) ON DELETE CASCADE",
    tenant_foreign_key("membership_team", "team_id", "team"),
    # "Who manages this team": a team's managers are found without scanning every membership.
    "CREATE INDEX membership_team_team_idx ON membership_team (tenant_id, team_id)",
    "CREATE UNIQUE INDEX staff_user_uniq ON staff (tenant_id, user_id) WHERE user_id IS NOT NULL",
    "ALTER TABLE staff ADD CONSTRAINT staff_user_membership_fkey FOREIGN KEY (tenant_id, user_id) "
    "REFERENCES membership (tenant_id, user_id) ON DELETE SET NULL (user_id)",
    "CREATE INDEX event_pending_idx ON event (tenant_id, occurred_at, id) WHERE status = 'pending'",
    "CREATE INDEX event_staff_time_idx ON event (tenant_id, staff_id, occurred_at, id)",
]


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0011_event_credits_sent")]

    initial = False

    operations = [ops.RunSQL(SQL)]
