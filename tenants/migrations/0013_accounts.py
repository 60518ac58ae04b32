from tortoise import migrations

# Reserved for issue 9 (tenant suspension, invitations, password resets, refresh-token families); filled in by that work.


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0012_access_scope")]

    initial = False

    operations: list[object] = []
