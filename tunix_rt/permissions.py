"""The one API permission: the role a request needs is derived from the view's action.

Reads need ``viewer``. A view names the role its writes need in ``write_role`` and may
name per-action roles in ``action_roles`` (an action mapped to a callable gets the
request and answers the role, for actions whose need depends on the body). Writes
of a view that says nothing need ``admin``: a new view is closed until it is opened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from tunix_rt.roles import ADMIN, NO_ROLE, VIEWER, role_rank, user_role

RoleRule = str | Callable[[Request], str]


def required_role(request: Request, view: Any) -> str:
    rules: dict[str, RoleRule] = getattr(view, "action_roles", {})
    rule = rules.get(getattr(view, "action", None) or "")
    if rule is None:
        rule = (
            getattr(view, "read_role", VIEWER) if request.method in SAFE_METHODS else getattr(view, "write_role", ADMIN)
        )
    return rule(request) if callable(rule) else rule


class RolePermission(BasePermission):
    """403 naming the role needed (and the one held) when the user's role is too low."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        needed = required_role(request, view)
        held = user_role(request.user)
        if role_rank(held) >= role_rank(needed):
            return True
        having = f"your role is {held}" if held != NO_ROLE else "you have no role"
        self.message = f"This needs the {needed} role; {having}. Ask an admin for it."
        return False
