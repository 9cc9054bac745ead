from __future__ import annotations

from django.apps import AppConfig

HOLDER_CONSEQUENCE = (
    "Their manifests keep the ids, but their exports skip deleted traces (one line fewer each) "
    "and `export_dataset --verify` names the deleted ids."
)


class DatasetsConfig(AppConfig):
    name = "datasets"
    verbose_name = "Datasets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Tells trace deletes which datasets hold a trace, and puts "Build dataset" on the trace
        changelist (``traces`` may not import this app)."""
        from datasets.admin_actions import BUILD_DATASET_ACTION
        from datasets.selectors import datasets_holding_traces
        from traces.admin_extensions import trace_action_register
        from traces.holders import register_trace_holder

        register_trace_holder("datasets", datasets_holding_traces, consequence=HOLDER_CONSEQUENCE)
        trace_action_register(BUILD_DATASET_ACTION)
