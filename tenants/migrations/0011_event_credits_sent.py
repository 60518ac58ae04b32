from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# A resent externalId is a duplicate only when its content is what was sent: credits resolved by the tenant's rules
# were not sent, so whether credits were sent is recorded (NULL: events stored before; nullable, so adding it
# rewrites nothing).


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0010_period_failure_and_analyze")]

    initial = False

    operations = [
        ops.AddField(model_name="Event", name="credits_sent", field=fields.BooleanField(null=True)),
    ]
