"""The role groups; every user that exists now becomes a trainer, so earlier scripts keep working."""

from __future__ import annotations

from typing import Any

from django.db import migrations

ROLE_GROUPS = ("viewer", "curator", "trainer")


def create_roles(apps: Any, schema_editor: Any) -> None:
    group_model = apps.get_model("auth", "Group")
    user_model = apps.get_model("auth", "User")
    groups = {name: group_model.objects.get_or_create(name=name)[0] for name in ROLE_GROUPS}
    trainer = groups["trainer"]
    for user in user_model.objects.filter(is_staff=False, is_superuser=False).exclude(groups__name__in=ROLE_GROUPS):
        user.groups.add(trainer)


class Migration(migrations.Migration):
    dependencies = [
        ("tunix_rt", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
