"""Preference pairs: the writes (create, audited) and the reads (list, one pair) of ``Preference``.

A preference says which of two traces answering the same prompt is better; DPO trains on them
(``traces.preference_export``). The rules live here so the API, the admin's compare page and
``mine_preferences`` refuse the same pairs with the same messages.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from traces.models import Preference, Trace
from traces.prompts import prompt_key
from traces.selectors import parse_trace_id
from tunix_rt.accounts import user_or_none
from tunix_rt.audit import audit_record
from tunix_rt.errors import Conflict, InvalidInput, NotFound
from tunix_rt.ids import parse_uuid
from tunix_rt.models import AuditAction, AuditObjectType
from tunix_rt.query import StrictFilterSet, UTCDateTimeFilter

REASON_MAX = 10_000


def _side(trace_id: Any, field: str) -> Trace:
    try:
        key = parse_trace_id(trace_id)
    except NotFound:
        raise InvalidInput(f"Trace {trace_id} not found.", field=field) from None
    trace = Trace.objects.only("id", "prompt").filter(id=key).first()
    if trace is None:
        raise InvalidInput(f"Trace {trace_id} not found.", field=field)
    return trace


def preference_check(*, chosen_id: Any, rejected_id: Any) -> tuple[Trace, Trace]:
    """Both traces exist, differ and answer the same prompt (``prompt_key``); else ``InvalidInput`` naming the field."""
    chosen = _side(chosen_id, "chosen")
    rejected = _side(rejected_id, "rejected")
    if chosen.pk == rejected.pk:
        raise InvalidInput("A trace cannot be preferred over itself; choose two different traces.", field="rejected")
    if prompt_key(chosen.prompt) != prompt_key(rejected.prompt):
        raise InvalidInput(
            "The two traces answer different prompts; a preference compares answers to one prompt.", field="rejected"
        )
    return chosen, rejected


@transaction.atomic
def preference_create(*, chosen_id: Any, rejected_id: Any, reason: str = "", actor: Any = None) -> Preference:
    """Stores that ``chosen`` is better than ``rejected``, audited as ``create``.

    The prompt is the chosen trace's. A pair already stored is ``Conflict`` (409), nothing written.
    """
    chosen, rejected = preference_check(chosen_id=chosen_id, rejected_id=rejected_id)
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"Ensure this field has no more than {REASON_MAX} characters.", field="reason")
    if Preference.objects.filter(chosen=chosen, rejected=rejected).exists():
        raise Conflict(f"Trace {chosen.pk} is already preferred over trace {rejected.pk}.")
    try:
        with transaction.atomic():
            preference = Preference.objects.create(
                prompt=chosen.prompt, chosen=chosen, rejected=rejected, reason=reason, created_by=user_or_none(actor)
            )
    except IntegrityError:  # the same pair written concurrently
        raise Conflict(f"Trace {chosen.pk} is already preferred over trace {rejected.pk}.") from None
    audit_record(
        actor=actor, action=AuditAction.CREATE, object_type=AuditObjectType.PREFERENCE, object_id=preference.id
    )
    return preference


class PreferenceFilterSet(StrictFilterSet):
    trace = django_filters.UUIDFilter(method="filter_trace", help_text="Pairs with this trace on either side.")
    created_by = django_filters.CharFilter(field_name="created_by__username", max_length=150)
    created_after = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UTCDateTimeFilter(field_name="created_at", lookup_expr="lt")
    q = django_filters.CharFilter(method="filter_text", max_length=1_000, help_text="Text in the prompt or the reason.")

    class Meta:
        model = Preference
        fields: list[str] = []

    def filter_trace(self, queryset: QuerySet[Preference], name: str, value: Any) -> QuerySet[Preference]:
        return queryset.filter(Q(chosen_id=value) | Q(rejected_id=value))

    def filter_text(self, queryset: QuerySet[Preference], name: str, value: str) -> QuerySet[Preference]:
        return queryset.filter(Q(prompt__icontains=value) | Q(reason__icontains=value))


def preference_list() -> QuerySet[Preference]:
    """Newest first (``id`` breaks ties), with the creator's name joined: one query a page."""
    return Preference.objects.select_related("created_by").order_by("-created_at", "-id")


def preference_list_of_generations(*, evaluation_id: str) -> QuerySet[Preference]:
    """Pairs whose two traces are generations one evaluation stored (``meta.evaluation_run_id``)."""
    return preference_list().filter(
        chosen__meta__evaluation_run_id=evaluation_id, rejected__meta__evaluation_run_id=evaluation_id
    )


def preference_get(*, preference_id: Any) -> Preference:
    """One pair; a missing or malformed id is ``NotFound``."""
    key = parse_uuid(preference_id, what="Preference")
    preference = preference_list().filter(id=key).first()
    if preference is None:
        raise NotFound(f"Preference {preference_id} not found.")
    return preference
