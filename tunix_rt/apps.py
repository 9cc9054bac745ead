from __future__ import annotations

from django.apps import AppConfig


class TunixRtConfig(AppConfig):
    name = "tunix_rt"
    verbose_name = "tunix-rt"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tunix_rt.idempotency import idempotency_purge_expired
        from tunix_rt.maintenance import maintenance_register

        maintenance_register(name="tunix_rt.idempotency_purge_expired", task=idempotency_purge_expired)
