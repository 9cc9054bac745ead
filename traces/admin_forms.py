"""Forms of the trace admin: the curation form and the tag action's form."""

from __future__ import annotations

from django import forms

from traces.models import Trace
from traces.serializers import TAG_PATTERN


class TagForm(forms.Form):
    tag = forms.RegexField(regex=TAG_PATTERN, max_length=64, help_text="Letters, digits, '_', '.', ':' and '-'.")


class TraceAdminForm(forms.ModelForm):
    class Meta:
        model = Trace
        fields = ["status", "tags", "notes"]
