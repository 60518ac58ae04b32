from tortoise import migrations

# Reserved for issue 8 (staff logins linked to staff records, team scopes of memberships); filled in by that work.


class Migration(migrations.Migration):
    dependencies = [("kaohe", "0011_event_credits_sent")]

    initial = False

    operations: list[object] = []
