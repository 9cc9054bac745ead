from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _sync_role_permissions(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """Creates every app's permissions first (this app migrates before the others), then syncs the groups."""
    from django.contrib.auth.management import create_permissions

    from tunix_rt.roles import roles_sync_permissions

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    roles_sync_permissions()


class TunixRtConfig(AppConfig):
    name = "tunix_rt"
    verbose_name = "tunix-rt"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tunix_rt.db.lookups import register_lookups
        from tunix_rt.idempotency import idempotency_purge_expired
        from tunix_rt.maintenance import maintenance_register

        register_lookups()
        post_migrate.connect(_sync_role_permissions, sender=self, dispatch_uid="tunix_rt.sync_role_permissions")
        maintenance_register(name="tunix_rt.idempotency_purge_expired", task=idempotency_purge_expired)
