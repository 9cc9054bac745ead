"""Changelist filters of the trace admin: latest verifier verdicts and exact duplicates."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import mark_safe

from traces.filters import has_duplicates
from traces.models import Trace
from tunix_rt.query import StrictListFilter


class VerdictFilter(StrictListFilter):
    """Traces by their latest stored verdict of one verifier (1.0 right, 0.0 wrong)."""

    annotation = ""
    wrong_label = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("wrong", self.wrong_label), ("right", "Passed"), ("unscored", "Not verified yet")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Trace]) -> QuerySet[Trace] | None:
        value = self.value()
        if value == "wrong":
            return queryset.filter(**{self.annotation: 0.0})
        if value == "right":
            return queryset.filter(**{self.annotation: 1.0})
        if value == "unscored":
            return queryset.filter(**{f"{self.annotation}__isnull": True})
        return None


class AnswerVerdictFilter(VerdictFilter):
    title = "answer (answer_match)"
    parameter_name = "answer"
    annotation = "latest_answer_match"
    wrong_label = "Answer wrong"


class FormatVerdictFilter(VerdictFilter):
    title = "format (format_match)"
    parameter_name = "format"
    annotation = "latest_format_match"
    wrong_label = "Format broken"


class HasDuplicatesFilter(StrictListFilter):
    title = "exact duplicates"
    parameter_name = "duplicates"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Has duplicates"), ("no", "Unique")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Trace]) -> QuerySet[Trace] | None:
        if self.value() == "yes":
            return queryset.filter(has_duplicates())
        if self.value() == "no":
            return queryset.filter(~has_duplicates())
        return None


class SourceListFilter(admin.AllValuesFieldListFilter):
    """The distinct sources, with "(none)" for traces whose meta names no source."""

    def choices(self, changelist: Any) -> Any:
        for choice in super().choices(changelist):
            display = str(choice["display"])
            if display == "" or display.startswith(" ("):  # the empty source, with or without its facet count
                choice["display"] = "(none)" + display
            yield choice


class TagListFilter(admin.RelatedFieldListFilter):
    """The tags, with "No tag" (not a bare "-") for traces that carry none."""

    def __init__(self, field: Any, request: HttpRequest, params: Any, model: Any, model_admin: Any, field_path: str):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.empty_value_display = mark_safe("No tag")  # noqa: S308 - a constant
