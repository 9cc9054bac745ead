"""Query-string parameters and filters that answer 400 instead of ignoring or mis-reading a value."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import django_filters
from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils import timezone
from django_filters.fields import IsoDateTimeField
from rest_framework import serializers
from rest_framework.fields import empty

from tunix_rt.validation import number_problem

# PostgreSQL stores a UTC offset of at most 15:59 (hours and minutes) in a timestamp literal.
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)
BLANK = "This field may not be blank; leave the parameter out instead."


class UTCDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time turned into aware UTC; impossible offsets and overflows are field errors."""

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return aware_utc(parsed)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCDateTimeField


TRUE_WORDS = ("true", "1")
FALSE_WORDS = ("false", "0")


class StrictBooleanField(forms.Field):
    """``true``/``1`` or ``false``/``0`` (any case); any other word is a field error, never "no filter"."""

    widget = forms.TextInput

    def to_python(self, value: Any) -> bool | None:
        if value in self.empty_values:
            return None
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise forms.ValidationError(f'"{value}" is not a boolean; use true or false.', code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    """django-filter's BooleanFilter reads an unknown word as "no filter"; this one refuses it."""

    field_class = StrictBooleanField


class StrictListFilter(admin.SimpleListFilter):
    """An admin list filter for which a value outside its lookups is Django's invalid-lookup error
    (the changelist says so), never a silently unfiltered list."""

    def __init__(self, request: Any, params: Any, model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        value = self.value()
        if value is not None and value not in {str(key) for key, _ in self.lookup_choices}:
            raise IncorrectLookupParameters(f"{value!r} is not a choice of the {self.parameter_name!r} filter.")


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet for which ``?name=`` is a 400, not a silently ignored filter."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        blank = [name for name in self.filters if name in self.data and self.data.get(name) == ""]
        for name in blank:
            self.form.add_error(name, BLANK)
        return valid and not blank


class QuerySerializer(serializers.Serializer[Any]):
    """Query-string parameters: ``?name=`` is a 400, where DRF's form handling would drop it silently."""

    def run_validation(self, data: Any = empty) -> Any:
        if hasattr(data, "get"):
            blank: dict[str, Any] = {str(name): [BLANK] for name in self.fields if data.get(name) == ""}
            if blank:
                raise serializers.ValidationError(blank)
        return super().run_validation(data)


def aware_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime; ``ValueError`` names why it cannot be one.

    A naive value is read in the current time zone. Offsets beyond ±15:59 and values
    that leave years 1..9999 when converted are refused.
    """
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValueError("The UTC offset must be between -15:59 and +15:59.")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("The date-time is out of range once converted to UTC (years 1..9999).") from None


def query_json_scalar(raw: str) -> Any:
    """The JSON number or boolean that a query-string value spells, or None.

    ``NaN``, ``Infinity``, ``1e999`` and integers beyond 64 bits spell nothing storable,
    so they are matched as plain text only.
    """
    if raw.lstrip()[:1] in ("[", "{", '"', ""):
        return None
    try:
        parsed = json.loads(raw, parse_constant=lambda _name: None)
    except (ValueError, RecursionError):
        return None
    if isinstance(parsed, bool | int | float) and number_problem(parsed) is None:
        return parsed
    return None
