"""The page shape every list endpoint answers with: limit/offset, and keyset cursors where offered.

A page fetches ``limit + 1`` rows and never counts. Deep offsets (``DEFERRED_FROM`` and
beyond) walk the index for ids alone and fetch only the page's rows ("deferred join"),
so skipping 10,000 rows does not read 10,000 rows' columns. Lists ordered newest first
by (``created_at``, primary key) may also offer ``cursor``: an opaque token for the row
after which the next page starts, stable under concurrent inserts and as quick at any
depth as on the first page.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.db.models import Q, QuerySet
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from tunix_rt.query import QuerySerializer

# Far beyond any table here, and far from the 64-bit range that OFFSET must stay within.
MAX_OFFSET = 1_000_000_000
DEFERRED_FROM = 1_000
CURSOR_MAX_CHARS = 200
DEFAULTS = {"limit": 20, "offset": 0}


class PageQuerySerializer(QuerySerializer):
    """``offset`` has no schema default: a generated client must be able to leave it out next to ``cursor``."""

    limit = serializers.IntegerField(min_value=1, max_value=100, default=DEFAULTS["limit"])
    offset = serializers.IntegerField(
        min_value=0, max_value=MAX_OFFSET, required=False, help_text="Rows to skip; 0 when left out."
    )


class CursorPageQuerySerializer(PageQuerySerializer):
    cursor = serializers.CharField(
        required=False,
        max_length=CURSOR_MAX_CHARS,
        help_text="`pagination.next_cursor` of the previous page: the next page starts after its last row. "
        "Not with `offset`.",
    )

    def validate_cursor(self, value: str) -> tuple[datetime, uuid.UUID]:
        after = decode_cursor(value)
        if after is None:
            raise serializers.ValidationError("Not a cursor this list gave out; use pagination.next_cursor.")
        return after

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "cursor" in attrs and "offset" in self.initial_data:
            raise serializers.ValidationError({"offset": ["Give offset or cursor, not both."]})
        return attrs


def decode_cursor(value: str) -> tuple[datetime, uuid.UUID] | None:
    """The (created_at, pk) a cursor of ``cursor_of`` stands for; None for anything else."""
    try:
        created_at, pk = json.loads(base64.urlsafe_b64decode(value.encode("ascii")))
        moment = datetime.fromisoformat(created_at)
        return (moment, uuid.UUID(pk)) if moment.tzinfo is not None else None
    except (ValueError, TypeError, AttributeError, binascii.Error, UnicodeError):
        return None


class PaginationSerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    next_offset = serializers.IntegerField(allow_null=True)


class CursorPaginationSerializer(PaginationSerializer):
    offset = serializers.IntegerField(allow_null=True, help_text="null on a page asked for by `cursor`.")
    next_offset = serializers.IntegerField(allow_null=True, help_text="null on the last page and on cursor pages.")
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Give it as `cursor` for the next page; null on the last."
    )


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    pagination: dict[str, Any]


def _field(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def cursor_of(row: Any, pk_name: str = "id") -> str:
    raw = json.dumps([_field(row, "created_at").isoformat(), str(_field(row, pk_name))])
    return base64.urlsafe_b64encode(raw.encode("ascii")).decode("ascii")


def _rows_from_offset(queryset: QuerySet[Any], offset: int, count: int) -> list[Any]:
    if offset < DEFERRED_FROM:
        return list(queryset[offset : offset + count])
    ids = queryset.values("pk")[offset : offset + count]
    return list(queryset.filter(pk__in=ids)[:count])


def _number(text: Any, default: int, low: int, high: int) -> int | None:
    if text is None:
        return default
    if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 10 and low <= int(text) <= high:
        return int(text)
    return None


def _plain_page_query(given: Mapping[str, Any]) -> tuple[int, int, tuple[datetime, uuid.UUID] | None] | None:
    """(limit, offset, cursor) when limit and offset are absent or plain in-range digits and a cursor,
    if any, comes alone and decodes; None leaves the rest (and every error) to the serializer."""
    cursor = None
    if "cursor" in given:
        value = given["cursor"]
        if "offset" in given or not isinstance(value, str) or len(value) > CURSOR_MAX_CHARS:
            return None
        cursor = decode_cursor(value)
        if cursor is None:
            return None
    fields: Any = PageQuerySerializer._declared_fields
    bounds = {name: (DEFAULTS[name], fields[name].min_value, fields[name].max_value) for name in ("limit", "offset")}
    limit = _number(given.get("limit"), *bounds["limit"])
    offset = _number(given.get("offset"), *bounds["offset"])
    return None if limit is None or offset is None else (limit, offset, cursor)


class Fetch(Protocol):
    """Reads ``count`` rows of a list from ``offset``, or after the cursor's (created_at, pk) when given."""

    def __call__(self, *, offset: int, count: int, after: tuple[datetime, uuid.UUID] | None) -> list[Any]: ...


def queryset_fetch(queryset: QuerySet[Any]) -> Fetch:
    """The rows of ``queryset`` (ordered by ``-created_at, -pk`` when read after a cursor)."""

    def fetch(*, offset: int, count: int, after: tuple[datetime, uuid.UUID] | None) -> list[Any]:
        if after is None:
            return _rows_from_offset(queryset, offset, count)
        moment, pk = after
        return list(queryset.filter(Q(created_at__lt=moment) | Q(pk__lt=pk), created_at__lte=moment)[:count])

    return fetch


def page_of(source: QuerySet[Any] | Fetch, params: Mapping[str, Any], *, keyset: bool = False) -> Page:
    """Validates ``limit``/``offset`` (and ``cursor`` with ``keyset``; 400 when out of range or
    malformed) and fetches ``limit + 1`` rows, no COUNT.

    ``source`` is a queryset or a ``Fetch`` (a selector's own reader of the same rows). ``keyset``
    needs them ordered by ``-created_at, -pk`` (rows as instances or dicts holding ``created_at``
    and ``id``).
    """
    fetch = queryset_fetch(source) if isinstance(source, QuerySet) else source
    names = ("limit", "offset", "cursor") if keyset else ("limit", "offset")
    given = {k: params[k] for k in names if k in params}
    plain = _plain_page_query(given)
    if plain is not None:
        limit, offset, cursor = plain
    else:
        query = (CursorPageQuerySerializer if keyset else PageQuerySerializer)(data=given)
        query.is_valid(raise_exception=True)
        limit, offset = query.validated_data["limit"], query.validated_data.get("offset", DEFAULTS["offset"])
        cursor = query.validated_data.get("cursor")
    rows = fetch(offset=offset, count=limit + 1, after=cursor)
    more = len(rows) > limit
    rows = rows[:limit]
    pagination: dict[str, Any] = {
        "limit": limit,
        "offset": None if cursor is not None else offset,
        "next_offset": offset + limit if more and cursor is None else None,
    }
    if keyset:
        pagination["next_cursor"] = cursor_of(rows[-1]) if more else None
    return Page(rows=rows, pagination=pagination)


def page_response(queryset: QuerySet[Any], params: Mapping[str, Any], serializer: type[Serializer[Any]]) -> Response:
    """One page of ``queryset`` as ``{"data": [...], "pagination": {...}}``, the shape of every list endpoint."""
    page = page_of(queryset, params)
    return Response({"data": serializer(page.rows, many=True).data, "pagination": page.pagination})
