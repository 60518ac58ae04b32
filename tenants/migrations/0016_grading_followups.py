from tortoise import migrations

# Reserved for issue 10 (customer grades per month, alerts, follow-up rules); filled in by that work.


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0015_attribution_rules")]

    initial = False

    operations: list[object] = []
