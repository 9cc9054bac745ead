from __future__ import annotations

from django.apps import AppConfig


class TunixRtConfig(AppConfig):
    name = "tunix_rt"
    verbose_name = "tunix-rt"
