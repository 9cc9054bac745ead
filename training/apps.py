from __future__ import annotations

from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training and evaluation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from training.services import training_jobs_reap
        from tunix_rt.maintenance import maintenance_register

        maintenance_register(name="training.jobs_reap", task=training_jobs_reap)
