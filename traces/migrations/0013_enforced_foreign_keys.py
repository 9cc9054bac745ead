"""The database checks ``Trace.created_by`` and ``TraceSignature.trace`` again.

Rows that already point at nothing are repaired first, so the constraints can be added: a
creator that no longer exists becomes NULL (as deleting that user through Django would have
made it), and a signature without its trace is deleted.
"""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def repair_dangling(apps: Any, schema_editor: Any) -> None:
    user_model = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    trace_model = apps.get_model("traces", "Trace")
    signature_model = apps.get_model("traces", "TraceSignature")
    users = user_model._default_manager.values("pk")
    trace_model.objects.filter(created_by__isnull=False).exclude(created_by__in=users).update(created_by=None)
    signature_model.objects.exclude(trace_id__in=trace_model.objects.values("pk")).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("traces", "0012_trace_content_chars"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(repair_dangling, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="trace",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="tracesignature",
            name="trace",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                primary_key=True,
                related_name="signature",
                serialize=False,
                to="traces.trace",
            ),
        ),
    ]
