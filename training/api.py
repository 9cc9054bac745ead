"""Thin DRF views for training runs."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from training import selectors
from training.serializers import (
    TrainingRunDetailSerializer,
    TrainingRunListOutputSerializer,
    TrainingRunListQuerySerializer,
    TrainingRunSerializer,
)


class TrainingRunViewSet(viewsets.ViewSet):
    lookup_field = "run_id"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        parameters=[TrainingRunListQuerySerializer],
        responses={200: TrainingRunListOutputSerializer},
        summary="Training runs, newest first",
    )
    def list(self, request: Request) -> Response:
        query = TrainingRunListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        limit, offset = query.validated_data["limit"], query.validated_data["offset"]
        runs = selectors.training_run_list(status=query.validated_data.get("status"))
        rows = list(runs[offset : offset + limit + 1])
        body = {
            "data": TrainingRunSerializer(rows[:limit], many=True).data,
            "pagination": {"limit": limit, "offset": offset, "next_offset": offset + limit if len(rows) > limit else None},
        }
        return Response(body)

    @extend_schema(
        responses={200: TrainingRunDetailSerializer, 404: OpenApiResponse(description="Not found.")},
        summary="One training run with its per-step metrics",
    )
    def retrieve(self, request: Request, run_id: str) -> Response:
        run = selectors.training_run_get(run_id=run_id)
        run.metric_rows = list(selectors.training_run_metrics(run=run))  # type: ignore[attr-defined]
        return Response(TrainingRunDetailSerializer(run).data)
