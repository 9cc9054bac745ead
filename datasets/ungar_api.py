"""``GET /api/ungar/high-card-duel/export.jsonl``: UNGAR-made traces in the ``trace`` export format.

A compatibility endpoint of the system tunix-rt replaces; it renders traces with the export
formats, so it lives here and not in ``traces`` (which knows nothing of the formats).
"""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.request import Request

from datasets.api import ExportNegotiation
from datasets.formats import ExportOptions, get_format, render_line
from datasets.serializers import UngarExportQuerySerializer
from traces import selectors as trace_selectors
from tunix_rt.renderers import EXPORT_RENDERERS, export_media_type
from tunix_rt.schema import jsonl_responses
from tunix_rt.viewsets import ActionSerializersMixin

EXPORT_CHUNK = 200


class UngarExportViewSet(ActionSerializersMixin, viewsets.ViewSet):
    action_serializers = {"export": UngarExportQuerySerializer}
    renderer_classes = EXPORT_RENDERERS
    content_negotiation_class = ExportNegotiation

    @extend_schema(
        parameters=[UngarExportQuerySerializer],
        responses=jsonl_responses(),
        summary="UNGAR-made High Card Duel traces as JSONL (trace format), newest first",
        description="Traces whose `meta.source` is `ungar`, newest first, or the ones `trace_ids` names.",
    )
    def export(self, request: Request) -> StreamingHttpResponse:
        query = UngarExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        traces = trace_selectors.traces_from_source(
            source="ungar", trace_ids=query.validated_data.get("trace_ids"), limit=query.validated_data["limit"]
        )
        fmt, options = get_format("trace"), ExportOptions()
        lines = (render_line(fmt, trace, options).encode("utf-8") for trace in traces.iterator(chunk_size=EXPORT_CHUNK))
        return StreamingHttpResponse(lines, content_type=export_media_type(request))
