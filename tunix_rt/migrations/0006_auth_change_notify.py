"""PostgreSQL: any committed change to tokens, users, groups or group memberships sends
``NOTIFY tunix_rt_auth_changed``, so every server process drops the tokens it keeps
(``tunix_rt.token_cache``). Statement-level triggers: one notification per statement, and
PostgreSQL folds repeats within a transaction into one. Nothing on SQLite."""

from typing import Any

from django.conf import settings
from django.db import migrations

FUNCTION = "tunix_rt_auth_changed"


def _tables(apps: Any) -> list[str]:
    user = apps.get_model(settings.AUTH_USER_MODEL)
    membership = user._meta.get_field("groups").remote_field.through
    models = (apps.get_model("authtoken", "Token"), user, apps.get_model("auth", "Group"), membership)
    return [model._meta.db_table for model in models]


def create_triggers(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    qn = schema_editor.quote_name
    schema_editor.execute(
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS"
        f" $$ BEGIN PERFORM pg_notify('{FUNCTION}', TG_TABLE_NAME); RETURN NULL; END $$"
    )
    for table in _tables(apps):
        schema_editor.execute(
            f"CREATE OR REPLACE TRIGGER {FUNCTION} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {qn(table)}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def drop_triggers(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in _tables(apps):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {FUNCTION} ON {schema_editor.quote_name(table)}")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [
        ("tunix_rt", "0005_leaner_indexes"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
