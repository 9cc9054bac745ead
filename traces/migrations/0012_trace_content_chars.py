"""``Trace.content_chars``: characters of the prompt, the answer and every step's content.

Existing traces get it computed in one UPDATE, by the database (the same sum the dataset
stats used to take at every build).
"""

from typing import Any

from django.db import migrations, models

_STEP_CHARS = {
    "postgresql": "(SELECT COALESCE(SUM(LENGTH(step.value ->> 'content')), 0) FROM jsonb_array_elements(steps) AS step)",
    "sqlite": "(SELECT COALESCE(SUM(LENGTH(json_extract(step.value, '$.content'))), 0) FROM json_each(steps) AS step)",
}


def fill(apps: Any, schema_editor: Any) -> None:
    table = schema_editor.quote_name(apps.get_model("traces", "Trace")._meta.db_table)
    step_chars = _STEP_CHARS[schema_editor.connection.vendor]
    schema_editor.execute(f"UPDATE {table} SET content_chars = LENGTH(prompt) + LENGTH(final_answer) + {step_chars}")


class Migration(migrations.Migration):
    dependencies = [
        ("traces", "0011_unchecked_user_references"),
    ]

    operations = [
        migrations.AddField(
            model_name="trace",
            name="content_chars",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
