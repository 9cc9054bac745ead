"""Thin DRF views for the built-in generators and the UNGAR compatibility endpoints."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from traces import generation, ungar
from traces.generators import available_generators
from traces.serializers import (
    GenerateInputSerializer,
    GenerateOutputSerializer,
    GeneratorSerializer,
    UngarGenerateInputSerializer,
    UngarStatusSerializer,
)
from tunix_rt.roles import CURATOR, VIEWER


def _generate_role(request: Request) -> str:
    """Only generation that stores traces needs curator; a preview (``persist: false``) is a read."""
    data = request.data
    return VIEWER if isinstance(data, dict) and data.get("persist") is False else CURATOR


class GeneratorViewSet(viewsets.ViewSet):
    """Built-in deterministic trace generators (see docs/api.md, "Generators")."""

    lookup_field = "name"
    lookup_value_regex = "[^/]+"
    action_roles = {"generate": _generate_role}

    @extend_schema(
        responses={200: GeneratorSerializer(many=True)},
        summary="List the built-in generators",
        description="Seeded, deterministic trace generators, with the options each takes.",
    )
    def list(self, request: Request) -> Response:
        rows = [{"name": g.name, "description": g.description, "options": g.options} for g in available_generators()]
        return Response(GeneratorSerializer(rows, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=[g.name for g in available_generators()]
            )
        ],
        request=GenerateInputSerializer,
        responses={201: GenerateOutputSerializer},
        summary="Generate traces; persist them unless persist is false",
        description="The same generator, count and seed always give the same traces; `preview` shows a few.",
    )
    @action(detail=True, methods=["post"], url_path="generate")
    def generate(self, request: Request, name: str) -> Response:
        generation.generator_options(name=name)
        incoming = GenerateInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        result = generation.traces_generate(name=name, actor=request.user, **incoming.validated_data)
        return Response(GenerateOutputSerializer(result).data, status=status.HTTP_201_CREATED)


class UngarViewSet(viewsets.ViewSet):
    """Compatibility endpoints for clients of the system tunix-rt replaces.

    Generating needs the optional UNGAR package: without it the action answers 501 and
    is left out of the OpenAPI schema.
    """

    available_actions = {"high_card_duel_generate": ungar.ungar_installed}

    write_role = CURATOR

    @extend_schema(
        responses={200: UngarStatusSerializer},
        summary="Is the optional UNGAR engine installed?",
        description="`available` says whether High Card Duel episodes can be generated with UNGAR on this server.",
    )
    @action(detail=False, methods=["get"], url_path="status")
    def status(self, request: Request) -> Response:
        return Response(UngarStatusSerializer(ungar.ungar_status()).data)

    @extend_schema(
        request=UngarGenerateInputSerializer,
        responses={
            201: GenerateOutputSerializer,
            501: OpenApiResponse(description="UNGAR is not installed."),
        },
        summary="Play High Card Duel episodes with UNGAR and store them as traces",
        description="Needs the optional UNGAR package on the server; without it this answers 501.",
    )
    @action(detail=False, methods=["post"], url_path="high-card-duel/generate")
    def high_card_duel_generate(self, request: Request) -> Response:
        incoming = UngarGenerateInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        result = generation.ungar_generate(actor=request.user, **incoming.validated_data)
        return Response(GenerateOutputSerializer(result).data, status=status.HTTP_201_CREATED)
