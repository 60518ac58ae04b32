from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from tenants.rls import owner_can_read, tenant_foreign_key, tenant_table

# Issue 9 items 3-5.
# - wechat_binding: a staff login bound to a WeChat mini-program openid. The openid is unique per appid across every
#   tenant, but a unique index must lead with tenant_id (Citus, the catalogue test): the cross-tenant uniqueness is
#   kept by `kaohe_wechat_binding` (SECURITY DEFINER, the lookup login needs before any tenant is known) read under a
#   transaction advisory lock on the (appid, openid) pair by every bind (tenants/wechat/repository.py).
# - dispute: a staff member's dispute of one of their ledger lines; at most one open dispute per line.
# - ledger_line: `corrects_period_id`/`corrects_revision` mark a prior-period adjustment (the line is paid in the
#   statement of `period_id`, and corrects that period's revision); `dispute_id` marks a dispute's adjustment. The rule
#   key stays unique per statement revision and staff among the lines of one origin (NULLS NOT DISTINCT: PG 15).
# - period: the approval of its statements (who, when, which revision) and the last reopening (when, why); the close
#   state machine is unchanged.
SQL = [
    *tenant_table("wechat_binding"),
    "CREATE UNIQUE INDEX wechat_binding_openid_uniq ON wechat_binding (tenant_id, appid, openid)",
    "CREATE UNIQUE INDEX wechat_binding_user_uniq ON wechat_binding (tenant_id, appid, user_id)",
    "CREATE INDEX wechat_binding_lookup_idx ON wechat_binding (appid, openid)",
    "ALTER TABLE wechat_binding ADD CONSTRAINT wechat_binding_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenant (id)",
    'ALTER TABLE wechat_binding ADD CONSTRAINT wechat_binding_user_fkey FOREIGN KEY (user_id) REFERENCES "user" (id)',
    "ALTER TABLE wechat_binding ADD CONSTRAINT wechat_binding_membership_fkey FOREIGN KEY (tenant_id, user_id) "
    "REFERENCES membership (tenant_id, user_id) ON DELETE CASCADE",
    owner_can_read("wechat_binding"),
    """
    CREATE FUNCTION kaohe_wechat_binding(p_appid text, p_openid text)
    RETURNS TABLE (tenant_id bigint, user_id bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT b.tenant_id, b.user_id FROM wechat_binding b WHERE b.appid = p_appid AND b.openid = p_openid
    $$
    """,
    *tenant_table("dispute"),
    tenant_foreign_key("dispute", "ledger_line_id", "ledger_line"),
    tenant_foreign_key("dispute", "staff_id", "staff"),
    tenant_foreign_key("dispute", "period_id", "period"),
    tenant_foreign_key("dispute", "adjustment_line_id", "ledger_line"),
    "CREATE UNIQUE INDEX dispute_open_line_uniq ON dispute (tenant_id, ledger_line_id) WHERE state = 'open'",
    "CREATE INDEX dispute_state_idx ON dispute (tenant_id, state, id)",
    "CREATE INDEX dispute_line_idx ON dispute (tenant_id, ledger_line_id)",
    "CREATE INDEX dispute_staff_idx ON dispute (tenant_id, staff_id)",
    "ALTER TABLE dispute ADD CONSTRAINT dispute_state_check CHECK (state IN ('open', 'resolved'))",
    "ALTER TABLE dispute ADD CONSTRAINT dispute_resolved_check CHECK "
    "((state = 'open') = (resolved_at IS NULL) AND (state = 'open') = (resolution IS NULL))",
    "DROP INDEX IF EXISTS ledger_line_rule_uniq",
    "CREATE UNIQUE INDEX ledger_line_rule_uniq ON ledger_line "
    "(tenant_id, period_id, revision, staff_id, rule_key, corrects_period_id, corrects_revision, dispute_id) "
    "NULLS NOT DISTINCT",
    "CREATE INDEX ledger_line_corrects_idx ON ledger_line (tenant_id, corrects_period_id) "
    "WHERE corrects_period_id IS NOT NULL",
    tenant_foreign_key("ledger_line", "corrects_period_id", "period"),
    "ALTER TABLE ledger_line ADD CONSTRAINT ledger_line_corrects_check "
    "CHECK ((corrects_period_id IS NULL) = (corrects_revision IS NULL) AND corrects_period_id IS DISTINCT FROM period_id)",
    "ALTER TABLE period ADD CONSTRAINT period_approval_check "
    "CHECK ((approved_at IS NULL) = (approved_revision IS NULL) AND (approved_revision IS NULL OR approved_revision > 0))",
]


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0013_accounts")]

    initial = False

    operations = [
        ops.CreateModel(
            name="WechatBinding",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("tenant_id", fields.BigIntField()),
                ("appid", fields.CharField(max_length=64)),
                ("openid", fields.CharField(max_length=128)),
                ("user_id", fields.BigIntField()),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "wechat_binding", "app": "kaohe", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Dispute",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("tenant_id", fields.BigIntField()),
                ("ledger_line_id", fields.BigIntField()),
                ("period_id", fields.BigIntField()),
                ("staff_id", fields.BigIntField()),
                ("raised_by_user_id", fields.BigIntField()),
                ("message", fields.TextField(unique=False)),
                ("state", fields.CharField(default="open", max_length=16)),
                ("resolution", fields.TextField(null=True, unique=False)),
                ("resolved_by_user_id", fields.BigIntField(null=True)),
                ("resolved_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("adjustment_line_id", fields.BigIntField(null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "dispute", "app": "kaohe", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.AddField(model_name="LedgerLine", name="corrects_period_id", field=fields.BigIntField(null=True)),
        ops.AddField(model_name="LedgerLine", name="corrects_revision", field=fields.IntField(null=True)),
        ops.AddField(model_name="LedgerLine", name="dispute_id", field=fields.BigIntField(null=True)),
        ops.AddField(model_name="Period", name="approved_at", field=fields.DatetimeField(null=True)),
        ops.AddField(model_name="Period", name="approved_by_user_id", field=fields.BigIntField(null=True)),
        ops.AddField(model_name="Period", name="approved_revision", field=fields.IntField(null=True)),
        ops.AddField(model_name="Period", name="reopened_at", field=fields.DatetimeField(null=True)),
        ops.AddField(model_name="Period", name="reopened_by_user_id", field=fields.BigIntField(null=True)),
        ops.AddField(model_name="Period", name="reopen_reason", field=fields.TextField(null=True)),
        ops.RunSQL(SQL),
    ]
