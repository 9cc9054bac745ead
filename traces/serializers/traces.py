"""Trace shapes: input, stored, listed, curated, scored and compared."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.fields import empty

from traces.models import TraceStatus
from traces.scoring import criteria_names
from traces.serializers.fast import fast_applies, trace_fast
from tunix_rt.fields import JSONObjectField, StrictCharField, StrictIntegerField, check_json_text
from tunix_rt.pagination import CursorPaginationSerializer
from tunix_rt.query import QuerySerializer

TAG_PATTERN = re.compile(r"^[\w.:-]{1,64}$")


class StepSerializer(serializers.Serializer[Any]):
    i = StrictIntegerField(min_value=0)
    type = StrictCharField(min_length=1, max_length=64)
    content = StrictCharField(min_length=1, max_length=20_000)


class TraceInputSerializer(serializers.Serializer[Any]):
    trace_version = StrictCharField(min_length=1, max_length=64)
    prompt = StrictCharField(min_length=1, max_length=50_000)
    final_answer = StrictCharField(min_length=1, max_length=50_000)
    steps = StepSerializer(many=True, min_length=1, max_length=1_000, allow_empty=False)  # type: ignore[call-arg]
    meta = JSONObjectField(required=False, allow_null=True, default=None)

    def run_validation(self, data: Any = empty) -> Any:
        """The fast path (``traces.serializers.fast``) for plainly valid input, DRF for the rest.

        Taken before DRF's ``run_validation``, which adds nothing here (no validators, no
        ``validate``, no read-only defaults) but deep-copies every field to look for defaults.
        """
        fast = trace_fast(self, data) if data is not empty and fast_applies(self) else None
        return fast if fast is not None else super().run_validation(data)

    def validate_steps(self, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen: set[int] = set()
        for step in steps:
            if step["i"] in seen:
                raise serializers.ValidationError(f"Step indices must be unique; {step['i']} repeats.")
            seen.add(step["i"])
        return steps

    def validate_meta(self, meta: Any) -> dict[str, Any] | None:
        if meta is None:
            return None
        if not isinstance(meta, dict):
            raise serializers.ValidationError("Must be a JSON object or null.")
        check_json_text(meta, "meta")
        source = meta.get("source")
        if source is not None and (not isinstance(source, str) or len(source) > 255):
            raise serializers.ValidationError("meta.source must be a string of at most 255 characters.")
        return meta


class TraceBatchInputSerializer(serializers.ListSerializer[Any]):
    """A JSON array of traces; errors come back keyed by the index of the bad item."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("child", TraceInputSerializer())
        kwargs.setdefault("allow_empty", False)
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("max_length", settings.TRACE_BATCH_MAX)
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        """Every item through ``trace_fast`` while all are plainly valid (DRF's per-item
        ``run_validation`` adds nothing for them: the child has no validators and no ``validate``);
        at the first doubt, DRF validates the whole batch and words the errors."""
        fast = self._all_fast(data)
        if fast is not None:
            return fast
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, list) and any(isinstance(d, dict) for d in exc.detail):
                keyed = {str(i): d for i, d in enumerate(exc.detail) if d}
                raise serializers.ValidationError(keyed) from None
            raise

    def _all_fast(self, data: Any) -> list[dict[str, Any]] | None:
        child: Any = self.child
        bounds: Any = self  # DRF's stubs do not declare ListSerializer's min_length and max_length
        low, high = bounds.min_length or 1, bounds.max_length or settings.TRACE_BATCH_MAX
        if type(data) is not list or not low <= len(data) <= high:
            return None
        if not fast_applies(child):
            return None
        items = []
        for item in data:
            fast = trace_fast(child, item)
            if fast is None:
                return None
            items.append(fast)
        return items


class TraceCreatedSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    trace_version = serializers.CharField()


def trace_created_items(traces: Sequence[Any]) -> list[dict[str, Any]]:
    """What ``TraceCreatedSerializer(traces, many=True).data`` holds, without DRF's per-field work
    (the API's renderer writes ids and UTC datetimes as those fields do; a test holds them equal)."""
    return [{"id": t.id, "created_at": t.created_at, "trace_version": t.trace_version} for t in traces]


class TraceBatchOutputSerializer(serializers.Serializer[Any]):
    created_count = serializers.IntegerField()
    traces = TraceCreatedSerializer(many=True)


class TagNamesField(serializers.ListField):
    child = StrictCharField(min_length=1, max_length=64)

    def to_representation(self, value: Any) -> list[str]:
        return [tag.name for tag in value.all()]


class TraceListItemSerializer(serializers.Serializer[Any]):
    """One row of ``listing.trace_list`` (a dict) with its ``tags`` added."""

    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    trace_version = serializers.CharField()
    status = serializers.ChoiceField(choices=TraceStatus.choices)
    source = serializers.CharField()  # type: ignore[assignment]
    step_count = serializers.IntegerField()
    tags = serializers.ListField(child=serializers.CharField())
    prompt_excerpt = serializers.CharField()
    created_by = serializers.CharField(source="created_by_name", allow_null=True)


def list_tags(tag_names: str | None) -> list[str]:
    """``tag_names`` of ``listing.trace_list`` (comma-joined, in any order) as the sorted list."""
    return sorted(tag_names.split(",")) if tag_names else []


def trace_list_items(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What ``TraceListItemSerializer(rows, many=True).data`` holds, without DRF's per-field work.

    ``rows`` come from ``listing.trace_list``; ids and datetimes stay Python objects, which
    the API's renderer (``tunix_rt.renderers``) writes exactly as the serializer's fields
    would (a test holds the two equal). The serializer remains the schema.
    """
    return [
        {
            "id": row["id"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "trace_version": row["trace_version"],
            "status": row["status"],
            "source": row["source"],
            "step_count": row["step_count"],
            "tags": list_tags(row["tag_names"]),
            "prompt_excerpt": row["prompt_excerpt"],
            "created_by": row["created_by_name"],
        }  # fmt: skip
        for row in rows
    ]


class TracePayloadSerializer(serializers.Serializer[Any]):
    trace_version = serializers.CharField()
    prompt = serializers.CharField()
    final_answer = serializers.CharField()
    steps = StepSerializer(many=True)
    meta = JSONObjectField(allow_null=True)


class TraceDetailSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    trace_version = serializers.CharField()
    payload = TracePayloadSerializer(source="*")
    status = serializers.ChoiceField(choices=TraceStatus.choices)
    tags = TagNamesField()
    notes = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    step_count = serializers.IntegerField()
    content_hash = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)


class TraceListOutputSerializer(serializers.Serializer[Any]):
    data = TraceListItemSerializer(many=True)  # type: ignore[assignment]
    pagination = CursorPaginationSerializer()


IMMUTABLE_FIELDS = ("trace_version", "prompt", "final_answer", "steps", "meta", "payload")


class TraceCurationInputSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=TraceStatus.choices, required=False)
    tags = serializers.ListField(child=StrictCharField(min_length=1, max_length=64), required=False, max_length=100)
    notes = StrictCharField(required=False, allow_blank=True, max_length=10_000)

    def validate_tags(self, tags: list[str]) -> list[str]:
        return check_tags(tags)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        initial = self.initial_data if isinstance(self.initial_data, dict) else {}
        immutable = {
            k: ["The reasoning content is immutable; only status, tags and notes change."]
            for k in IMMUTABLE_FIELDS
            if k in initial
        }
        if immutable:
            raise serializers.ValidationError(immutable)
        if not attrs:
            raise serializers.ValidationError("Give at least one of status, tags, notes.")
        return attrs


class TraceScoreInputSerializer(serializers.Serializer[Any]):
    criteria = serializers.ChoiceField(choices=criteria_names(), default="baseline")


class TraceScoreOutputSerializer(serializers.Serializer[Any]):
    trace_id = serializers.UUIDField()
    criteria = serializers.CharField()
    score = serializers.FloatField()
    details = serializers.JSONField()
    created_at = serializers.DateTimeField()


class TraceCompareQuerySerializer(QuerySerializer):
    base = serializers.UUIDField()
    other = serializers.UUIDField()


class TraceCompareSideSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    score = serializers.FloatField()
    trace_version = serializers.CharField()
    status = serializers.ChoiceField(choices=TraceStatus.choices)
    payload = TracePayloadSerializer()


class DiffStepSerializer(serializers.Serializer[Any]):
    n = serializers.IntegerField(help_text="1-based step number on that side.")
    type = serializers.CharField()
    content = serializers.CharField()


class DiffRowSerializer(serializers.Serializer[Any]):
    op = serializers.ChoiceField(choices=["equal", "changed", "removed", "added"])
    base = DiffStepSerializer(allow_null=True)
    other = DiffStepSerializer(allow_null=True)


class TraceDiffSerializer(serializers.Serializer[Any]):
    prompt_equal = serializers.BooleanField()
    final_answer_equal = serializers.BooleanField()
    steps = DiffRowSerializer(many=True)


class TraceCompareOutputSerializer(serializers.Serializer[Any]):
    base = TraceCompareSideSerializer()
    other = TraceCompareSideSerializer()
    diff = TraceDiffSerializer()


def check_tags(tags: list[str]) -> list[str]:
    bad = [t for t in tags if not TAG_PATTERN.match(t)]
    if bad:
        raise serializers.ValidationError(
            f"Tags may use letters, digits, '_', '.', ':' and '-' (1..64 characters): {bad[0]!r}."
        )
    return sorted(set(tags))
