from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.contrib.postgres.fields import ArrayField
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0002_tenancy_isolation")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("tenant_id", fields.BigIntField()),
                ("actor_user_id", fields.BigIntField(null=True)),
                ("actor_api_key_id", fields.BigIntField(null=True)),
                ("action", fields.CharField(max_length=64)),
                ("entity", fields.CharField(max_length=64)),
                ("entity_id", fields.BigIntField(null=True)),
                (
                    "before",
                    fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads),
                ),
                (
                    "after",
                    fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads),
                ),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "audit_log", "app": "kaohe", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Customer",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("tenant_id", fields.BigIntField()),
                ("code", fields.CharField(max_length=64)),
                ("name", fields.CharField(default="", max_length=200)),
                ("guide_staff_id", fields.BigIntField(null=True)),
                ("bound_since", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "customer", "app": "kaohe", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Event",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("tenant_id", fields.BigIntField()),
                ("external_id", fields.CharField(max_length=128)),
                ("type", fields.CharField(max_length=64)),
                ("occurred_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("received_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("staff_id", fields.BigIntField(null=True)),
                ("customer_id", fields.BigIntField(null=True)),
                ("team_id", fields.BigIntField(null=True)),
                ("amount", fields.DecimalField(null=True, max_digits=16, decimal_places=2)),
                ("value", fields.DecimalField(null=True, max_digits=20, decimal_places=6)),
                (
                    "attributes",
                    fields.JSONField(
                        default=dict, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("order_external_id", fields.CharField(null=True, max_length=128)),
                ("credit_staff_ids", ArrayField(default=list, element_type="BIGINT")),
                ("credit_shares", ArrayField(default=list, element_type="NUMERIC(9,6)")),
                ("pool_team_id", fields.BigIntField(null=True)),
                ("status", fields.CharField(default="counted", max_length=16)),
            ],
            options={"table": "event", "app": "kaohe", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Scheme",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("tenant_id", fields.BigIntField()),
                ("name", fields.CharField(max_length=200)),
                ("description", fields.TextField(default="", unique=False)),
                ("active", fields.BooleanField(default=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "scheme", "app": "kaohe", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SchemeVersion",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("tenant_id", fields.BigIntField()),
                ("scheme_id", fields.BigIntField()),
                ("number", fields.IntField()),
                ("config", fields.JSONField(encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads)),
                ("status", fields.CharField(default="draft", max_length=16)),
                ("effective_from", fields.DateField(null=True)),
                ("created_by_user_id", fields.BigIntField(null=True)),
                ("published_by_user_id", fields.BigIntField(null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ("published_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "scheme_version", "app": "kaohe", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Staff",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("tenant_id", fields.BigIntField()),
                ("code", fields.CharField(max_length=64)),
                ("name", fields.CharField(max_length=200)),
                ("role", fields.CharField(max_length=32)),
                ("team_id", fields.BigIntField(null=True)),
                ("active", fields.BooleanField(default=True)),
                ("hired_on", fields.DateField(null=True)),
                ("left_on", fields.DateField(null=True)),
                ("user_id", fields.BigIntField(null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "staff", "app": "kaohe", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Team",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("tenant_id", fields.BigIntField()),
                ("code", fields.CharField(max_length=64)),
                ("name", fields.CharField(max_length=200)),
                ("kind", fields.CharField(default="store", max_length=32)),
                ("parent_id", fields.BigIntField(null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "team", "app": "kaohe", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
