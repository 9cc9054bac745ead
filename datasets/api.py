"""Thin DRF views for datasets: validate input, call one service or selector, shape output."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.renderers import BaseRenderer, JSONRenderer
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
from tunix_rt.roles import CURATOR
from tunix_rt.viewsets import ActionSerializersMixin

NOT_FOUND = {404: OpenApiResponse(description="No such dataset.")}


class NDJSONRenderer(BaseRenderer):
    """Lets clients ask for ``application/x-ndjson``; an error body then comes as one JSON line."""

    media_type = "application/x-ndjson"
    format = "ndjson"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n"


class _NoFormatOverride:
    URL_FORMAT_OVERRIDE = None


class ExportNegotiation(ContentNegotiation):
    """On the export, ``?format=`` names the export format, not a DRF renderer (URL_FORMAT_OVERRIDE)."""

    settings = _NoFormatOverride  # type: ignore[assignment]


EXPORT_VIEW_OPTIONS: dict[str, Any] = {
    "content_negotiation_class": ExportNegotiation,
    "renderer_classes": [JSONRenderer, NDJSONRenderer],
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

    @extend_schema(responses={200: DatasetManifestSerializer, **NOT_FOUND}, summary="A dataset's manifest")
    def retrieve(self, request: Request, key: str) -> Response:
        dataset = selectors.dataset_get(key=key)
        manifest = selectors.dataset_manifest(dataset=dataset)
        exports = DatasetExportRecordSerializer(selectors.dataset_exports(dataset=dataset), many=True).data
        owner = dataset.created_by.get_username() if dataset.created_by else None
        return Response(DatasetManifestSerializer({**manifest, "exports": exports, "created_by": owner}).data)

    @extend_schema(
        parameters=[DatasetExportQuerySerializer],
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR, **NOT_FOUND},
        summary="Stream the dataset (or one split) as JSONL in a training format, in manifest order",
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
        response = StreamingHttpResponse(stream, content_type="application/x-ndjson")
        part = f".{data['split']}" if data["split"] else ""
        response["Content-Disposition"] = f'inline; filename="{dataset.key}{part}.{data["format"]}.jsonl"'
        return response

    @extend_schema(
        parameters=[DatasetDiffQuerySerializer],
        responses={200: DatasetDiffOutputSerializer, **NOT_FOUND},
        summary="What changes going from this dataset to another: added, removed and common trace ids",
    )
    def diff(self, request: Request, key: str) -> Response:
        query = DatasetDiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        base = selectors.dataset_get(key=key)
        against = selectors.dataset_get(key=query.validated_data["against"])
        return Response(DatasetDiffOutputSerializer(selectors.dataset_diff(base=base, against=against)).data)
