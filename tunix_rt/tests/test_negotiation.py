from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404
from django.test import RequestFactory
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer, StaticHTMLRenderer
from rest_framework.request import Request

from datasets.api import ExportNegotiation
from tunix_rt.negotiation import ContentNegotiation
from tunix_rt.renderers import FastJSONRenderer, NDJSONRenderer, OctetStreamRenderer


class AnyRenderer(BaseRenderer):
    media_type = "*/*"
    format = "any"


RENDERER_LISTS = [
    [FastJSONRenderer(), BrowsableAPIRenderer()],
    [StaticHTMLRenderer(), JSONRenderer()],
    [AnyRenderer(), JSONRenderer()],
    [JSONRenderer(), NDJSONRenderer(), OctetStreamRenderer()],
]


def _answer(negotiation: Any, query: str, suffix: str | None, renderers: list[BaseRenderer], **headers: Any) -> Any:
    request = Request(RequestFactory().get(f"/api/traces{query}", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, suffix)
    except (NotAcceptable, Http404) as refused:
        return type(refused)
    return renderer, media_type


@pytest.mark.parametrize("renderers", RENDERER_LISTS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_ACCEPT": "*/*"}, {"HTTP_ACCEPT": "application/json"}, {"HTTP_ACCEPT": "text/html"},
     {"HTTP_ACCEPT": "*/*; q=0.5"}, {"HTTP_ACCEPT": "image/png"}, {"HTTP_ACCEPT": ""}],
)  # fmt: skip
@pytest.mark.parametrize(("query", "suffix"), [("", None), ("?format=json", None), ("?format=api", None), ("", "json")])
def test_answers_as_drf_does(
    renderers: list[BaseRenderer], headers: dict[str, str], query: str, suffix: str | None
) -> None:
    assert _answer(ContentNegotiation(), query, suffix, renderers, **headers) == _answer(
        DefaultContentNegotiation(), query, suffix, renderers, **headers
    )


def test_the_export_keeps_format_for_the_export_format() -> None:
    renderers: list[BaseRenderer] = [JSONRenderer(), NDJSONRenderer(), OctetStreamRenderer()]
    assert _answer(ExportNegotiation(), "?format=tunix_sft", None, renderers) == (renderers[0], "application/json")
    assert _answer(ExportNegotiation(), "?format=tunix_sft", None, renderers, HTTP_ACCEPT="application/x-ndjson") == (
        renderers[1],
        "application/x-ndjson",
    )
    octets = _answer(ExportNegotiation(), "?format=chat", None, renderers, HTTP_ACCEPT="application/octet-stream")
    assert octets == (renderers[2], "application/octet-stream")
