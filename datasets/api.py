"""Thin DRF views for datasets: validate input, call one service or selector, shape output."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors, services
from datasets.formats import ExportOptions
from datasets.models import Dataset
from datasets.serializers import (
    DatasetBuildInputSerializer,
    DatasetBuildOutputSerializer,
    DatasetDiffOutputSerializer,
    DatasetDiffQuerySerializer,
    DatasetExportQuerySerializer,
    DatasetExportRecordSerializer,
    DatasetListItemSerializer,
    DatasetListOutputSerializer,
    DatasetManifestSerializer,
)
from tunix_rt.negotiation import ContentNegotiation
from tunix_rt.pagination import PageQuerySerializer, page_response
from tunix_rt.renderers import EXPORT_RENDERERS, export_media_type
from tunix_rt.roles import CURATOR
from tunix_rt.schema import jsonl_responses
from tunix_rt.viewsets import ActionSerializersMixin

NOT_FOUND = {404: OpenApiResponse(description="No such dataset.")}


class _NoFormatOverride:
    URL_FORMAT_OVERRIDE = None


class ExportNegotiation(ContentNegotiation):
    """On the export, ``?format=`` names the export format, not a DRF renderer (URL_FORMAT_OVERRIDE)."""

    settings = _NoFormatOverride  # type: ignore[assignment]


EXPORT_VIEW_OPTIONS: dict[str, Any] = {
    "content_negotiation_class": ExportNegotiation,
    "renderer_classes": EXPORT_RENDERERS,
}


class DatasetViewSet(ActionSerializersMixin, viewsets.GenericViewSet[Dataset]):
    action_serializers = {
        "list": DatasetListItemSerializer,
        "build": DatasetBuildInputSerializer,
        "retrieve": DatasetManifestSerializer,
        "export": DatasetExportQuerySerializer,
        "diff": DatasetDiffQuerySerializer,
    }
    lookup_field = "key"
    write_role = CURATOR

    def get_queryset(self) -> QuerySet[Dataset]:
        return selectors.dataset_list()

    @extend_schema(
        parameters=[PageQuerySerializer],
        responses={200: DatasetListOutputSerializer},
        summary="List datasets, newest first",
        description="Every built dataset, newest first, with its key, trace count and how it was selected.",
    )
    def list(self, request: Request) -> Response:
        return page_response(self.get_queryset(), request.query_params, DatasetListItemSerializer)

    @extend_schema(
        request=DatasetBuildInputSerializer,
        responses={
            201: DatasetBuildOutputSerializer,
            409: OpenApiResponse(description="A dataset with this key exists."),
        },
        summary="Freeze a selection of traces into a new, immutable dataset",
        description=(
            "Selects over all traces matching `filters` (and `status`, `tags`, or an explicit `trace_ids`), "
            "newest first or a seeded random sample, and records the selection under the key "
            "`{dataset_name}-{dataset_version}`; an existing key is a 409."
        ),
    )
    def build(self, request: Request) -> Response:
        incoming = DatasetBuildInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        dataset = services.dataset_build(**incoming.validated_data, actor=request.user)
        body: dict[str, Any] = {
            "key": dataset.key,
            "build_id": dataset.build_id,
            "trace_count": dataset.trace_count,
            "manifest_path": str(selectors.manifest_path(dataset=dataset)),
        }
        return Response(DatasetBuildOutputSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={200: DatasetManifestSerializer, **NOT_FOUND},
        summary="A dataset's manifest",
        description="The manifest recorded at build time (ordered trace ids, filters, stats) and the exports made.",
    )
    def retrieve(self, request: Request, key: str) -> Response:
        dataset = selectors.dataset_get(key=key)
        manifest = selectors.dataset_manifest(dataset=dataset)
        exports = DatasetExportRecordSerializer(selectors.dataset_exports(dataset=dataset), many=True).data
        owner = dataset.created_by.get_username() if dataset.created_by else None
        return Response(DatasetManifestSerializer({**manifest, "exports": exports, "created_by": owner}).data)

    @extend_schema(
        parameters=[DatasetExportQuerySerializer],
        responses={**jsonl_responses(), **NOT_FOUND},
        summary="Stream the dataset (or one split) as JSONL in a training format, in manifest order",
        description=(
            "One record per line in the `format` asked for, in manifest order; traces deleted since the build "
            "are skipped. The same dataset and options always give the same bytes."
        ),
    )
    def export(self, request: Request, key: str) -> StreamingHttpResponse:
        query = DatasetExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        dataset = selectors.dataset_get(key=key)
        selectors.dataset_check_split(dataset=dataset, split=data["split"])
        options = ExportOptions(system_prompt=data.get("system_prompt", ""))
        stream = services.dataset_export_stream(
            dataset=dataset, fmt=data["format"], options=options, split=data["split"]
        )
        response = StreamingHttpResponse(stream, content_type=export_media_type(request))
        part = f".{data['split']}" if data["split"] else ""
        response["Content-Disposition"] = f'inline; filename="{dataset.key}{part}.{data["format"]}.jsonl"'
        return response

    @extend_schema(
        parameters=[DatasetDiffQuerySerializer],
        responses={200: DatasetDiffOutputSerializer, **NOT_FOUND},
        summary="What changes going from this dataset to another: added, removed and common trace ids",
        description="Trace ids only in `against` (added), only in this dataset (removed), and in both.",
    )
    def diff(self, request: Request, key: str) -> Response:
        query = DatasetDiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        base = selectors.dataset_get(key=key)
        against = selectors.dataset_get(key=query.validated_data["against"])
        return Response(DatasetDiffOutputSerializer(selectors.dataset_diff(base=base, against=against)).data)
