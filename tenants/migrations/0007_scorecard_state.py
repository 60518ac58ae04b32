from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0006_periods_ledger_isolation")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Scorecard",
            name="state",
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads),
        ),
    ]
