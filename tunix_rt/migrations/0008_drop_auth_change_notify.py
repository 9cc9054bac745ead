"""PostgreSQL: drops the triggers and function of ``0006_auth_change_notify``. Nothing listens any
more: every request looks its token up, so no change needs announcing. Reversing puts them back."""

from importlib import import_module

from django.conf import settings
from django.db import migrations

_0006 = import_module("tunix_rt.migrations.0006_auth_change_notify")


class Migration(migrations.Migration):
    dependencies = [
        ("tunix_rt", "0007_unchecked_user_references"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(_0006.drop_triggers, _0006.create_triggers)]
