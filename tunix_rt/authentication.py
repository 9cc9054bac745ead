"""Token authentication that reads the token's user and the user's role in ONE query, every request.

DRF's ``TokenAuthentication`` selects the token with its user through the ORM, and the role
(``tunix_rt.roles``) would take a second query; compiling them cost more than running them.
Here one statement, written once per process and prepared by PostgreSQL, reads the user with
the highest role group as a subquery, and the role is cached on the user exactly where
``user_role`` looks for it. Nothing is kept between requests: a deleted token, a deactivated
user or a lowered role is refused on the very next request, whatever made the change.
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


@cache
def _fields() -> tuple[list[str], list[tuple[int, Any, list[Any]]]]:
    """The user's field names for ``from_db`` and, per column that needs them, the converters the
    ORM would apply (none on PostgreSQL; SQLite returns dates as text)."""
    model = get_user_model()
    names, converting = [], []
    for index, field in enumerate(model._meta.concrete_fields):
        names.append(field.attname)
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            converting.append((index, column, converters))
    return names, converting


class RoleTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        """The token's user, with its role cached where ``user_role`` looks; one query."""
        sql, params = _sql()
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, key])
            found = cursor.fetchone()
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        *values, role_group = found
        names, converting = _fields()
        for index, column, converters in converting:
            for convert in converters:
                values[index] = convert(values[index], column, connection)
        user: Any = get_user_model().from_db(connection.alias, names, values)
        user.role_group = role_group
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        user._tunix_role = user.role_group or (ADMIN if user.is_staff else NO_ROLE)
        return user, Token(key=key, user=user)
