from tortoise import migrations

# Reserved for issue 9 (WeChat bindings, disputes, statement approvals); filled in by that work.


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0013_accounts")]

    initial = False

    operations: list[object] = []
