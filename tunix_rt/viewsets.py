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

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        view: Any = self
        action = view.action
        if action == "metadata" and view.request is not None:
            action = view.action_map.get(view.request.method.lower())
        return self.action_serializers.get(action or "", serializers.Serializer)

    def get_serializer(self, *args: Any, **kwargs: Any) -> serializers.BaseSerializer[Any]:
        view: Any = self
        kwargs.pop("instance", None)
        kwargs.setdefault("context", {"request": view.request, "view": view})
        return self.get_serializer_class()(**kwargs)
