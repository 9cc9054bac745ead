"""Token authentication that reads the token, its user and the user's role in ONE query.

DRF's ``TokenAuthentication`` selects the token with its user; the role (``tunix_rt.roles``)
would take a second query on every request. Here the highest role group comes along as a
subquery and is cached on the user exactly where ``user_role`` looks for it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Case, IntegerField, OuterRef, Subquery, Value, When
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from tunix_rt.roles import ADMIN, GROUP_ROLES, NO_ROLE, role_rank


def _highest_role_group() -> Subquery:
    rank = Case(*(When(name=name, then=Value(role_rank(name))) for name in GROUP_ROLES), output_field=IntegerField())
    groups = Group.objects.filter(user=OuterRef("user_id"), name__in=GROUP_ROLES)
    return Subquery(groups.annotate(rank=rank).order_by("-rank").values("name")[:1])


class RoleTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        token = Token.objects.select_related("user").annotate(role_group=_highest_role_group()).filter(key=key).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user = token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        user._tunix_role = token.role_group or (ADMIN if user.is_staff else NO_ROLE)
        return user, token
