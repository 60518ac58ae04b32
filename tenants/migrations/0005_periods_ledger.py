from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0004_master_data_schemes_events_isolation")]

    initial = False

    operations = [
        ops.CreateModel(
            name="LedgerLine",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("tenant_id", fields.BigIntField()),
                ("period_id", fields.BigIntField()),
                ("revision", fields.IntField()),
                ("staff_id", fields.BigIntField()),
                ("scheme_version_id", fields.BigIntField()),
                ("rule_key", fields.CharField(max_length=64)),
                ("kind", fields.CharField(max_length=16)),
                ("amount", fields.DecimalField(max_digits=16, decimal_places=2)),
                ("derivation", fields.TextField(unique=False)),
                ("posted_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "ledger_line", "app": "kaohe", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Period",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("tenant_id", fields.BigIntField()),
                ("scheme_id", fields.BigIntField()),
                ("key", fields.CharField(max_length=16)),
                ("starts_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("ends_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("state", fields.CharField(default="open", max_length=16)),
                ("revision", fields.IntField(default=0)),
                ("scheme_version_id", fields.BigIntField(null=True)),
                ("watermark_event_id", fields.BigIntField(null=True)),
                ("closed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("provisional_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "period", "app": "kaohe", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Scorecard",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("tenant_id", fields.BigIntField()),
                ("period_id", fields.BigIntField()),
                ("revision", fields.IntField()),
                ("staff_id", fields.BigIntField()),
                ("scheme_version_id", fields.BigIntField()),
                ("total", fields.DecimalField(max_digits=12, decimal_places=4)),
                ("grade", fields.CharField(null=True, max_length=16)),
                ("rank", fields.IntField()),
                ("metrics", fields.JSONField(encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads)),
                (
                    "flags",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("provisional", fields.BooleanField(default=False)),
                ("computed_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "scorecard", "app": "kaohe", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
