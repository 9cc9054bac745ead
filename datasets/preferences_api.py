"""``GET /api/preferences/export.jsonl``: preference pairs streamed as DPO records."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.request import Request

from datasets.formats import ExportOptions
from datasets.serializers import PreferenceExportQuerySerializer
from datasets.services.preferences import preferences_export_lines, preferences_for_export
from traces.models import Preference
from traces.preferences import PreferenceFilterSet, preference_list
from tunix_rt.renderers import export_media_type
from tunix_rt.schema import jsonl_responses
from tunix_rt.viewsets import ActionSerializersMixin


class PreferenceExportViewSet(ActionSerializersMixin, viewsets.GenericViewSet[Preference]):
    action_serializers = {"export": PreferenceExportQuerySerializer}
    filter_backends = [DjangoFilterBackend]
    filterset_class = PreferenceFilterSet

    def get_queryset(self) -> QuerySet[Preference]:
        return preference_list()

    @extend_schema(
        parameters=[PreferenceExportQuerySerializer],
        responses={
            **jsonl_responses(),
            400: OpenApiResponse(description="Invalid filter, format or dataset."),
        },
        summary="Stream preference pairs (the list's filters, or a dataset's) as DPO JSONL, oldest first",
        description="One DPO record (prompt, chosen, rejected) per pair, oldest first; `limit` caps the count.",
    )
    def export(self, request: Request) -> StreamingHttpResponse:
        query = PreferenceExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        pairs = preferences_for_export(
            preferences=self.filter_queryset(self.get_queryset()), dataset_key=data.get("dataset"), limit=data["limit"]
        )
        lines = preferences_export_lines(
            preferences=pairs, options=ExportOptions(system_prompt=data.get("system_prompt", ""))
        )
        response = StreamingHttpResponse(
            (line.encode("utf-8") for line in lines), content_type=export_media_type(request)
        )
        response["Content-Disposition"] = 'inline; filename="preferences.dpo.jsonl"'
        return response
