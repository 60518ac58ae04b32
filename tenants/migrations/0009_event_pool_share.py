from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0008_event_staff_customer_index")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Event",
            name="pool_share",
            field=fields.DecimalField(null=True, max_digits=9, decimal_places=6),
        ),
    ]
