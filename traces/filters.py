"""The trace FilterSet: one definition of the list filters for the API and its schema."""

from __future__ import annotations

import json
import re
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTransform

from traces.models import Trace, TraceStatus
from tunix_rt.query import BLANK, StrictBooleanFilter, StrictFilterSet, UTCDateTimeFilter, query_json_scalar
from tunix_rt.validation import filter_path_problem, text_problem

# One character class, then a split on "__": a pattern of repeated "__"-separated groups whose
# characters include "_" backtracks exponentially on a near miss.
META_PARAM = re.compile(r"^meta__(?P<path>[A-Za-z0-9_\-.]+)$")


def meta_path_expression(path: list[str]) -> KeyTransform:
    """A JSON key path on ``meta`` built as explicit transforms, so no key is read as a lookup."""
    expression = KeyTransform(path[0], "meta")
    for key in path[1:]:
        expression = KeyTransform(key, expression)
    return expression


def filter_meta(queryset: QuerySet[Trace], conditions: dict[str, Any]) -> QuerySet[Trace]:
    """Keeps traces whose ``meta`` matches every ``key path -> JSON value`` condition."""
    for n, (key, value) in enumerate(conditions.items()):
        alias = f"_meta_{n}"
        queryset = queryset.alias(**{alias: meta_path_expression(key.split("__"))})
        queryset = queryset.filter(**{alias: value})
    return queryset


def has_duplicates() -> Exists:
    """True for a trace whose ``content_hash`` another trace shares (an indexed lookup per row)."""
    return Exists(Trace.objects.filter(content_hash=OuterRef("content_hash")).exclude(pk=OuterRef("pk")))


FILTER_KEYS = ("source", "status", "tag", "created_after", "created_before", "q", "has_duplicates")


def is_filter_param(name: str) -> bool:
    """Whether a list query parameter is one of the filters (the rest are pagination or unknown, and ignored)."""
    return name in TraceFilterSet.base_filters or name.startswith("meta__")


def filter_traces(queryset: QuerySet[Trace], filters: dict[str, Any]) -> QuerySet[Trace]:
    """Applies list-endpoint filters given as a JSON object; an unknown key or a bad value is a ValidationError."""
    unknown = sorted(k for k in filters if k not in FILTER_KEYS and not k.startswith("meta__"))
    if unknown:
        valid = ", ".join(FILTER_KEYS)
        raise ValidationError({"filters": [f"Unknown filter {unknown[0]!r}; valid: {valid} and meta__<key>."]})
    data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in filters.items()}
    filterset = TraceFilterSet(data=data, queryset=queryset)
    if not filterset.is_valid():
        errors = {k: [str(m) for m in v] for k, v in filterset.errors.items()}
        raise ValidationError({"filters": [f"{k}: {' '.join(v)}" for k, v in errors.items()]})
    return filterset.qs


def _query_value_candidates(raw: str) -> list[Any]:
    """A query-string value matches the JSON string itself or the finite JSON number or boolean it spells."""
    scalar = query_json_scalar(raw)
    return [raw] if scalar is None else [raw, scalar]


class TraceFilterSet(StrictFilterSet):
    source = django_filters.CharFilter(field_name="source", max_length=255, help_text="Exact `meta.source`.")
    status = django_filters.ChoiceFilter(field_name="status", choices=TraceStatus.choices)
    tag = django_filters.CharFilter(field_name="tags__name", max_length=64, help_text="Traces carrying this tag.")
    created_after = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UTCDateTimeFilter(field_name="created_at", lookup_expr="lt")
    q = django_filters.CharFilter(
        method="filter_text", max_length=1_000, help_text="Text in the prompt or the final answer."
    )
    has_duplicates = StrictBooleanFilter(
        method="filter_has_duplicates",
        help_text="Content (`content_hash`) stored more than once.",
    )

    class Meta:
        model = Trace
        fields: list[str] = []

    def filter_text(self, queryset: QuerySet[Trace], name: str, value: str) -> QuerySet[Trace]:
        return queryset.filter(Q(prompt__icontains=value) | Q(final_answer__icontains=value))

    def filter_has_duplicates(self, queryset: QuerySet[Trace], name: str, value: bool) -> QuerySet[Trace]:
        condition = has_duplicates()
        return queryset.filter(condition if value else ~condition)

    def filter_queryset(self, queryset: QuerySet[Trace]) -> QuerySet[Trace]:
        queryset = super().filter_queryset(queryset)
        for n, param in enumerate(sorted(p for p in self.data if p.startswith("meta__"))):
            match = META_PARAM.match(param)
            if match is None or "" in match["path"].split("__"):
                raise ValidationError({param: ["Meta keys may use letters, digits, '_', '-' and '.'."]})
            segments = filter_path_problem(match["path"])
            if segments:
                raise ValidationError({param: [segments]})
            raw = self.data[param]
            if raw == "":
                raise ValidationError({param: [BLANK]})
            problem = text_problem(raw)
            if problem:
                raise ValidationError({param: [f"The value {problem}."]})
            alias = f"_meta_param_{n}"
            condition = Q()
            for candidate in _query_value_candidates(raw):
                condition |= Q(**{alias: candidate})
            queryset = queryset.alias(**{alias: meta_path_expression(match["path"].split("__"))})
            queryset = queryset.filter(condition)
        return queryset
