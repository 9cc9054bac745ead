"""The database checks ``AuditEntry.actor`` again; an actor that no longer exists becomes NULL first
(``actor_name`` still names them), as deleting that user through Django would have made it."""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def repair_dangling(apps: Any, schema_editor: Any) -> None:
    user_model = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    entry_model = apps.get_model("tunix_rt", "AuditEntry")
    users = user_model._default_manager.values("pk")
    entry_model.objects.filter(actor__isnull=False).exclude(actor__in=users).update(actor=None)


class Migration(migrations.Migration):
    dependencies = [
        ("tunix_rt", "0008_drop_auth_change_notify"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(repair_dangling, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditentry",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
