"""``GET /api/audit`` and ``GET /api/audit/groups``: the audit trail for staff, read-only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from tunix_rt.audit import OBJECT_IDS_SHOWN, AuditGroup, audit_group_list, audit_list
from tunix_rt.models import AuditAction, AuditObjectType
from tunix_rt.pagination import PageQuerySerializer, PaginationSerializer, page_of, page_response
from tunix_rt.roles import ADMIN


class AuditQuerySerializer(PageQuerySerializer):
    actor = serializers.CharField(required=False, max_length=150, help_text="Username of the actor.")
    action = serializers.ChoiceField(choices=AuditAction.choices, required=False)
    object_type = serializers.ChoiceField(choices=AuditObjectType.choices, required=False)
    object_id = serializers.CharField(required=False, max_length=255)
    created_at = serializers.DateTimeField(
        required=False,
        help_text="Exactly this time. With `actor`, `action` and `object_type` it lists one group of "
        "`/api/audit/groups`: the entries of one operation.",
    )
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


class AuditEntrySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_name", allow_null=True)
    action = serializers.ChoiceField(choices=AuditAction.choices)
    object_type = serializers.ChoiceField(choices=AuditObjectType.choices)
    object_id = serializers.CharField()
    changes = serializers.JSONField(allow_null=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        body = super().to_representation(instance)
        body["actor"] = body["actor"] or None
        return body


class AuditListOutputSerializer(serializers.Serializer[Any]):
    data = AuditEntrySerializer(many=True)  # type: ignore[assignment]
    pagination = PaginationSerializer()


class AuditGroupSerializer(serializers.Serializer[Any]):
    created_at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_name", allow_null=True)
    action = serializers.ChoiceField(choices=AuditAction.choices)
    object_type = serializers.ChoiceField(choices=AuditObjectType.choices)
    count = serializers.IntegerField(help_text="Entries in the group (that match the filters).")
    object_ids = serializers.ListField(
        child=serializers.CharField(), help_text=f"The first {OBJECT_IDS_SHOWN} object ids, in the order written."
    )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        body = super().to_representation(instance)
        body["actor"] = body["actor"] or None
        return body


class AuditGroupListOutputSerializer(serializers.Serializer[Any]):
    data = AuditGroupSerializer(many=True)  # type: ignore[assignment]
    pagination = PaginationSerializer()


class AuditViewSet(viewsets.ViewSet):
    """Newest first; staff only. Entries cannot be changed or deleted through any surface."""

    read_role = ADMIN

    @extend_schema(
        parameters=[AuditQuerySerializer],
        responses={200: AuditListOutputSerializer, 403: OpenApiResponse(description="Staff only.")},
        summary="The audit trail, newest first (staff only)",
        description="Who did what to which object, newest first; entries cannot be changed or deleted.",
    )
    def list(self, request: Request) -> Response:
        return page_response(audit_list(**_conditions(request)), request.query_params, AuditEntrySerializer)

    @extend_schema(
        parameters=[AuditQuerySerializer],
        responses={200: AuditGroupListOutputSerializer, 403: OpenApiResponse(description="Staff only.")},
        summary="The audit trail by operation, newest first (staff only)",
        description="The entries one operation wrote (same `created_at`, actor, action and object type) as one "
        "group with its count: a bulk change of 240 traces is one row. The filters of `/api/audit` select the "
        "entries before they are grouped; `/api/audit?created_at=…&action=…&object_type=…` lists a group.",
    )
    def groups(self, request: Request) -> Response:
        entries = audit_list(**_conditions(request))

        def fetch(*, offset: int, count: int, after: Any) -> list[AuditGroup]:
            return audit_group_list(entries=entries, offset=offset, count=count)

        page = page_of(fetch, request.query_params)
        return Response({"data": AuditGroupSerializer(page.rows, many=True).data, "pagination": page.pagination})


def _conditions(request: Request) -> dict[str, Any]:
    query = AuditQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return {k: v for k, v in query.validated_data.items() if k not in ("limit", "offset")}
