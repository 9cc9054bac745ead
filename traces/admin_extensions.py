"""Actions that other apps add to the trace changelist, so ``traces`` needs to know nothing of them.

A higher app (``datasets`` builds a dataset from the selection) registers its action from its
``AppConfig.ready``; the trace admin lists (and runs) it only for users holding all its ``permissions``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class TraceAction:
    name: str
    description: str
    function: Callable[[Any, HttpRequest, Any], Any]
    permissions: tuple[str, ...]


_ACTIONS: dict[str, TraceAction] = {}


def trace_action_register(action: TraceAction) -> None:
    """Adds (or replaces, by name) an action on the trace changelist."""
    _ACTIONS[action.name] = action


def trace_actions_for(request: HttpRequest) -> list[TraceAction]:
    return [action for action in _ACTIONS.values() if request.user.has_perms(action.permissions)]
