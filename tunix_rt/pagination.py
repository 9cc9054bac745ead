"""The one limit/offset page shape every list endpoint answers with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from tunix_rt.query import QuerySerializer

# Far beyond any table here, and far from the 64-bit range that OFFSET must stay within.
MAX_OFFSET = 1_000_000_000


class PageQuerySerializer(QuerySerializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


class PaginationSerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    next_offset = serializers.IntegerField(allow_null=True)


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    pagination: dict[str, int | None]


def page_of(queryset: QuerySet[Any], params: Mapping[str, Any]) -> Page:
    """Validates ``limit``/``offset`` (400 outside 1..100 / 0..MAX_OFFSET) and fetches ``limit + 1`` rows, no COUNT."""
    query = PageQuerySerializer(data={k: params[k] for k in ("limit", "offset") if k in params})
    query.is_valid(raise_exception=True)
    limit, offset = query.validated_data["limit"], query.validated_data["offset"]
    rows = list(queryset[offset : offset + limit + 1])
    next_offset = offset + limit if len(rows) > limit else None
    return Page(rows=rows[:limit], pagination={"limit": limit, "offset": offset, "next_offset": next_offset})


def page_response(queryset: QuerySet[Any], params: Mapping[str, Any], serializer: type[Serializer[Any]]) -> Response:
    """One page of ``queryset`` as ``{"data": [...], "pagination": {...}}``, the shape of every list endpoint."""
    page = page_of(queryset, params)
    return Response({"data": serializer(page.rows, many=True).data, "pagination": page.pagination})
