from tortoise import migrations

# Reserved for issue 10 (attribution rule versions, customers created from events); filled in by that work.


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0014_wechat_disputes_approvals")]

    initial = False

    operations: list[object] = []
