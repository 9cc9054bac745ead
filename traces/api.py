"""Thin DRF views for traces: validate input, call one service or selector, shape output."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from traces import bulk, listing, near_duplicates, selectors, services
from traces.filters import TraceFilterSet, is_filter_param
from traces.holders import HOLDER_KEYS_MAX, holdings_warning
from traces.models import Trace
from traces.serializers import (
    DuplicateGroupSerializer,
    DuplicateListOutputSerializer,
    SimilarOutputSerializer,
    SimilarQuerySerializer,
    TraceBatchInputSerializer,
    TraceBatchOutputSerializer,
    TraceBulkInputSerializer,
    TraceBulkOutputSerializer,
    TraceCompareOutputSerializer,
    TraceCompareQuerySerializer,
    TraceCreatedSerializer,
    TraceCurationInputSerializer,
    TraceDetailSerializer,
    TraceInputSerializer,
    TraceListItemSerializer,
    TraceListOutputSerializer,
    TraceScoreInputSerializer,
    TraceScoreOutputSerializer,
    trace_created_items,
    trace_list_items,
)
from tunix_rt import idempotent as idempotent_views
from tunix_rt.pagination import CursorPageQuerySerializer, PageQuerySerializer, page_of
from tunix_rt.roles import CURATOR
from tunix_rt.schema import error_response
from tunix_rt.viewsets import ActionSerializersMixin

DELETE_HEADERS = [
    OpenApiParameter(
        name="Held-By-Datasets",
        location=OpenApiParameter.HEADER,
        response=[204],
        description=(
            "Only when datasets held the deleted trace: their keys, sorted, comma-separated (at most "
            f"{HOLDER_KEYS_MAX}). Their manifests keep the id; their exports now skip the trace."
        ),
    ),
    OpenApiParameter(
        name="Warning",
        location=OpenApiParameter.HEADER,
        response=[204],
        description='Only when something held the trace: `299 tunix-rt "<the same news in words>"`.',
    ),
]


META_FILTERS = OpenApiParameter(
    name="meta_filters",
    type={"type": "object", "additionalProperties": {"type": "string"}},
    location=OpenApiParameter.QUERY,
    style="form",
    explode=True,
    description=(
        "Filters on `meta`: each entry is sent as its own parameter `meta__<key>=<value>` (a nested key as "
        "`meta__<key>__<key>`; keys use letters, digits, `_`, `-` and `.`), and a trace matches when its `meta` "
        "holds that value, as a string or as the JSON number or boolean it spells. The name `meta_filters` "
        'itself is never sent: give an object such as `{"meta__source": "tour"}`.'
    ),
)
COMPARE_NOT_FOUND = error_response(
    "TraceCompareNotFound",
    "A side is missing; `side` names which.",
    side=serializers.ChoiceField(choices=["base", "other"], help_text="The side whose trace does not exist."),
)


class TraceViewSet(ActionSerializersMixin, viewsets.GenericViewSet[Trace]):
    action_serializers = {
        "list": TraceListItemSerializer,
        "create": TraceInputSerializer,
        "batch": TraceInputSerializer,
        "retrieve": TraceDetailSerializer,
        "partial_update": TraceCurationInputSerializer,
        "destroy": TraceDetailSerializer,
        "score": TraceScoreInputSerializer,
        "compare": TraceCompareOutputSerializer,
        "bulk": TraceBulkInputSerializer,
        "duplicates": DuplicateGroupSerializer,
        "similar": SimilarQuerySerializer,
    }
    write_role = CURATOR
    filter_backends = [DjangoFilterBackend]
    filterset_class = TraceFilterSet
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[Trace, Any]:
        return listing.trace_list()

    def _unfiltered(self) -> bool:
        return self.action == "list" and not any(is_filter_param(name) for name in self.request.query_params)

    def filter_queryset(self, queryset: QuerySet[Trace, Any]) -> QuerySet[Trace, Any]:
        """The FilterSet only when a filter is asked for: building one costs more than the page's query."""
        return queryset if self._unfiltered() else super().filter_queryset(queryset)

    @property
    def max_body_bytes(self) -> int:
        """Read by the JSON parser: a batch may be larger than a single trace."""
        name = "TRACE_BATCH_MAX_BYTES" if self.action == "batch" else "TRACE_MAX_BYTES"
        return int(getattr(settings, name))

    @extend_schema(
        parameters=[CursorPageQuerySerializer, META_FILTERS],
        responses={200: TraceListOutputSerializer},
        summary="List traces, newest first",
        description=(
            "Newest first, `id` breaking ties; every filter given must match. Page with `offset`, or walk the "
            "whole list with `cursor`: pass `pagination.next_cursor` of each page until it is null (a walk by "
            "cursor never skips or repeats a trace while others are stored). Give the same filters on every page."
        ),
    )
    def list(self, request: Request) -> Response:
        source = listing.trace_list_reader() if self._unfiltered() else self.filter_queryset(self.get_queryset())
        page = page_of(source, request.query_params, keyset=True)
        return Response({"data": trace_list_items(page.rows), "pagination": page.pagination})

    @extend_schema(
        request=TraceInputSerializer,
        parameters=idempotent_views.SCHEMA_PARAMETERS,
        responses={201: TraceCreatedSerializer, **idempotent_views.SCHEMA_RESPONSES},
        summary="Store one trace",
        description=(
            "Stores a reasoning trace: prompt, numbered steps, final answer and free `meta`. With an "
            "`Idempotency-Key`, a retry of the same request answers what the first one did."
        ),
    )
    @idempotent_views.idempotent
    def create(self, request: Request) -> Response:
        incoming = TraceInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        trace = services.trace_create(payload=incoming.validated_data, actor=request.user)
        return Response(trace_created_items([trace])[0], status=status.HTTP_201_CREATED)

    @extend_schema(
        request=TraceBatchInputSerializer,
        parameters=idempotent_views.SCHEMA_PARAMETERS,
        responses={201: TraceBatchOutputSerializer, **idempotent_views.SCHEMA_RESPONSES},
        summary="Store a batch of traces, all or nothing",
        description=(
            "One invalid item rejects the whole batch with a 400 whose errors are keyed by the item's index, "
            "and nothing is stored; the answer lists the stored traces in input order."
        ),
    )
    @action(detail=False, methods=["post"], url_path="batch")
    @idempotent_views.idempotent
    def batch(self, request: Request) -> Response:
        incoming = TraceBatchInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        traces = services.traces_import_batch(payloads=incoming.validated_data, actor=request.user)
        body = {"created_count": len(traces), "traces": trace_created_items(traces)}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=TraceBulkInputSerializer,
        responses={200: TraceBulkOutputSerializer},
        summary="Change status, tags or scores of every trace matching filters and/or ids",
        description=(
            "`filters` takes the list's query keys (`meta__<key>` included; `{}` matches every trace); with "
            "`ids` too, a trace must be in both. All or nothing; `changed` counts traces whose status or tags "
            "changed, `scored` and `skipped` count scoring."
        ),
    )
    @action(detail=False, methods=["post"], url_path="bulk", filter_backends=[])
    def bulk(self, request: Request) -> Response:
        incoming = TraceBulkInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        traces = selectors.traces_matching(filters=data.get("filters"), ids=data.get("ids"))
        result = bulk.traces_bulk_update(
            traces=traces,
            status=data.get("status"),
            add_tags=data.get("add_tags", []),
            remove_tags=data.get("remove_tags", []),
            score=data.get("score"),
            actor=request.user,
        )
        return Response(TraceBulkOutputSerializer(result).data)

    @extend_schema(
        parameters=[PageQuerySerializer],
        responses={200: DuplicateListOutputSerializer},
        summary="Groups of traces with the same content, largest first",
        description="Traces whose prompt, steps and final answer are identical, grouped; ids oldest first.",
    )
    @action(detail=False, methods=["get"], url_path="duplicates", filter_backends=[])
    def duplicates(self, request: Request) -> Response:
        page = page_of(selectors.duplicate_groups(), request.query_params)
        ids = selectors.duplicate_group_ids(hashes=[row["content_hash"] for row in page.rows])
        groups = [{**row, "trace_ids": ids[row["content_hash"]]} for row in page.rows]
        return Response({"data": DuplicateGroupSerializer(groups, many=True).data, "pagination": page.pagination})

    @extend_schema(
        parameters=[SimilarQuerySerializer],
        responses={200: SimilarOutputSerializer},
        summary="Traces whose prompt is nearly the same (MinHash estimate of Jaccard similarity)",
        description="Most similar first, the trace itself left out; `threshold` is the least similarity kept.",
    )
    @action(detail=True, methods=["get"], url_path="similar", filter_backends=[])
    def similar(self, request: Request, pk: str) -> Response:
        trace = selectors.trace_get(trace_id=pk)
        query = SimilarQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = near_duplicates.trace_similar(trace=trace, **query.validated_data)
        return Response(SimilarOutputSerializer({"data": found}).data)

    @extend_schema(
        responses={200: TraceDetailSerializer},
        summary="One trace with its payload and curation fields",
        description="The trace as stored (`payload`) with its curation fields (status, tags, notes).",
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(TraceDetailSerializer(selectors.trace_get(trace_id=pk)).data)

    @extend_schema(
        request=TraceCurationInputSerializer,
        responses={200: TraceDetailSerializer},
        summary="Change curation fields (status, tags, notes)",
        description=(
            "Only `status`, `tags` (replaces the whole list) and `notes` change; the reasoning itself is "
            "immutable, and naming one of its fields is a 400."
        ),
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        trace = selectors.trace_get(trace_id=pk)
        incoming = TraceCurationInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        services.trace_update_curation(trace=trace, actor=request.user, **incoming.validated_data)
        return Response(TraceDetailSerializer(selectors.trace_get(trace_id=pk)).data)

    @extend_schema(
        responses={204: None},
        parameters=DELETE_HEADERS,
        summary="Delete a trace; headers name the datasets that held it",
        description=(
            "Removes the trace and its scores. Datasets that held it keep its id in their manifests and skip it "
            "in their exports; the `Held-By-Datasets` and `Warning` headers then say so."
        ),
    )
    def destroy(self, request: Request, pk: str) -> Response:
        holdings = services.trace_delete(trace=selectors.trace_get(trace_id=pk), actor=request.user)
        response = Response(status=status.HTTP_204_NO_CONTENT)
        for holding in holdings:
            response[holding.header] = ", ".join(holding.keys)
        if holdings:
            response["Warning"] = f'299 tunix-rt "{holdings_warning(holdings, deleted=True)}"'
        return response

    @extend_schema(
        request=TraceScoreInputSerializer,
        responses={201: TraceScoreOutputSerializer},
        summary="Score a trace and store the score",
        description=(
            "`criteria` defaults to `baseline` (0..100 from step count and length); the verifiers score 0..1 "
            "and answer 400 for a trace they cannot check."
        ),
    )
    @action(detail=True, methods=["post"], url_path="score")
    def score(self, request: Request, pk: str) -> Response:
        trace = selectors.trace_get(trace_id=pk)
        incoming = TraceScoreInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        score = services.trace_score(trace=trace, criteria=incoming.validated_data["criteria"], actor=request.user)
        return Response(TraceScoreOutputSerializer(score).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[TraceCompareQuerySerializer],
        responses={200: TraceCompareOutputSerializer, 404: COMPARE_NOT_FOUND},
        summary="Two traces side by side with their baseline scores and step-level diff",
        description="Scores both sides with `baseline` without storing anything; a 404 names the missing side.",
    )
    @action(detail=False, methods=["get"], url_path="compare", filter_backends=[])
    def compare(self, request: Request) -> Response:
        query = TraceCompareQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        sides = selectors.trace_compare(base_id=query.validated_data["base"], other_id=query.validated_data["other"])
        return Response(TraceCompareOutputSerializer(sides).data)
