"""Thin DRF views of preference pairs: curators write them, every role reads them."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from traces import preferences
from traces.models import Preference
from traces.serializers.preferences import (
    PreferenceInputSerializer,
    PreferenceListOutputSerializer,
    PreferenceSerializer,
)
from tunix_rt.pagination import PageQuerySerializer, page_response
from tunix_rt.roles import CURATOR
from tunix_rt.viewsets import ActionSerializersMixin


class PreferenceViewSet(ActionSerializersMixin, viewsets.GenericViewSet[Preference]):
    action_serializers = {
        "list": PreferenceSerializer,
        "create": PreferenceInputSerializer,
        "retrieve": PreferenceSerializer,
    }
    write_role = CURATOR
    filter_backends = [DjangoFilterBackend]
    filterset_class = preferences.PreferenceFilterSet
    # Hex and dashes only, so ``preferences/export.jsonl`` (datasets.urls) is not read as an id.
    lookup_value_regex = "[0-9A-Fa-f-]+"

    def get_queryset(self) -> QuerySet[Preference]:
        return preferences.preference_list()

    @extend_schema(
        parameters=[PageQuerySerializer],
        responses={200: PreferenceListOutputSerializer},
        summary="Preference pairs, newest first",
        description="Pairs of traces answering the same prompt, one preferred over the other; filters narrow them.",
    )
    def list(self, request: Request) -> Response:
        return page_response(self.filter_queryset(self.get_queryset()), request.query_params, PreferenceSerializer)

    @extend_schema(
        request=PreferenceInputSerializer,
        responses={
            201: PreferenceSerializer,
            409: OpenApiResponse(description="This trace is already preferred over that one."),
        },
        summary="Record that one trace answers a prompt better than another",
        description="`chosen` and `rejected` are trace ids with the same prompt; a pair is recorded once.",
    )
    def create(self, request: Request) -> Response:
        incoming = PreferenceInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        preference = preferences.preference_create(
            chosen_id=data["chosen"], rejected_id=data["rejected"], reason=data["reason"], actor=request.user
        )
        return Response(PreferenceSerializer(preference).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={200: PreferenceSerializer},
        summary="One preference pair",
        description="The pair with its chosen and rejected trace ids and the reason given.",
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(PreferenceSerializer(preferences.preference_get(preference_id=pk)).data)
