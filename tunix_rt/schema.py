"""The OpenAPI schema documents every status code a view can answer, with its body.

Views declare what only they know (a 409 on a name clash, a 404 for an id named in
the body); everything implied by how the API works is added here, for every view:

- 400 (field errors) when the operation reads a body, query or header parameters;
- 401 and 403 when it needs an authenticated user (403 also covers CSRF and roles);
- 404 when its path names an object;
- 411, 413 and 415 when it reads a body (chunked, oversized, not JSON);
- 503 when the database cannot be reached.

An action that needs an optional package the server lacks (``available_actions`` on
its view) is left out of the schema: it would only answer 501.

A list response documented as one object (the ``{"data", "pagination"}`` envelope) is
that object, not an array of it.

Docstrings are written for maintainers: an operation's description is only the one its
view gives in ``@extend_schema(description=...)``, and a serializer's component carries
a description only when ``@extend_schema_serializer(description=...)`` gives one.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import (
    ResolvedComponent,
    force_instance,
    get_override,
    is_list_serializer,
    is_serializer,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR_SCHEMA = {
    "type": "object",
    "description": "An error: `detail` says what went wrong; `code` names the kind when the API sets one.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "DRF field errors: each invalid field (or, in a batch, item index) maps to its messages; "
        "`non_field_errors` and `detail` hold errors that concern no single field."
    ),
    "additionalProperties": {},
}
JSONL_DESCRIPTION = (
    "JSONL, one JSON object per line, streamed. Served as `application/x-ndjson`, or as "
    "`application/octet-stream` (the same bytes) to a client that asks for that with `Accept`."
)


def jsonl_responses() -> dict[Any, Any]:
    """The 200 of a JSONL export: NDJSON text, or the same bytes for clients that read any download as binary."""
    return {
        (200, "application/x-ndjson"): OpenApiResponse(response=OpenApiTypes.STR, description=JSONL_DESCRIPTION),
        (200, "application/octet-stream"): OpenApiResponse(response=OpenApiTypes.BINARY, description=JSONL_DESCRIPTION),
    }


def error_response(name: str, description: str, **extra: serializers.Field[Any, Any, Any, Any]) -> OpenApiResponse:
    """An error body (``detail``, ``code``) with the keys one response adds, documented as its own component."""
    fields = {
        "detail": serializers.CharField(help_text="What went wrong."),
        "code": serializers.CharField(help_text="The kind of error."),
        **extra,
    }
    return OpenApiResponse(response=inline_serializer(name, fields), description=description)


IMPLIED = {
    "400": "Invalid input: field errors.",
    "401": "Authentication required: send `Authorization: Token <key>` or use a logged-in session.",
    "403": "Authenticated, but not allowed (missing role or CSRF token).",
    "404": "No such object.",
    "411": "A chunked body sent to a server that cannot read one; send Content-Length.",
    "413": "The body exceeds its size limit.",
    "415": "The body is not JSON (`Content-Type: application/json`).",
    "503": "The database is unreachable; try again later.",
}


class AutoSchema(openapi.AutoSchema):
    def get_description(self) -> str:  # type: ignore[override]
        return ""

    def _get_format_parameters(self) -> list[dict[str, Any]]:
        """No renderer ``format`` parameter where the view's negotiation ignores ``?format=`` (the exports)."""
        negotiation = getattr(self.view, "content_negotiation_class", None)
        if getattr(getattr(negotiation, "settings", None), "URL_FORMAT_OVERRIDE", "format") is None:
            return []
        return list(super()._get_format_parameters())

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        if get_override(serializer, "description") is None:
            schema.pop("description", None)
        return schema

    def _is_list_view(self, serializer: Any = None) -> bool:
        if serializer is not None and is_serializer(serializer) and not is_list_serializer(serializer):
            return False
        return bool(super()._is_list_view(serializer))

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.ListSerializer | serializers.ListField):
            _item_bounds(schema, field)
        return schema

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        if "requestBody" in operation and is_list_serializer(body := force_instance(self.get_request_serializer())):
            for media in operation["requestBody"]["content"].values():
                _item_bounds(media["schema"], body)
        parameters = operation.get("parameters", [])
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if parameter["in"] == "query" and schema.get("type") == "string" and "enum" not in schema:
                schema.setdefault("minLength", 1)
        codes = {"503"}
        if self._needs_user():
            codes |= {"401", "403"}
        if "requestBody" in operation:
            codes |= {"400", "411", "413", "415"}
        if any(p["in"] in ("query", "header") for p in parameters):
            codes.add("400")
        if any(p["in"] == "path" for p in parameters):
            codes.add("404")
        responses = operation["responses"]
        for code in codes:
            if code not in responses:
                responses[code] = self._error_response(code, IMPLIED[code])
        for code, response in responses.items():
            if code >= "400" and "content" not in response:
                responses[code] = self._error_response(code, response.get("description") or IMPLIED.get(code, ""))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _needs_user(self) -> bool:
        return bool(self.view.get_permissions())

    def _error_response(self, code: str, description: str) -> dict[str, Any]:
        name, schema = ("ValidationError", VALIDATION_ERROR_SCHEMA) if code == "400" else ("Error", ERROR_SCHEMA)
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
        self.registry.register_on_missing(component)
        response: dict[str, Any] = self._get_response_for_code(
            OpenApiResponse(response=component.ref, description=description), code
        )
        return response


def _item_bounds(schema: dict[str, Any], field: Any) -> None:
    """``minItems``/``maxItems`` of a list field or list serializer (drf-spectacular leaves them out)."""
    if schema.get("type") != "array":
        return
    minimum = getattr(field, "min_length", None) or (None if getattr(field, "allow_empty", True) else 1)
    maximum = getattr(field, "max_length", None)
    if minimum is not None:
        schema.setdefault("minItems", minimum)
    if maximum is not None:
        schema.setdefault("maxItems", maximum)


def drop_unavailable_actions(endpoints: list[Any], **kwargs: Any) -> list[Any]:
    """drf-spectacular preprocessing hook: keeps an action only while its view's availability check passes.

    A view lists such actions in ``available_actions = {"action": callable}``.
    """
    kept = []
    for endpoint in endpoints:
        callback, method = endpoint[3], endpoint[2]
        action = getattr(callback, "actions", {}).get(method.lower())
        check = getattr(getattr(callback, "cls", None), "available_actions", {}).get(action)
        if check is None or check():
            kept.append(endpoint)
    return kept
