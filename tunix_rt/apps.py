from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save


def _sync_role_permissions(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """Creates every app's permissions first (this app migrates before the others), then syncs the groups."""
    from django.contrib.auth.management import create_permissions

    from tunix_rt.roles import roles_sync_permissions

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    roles_sync_permissions()


def _forget_tokens_on_auth_changes() -> None:
    """A change to a token, a user, a group or a membership made in this process empties the
    process's token cache at once (other processes hear of it from PostgreSQL)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from tunix_rt.token_cache import token_cache_forget

    user = get_user_model()
    for model in (Token, user, Group):
        for when, signal in (("saved", post_save), ("deleted", post_delete)):
            uid = f"tunix_rt.token_cache.{model._meta.label}.{when}"
            signal.connect(token_cache_forget, sender=model, dispatch_uid=uid)
    m2m_changed.connect(token_cache_forget, sender=user.groups.through, dispatch_uid="tunix_rt.token_cache.groups")


class TunixRtConfig(AppConfig):
    name = "tunix_rt"
    verbose_name = "tunix-rt"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tunix_rt.db.lookups import register_lookups
        from tunix_rt.idempotency import idempotency_purge_expired
        from tunix_rt.maintenance import maintenance_register

        register_lookups()
        _forget_tokens_on_auth_changes()
        post_migrate.connect(_sync_role_permissions, sender=self, dispatch_uid="tunix_rt.sync_role_permissions")
        maintenance_register(name="tunix_rt.idempotency_purge_expired", task=idempotency_purge_expired)
