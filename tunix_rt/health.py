"""Liveness and database reachability, open to anonymous callers."""

from __future__ import annotations

from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from tunix_rt import __version__

HealthSerializer = inline_serializer(
    name="Health",
    fields={
        "status": serializers.ChoiceField(choices=["healthy", "unhealthy"]),
        "database": serializers.CharField(),
        "version": serializers.CharField(),
    },
)


def database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return False, f"unreachable: {exc.__class__.__name__}"
    return True, "ok"


@extend_schema(responses={200: HealthSerializer, 503: HealthSerializer}, summary="Service health")
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def health(request: Request) -> Response:
    ok, database = database_ok()
    body = {"status": "healthy" if ok else "unhealthy", "database": database, "version": __version__}
    return Response(body, status=200 if ok else 503)
