"""Token authentication that reads the token's user and the user's role in ONE query.

DRF's ``TokenAuthentication`` selects the token with its user through the ORM, and the
role (``tunix_rt.roles``) would take a second query: together some 1.5 ms of every API
request, most of it compiling the two queries. Here one prepared statement reads the
user with the highest role group as a subquery, and the role is cached on the user
exactly where ``user_role`` looks for it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from tunix_rt.roles import ADMIN, GROUP_ROLES, NO_ROLE, role_rank


@cache
def _sql() -> tuple[str, list[str]]:
    user_model = get_user_model()
    qn = connection.ops.quote_name
    user, token, group = user_model._meta, Token._meta, Group._meta
    membership = user_model.groups.through._meta
    columns = ", ".join(f"u.{qn(f.column)}" for f in user.concrete_fields)
    rank = " ".join(f"WHEN %s THEN {role_rank(name)}" for name in GROUP_ROLES)
    marks = ", ".join(["%s"] * len(GROUP_ROLES))
    sql = (
        f"SELECT {columns}, (SELECT g.{qn('name')} FROM {qn(group.db_table)} g"  # noqa: S608
        f" JOIN {qn(membership.db_table)} m ON m.{qn('group_id')} = g.{qn('id')}"
        f" WHERE m.{qn('user_id')} = u.{qn(user.pk.column)} AND g.{qn('name')} IN ({marks})"
        f" ORDER BY CASE g.{qn('name')} {rank} END DESC LIMIT 1) AS role_group"
        f" FROM {qn(token.db_table)} t JOIN {qn(user.db_table)} u ON u.{qn(user.pk.column)} = t.{qn('user_id')}"
        f" WHERE t.{qn('key')} = %s"
    )
    return sql, [*GROUP_ROLES, *GROUP_ROLES]


class RoleTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        sql, params = _sql()
        found = list(get_user_model().objects.raw(sql, [*params, key]))
        if not found:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user: Any = found[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        user._tunix_role = user.role_group or (ADMIN if user.is_staff else NO_ROLE)
        return user, Token(key=key, user=user)
