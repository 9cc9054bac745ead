"""Explicit routes: dataset keys contain dots (``name-1.0``) and must not swallow ``/export.jsonl``."""

from __future__ import annotations

from django.urls import path, register_converter

from datasets.api import EXPORT_VIEW_OPTIONS, DatasetViewSet
from datasets.preferences_api import PreferenceExportViewSet
from datasets.ungar_api import UngarExportViewSet


class DatasetKeyConverter:
    regex = "[A-Za-z0-9._-]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(DatasetKeyConverter, "dataset_key")

urlpatterns = [
    path("datasets", DatasetViewSet.as_view({"get": "list"}), name="dataset-list"),
    path("datasets/build", DatasetViewSet.as_view({"post": "build"}), name="dataset-build"),
    path("datasets/<dataset_key:key>", DatasetViewSet.as_view({"get": "retrieve"}), name="dataset-detail"),
    path("datasets/<dataset_key:key>/diff", DatasetViewSet.as_view({"get": "diff"}), name="dataset-diff"),
    path(
        "datasets/<dataset_key:key>/export.jsonl",
        DatasetViewSet.as_view({"get": "export"}, **EXPORT_VIEW_OPTIONS),
        name="dataset-export",
    ),
    path(
        "preferences/export.jsonl",
        PreferenceExportViewSet.as_view({"get": "export"}, **EXPORT_VIEW_OPTIONS),
        name="preference-export",
    ),
    path(
        "ungar/high-card-duel/export.jsonl",
        UngarExportViewSet.as_view({"get": "export"}),
        name="ungar-high-card-duel-export",
    ),
]
