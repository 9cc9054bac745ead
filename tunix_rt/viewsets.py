"""A serializer per action, so OPTIONS and the browsable API can describe every view."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class ActionSerializersMixin:
    """``action_serializers`` maps each action to the serializer its schema documents.

    ``OPTIONS`` asks for the serializer of each allowed method while ``action`` is
    ``metadata``, so the method picks the action then. Input serializers describe
    input only: they are never bound to an instance (the browsable API's PATCH form).
    """

    action_serializers: dict[str, type[serializers.BaseSerializer[Any]]] = {}
    action: str | None
    action_map: dict[str, str]
    request: Any

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        action = self.action
        if action == "metadata" and self.request is not None:
            action = self.action_map.get(self.request.method.lower())
        return self.action_serializers.get(action or "", serializers.Serializer)

    def get_serializer(self, *args: Any, **kwargs: Any) -> serializers.BaseSerializer[Any]:
        kwargs.pop("instance", None)
        kwargs.setdefault("context", {"request": self.request, "view": self})
        return self.get_serializer_class()(**kwargs)
