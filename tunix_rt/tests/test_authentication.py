"""Token authentication: one query per request, and a revoked token, user or role refused on the very next one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, connections
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient

from tunix_rt.authentication import RoleTokenAuthentication
from tunix_rt.roles import ADMIN, CURATOR, NO_ROLE, TRAINER, VIEWER, role_apply, role_groups, user_role

TRIES = 100
User = get_user_model()
Membership = User.groups.through


def trace(n: int) -> dict[str, Any]:
    return {
        "trace_version": "1.0",
        "prompt": f"What is {n} + 1?",
        "final_answer": str(n + 1),
        "steps": [{"i": 0, "type": "compute", "content": f"{n} + 1 = {n + 1}"}],
        "meta": {"source": "revocation-test"},
    }


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def member(db: Any) -> tuple[Any, Token]:
    user = User.objects.create_user(username="member")
    role_apply(user, CURATOR)
    return user, Token.objects.create(user=user)


def test_one_query_reads_the_token_its_user_and_role(member: tuple[Any, Token], django_assert_num_queries: Any) -> None:
    user, token = member
    with django_assert_num_queries(1):
        found, found_token = RoleTokenAuthentication().authenticate_credentials(token.key)
    with django_assert_num_queries(0):
        assert (found.pk, found_token.key, user_role(found)) == (user.pk, token.key, CURATOR)


@pytest.mark.parametrize(
    ("groups", "staff", "expected"),
    [
        ([], False, NO_ROLE),
        ([], True, ADMIN),
        ([VIEWER], False, VIEWER),
        ([VIEWER, TRAINER, CURATOR], False, TRAINER),
        ([CURATOR, VIEWER], True, CURATOR),
    ],
)
def test_the_role_is_the_highest_role_group_else_admin_for_staff(
    db: Any, groups: list[str], staff: bool, expected: str
) -> None:
    user = User.objects.create_user(username="someone", is_staff=staff)
    by_name = role_groups()
    user.groups.add(*(by_name[name] for name in groups))
    Group.objects.create(name="not-a-role").user_set.add(user)
    found, _ = RoleTokenAuthentication().authenticate_credentials(Token.objects.create(user=user).key)
    assert user_role(found) == expected


def test_an_unknown_token_or_an_inactive_user_is_refused(member: tuple[Any, Token]) -> None:
    user, token = member
    with pytest.raises(AuthenticationFailed, match="Invalid token"):
        RoleTokenAuthentication().authenticate_credentials("0" * 40)
    User.objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(AuthenticationFailed, match="inactive"):
        RoleTokenAuthentication().authenticate_credentials(token.key)


def _this_connection() -> Iterator[Callable[[str, list[Any]], None]]:
    def run(sql: str, params: list[Any]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    yield run


def _another_connection() -> Iterator[Callable[[str, list[Any]], None]]:
    """A second connection to the test database, as another process or service would use."""
    other = connections.create_connection("default")

    def run(sql: str, params: list[Any]) -> None:
        with other.cursor() as cursor:
            cursor.execute(sql, params)

    yield run
    other.close()


@pytest.fixture(params=[_this_connection, _another_connection], ids=["this connection", "another connection"])
def sql(request: pytest.FixtureRequest) -> Iterator[Callable[[str, list[Any]], None]]:
    """Runs plain SQL that commits at once (the test runs outside a transaction)."""
    yield from request.param()


def table(model: Any) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


@pytest.mark.django_db(transaction=True)
def test_a_token_deleted_in_sql_is_refused_on_the_next_request(member: tuple[Any, Token], sql: Any) -> None:
    user, _ = member
    for _ in range(TRIES):
        client = token_client(Token.objects.get_or_create(user=user)[0].key)
        assert client.get("/api/traces?limit=1").status_code == 200
        sql(f"DELETE FROM {table(Token)} WHERE user_id = %s", [user.pk])  # noqa: S608
        assert client.get("/api/traces?limit=1").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_user_deactivated_in_sql_is_refused_on_the_next_request(member: tuple[Any, Token], sql: Any) -> None:
    user, token = member
    client = token_client(token.key)
    for _ in range(TRIES):
        sql(f"UPDATE {table(User)} SET is_active = %s WHERE id = %s", [True, user.pk])  # noqa: S608
        assert client.get("/api/traces?limit=1").status_code == 200
        sql(f"UPDATE {table(User)} SET is_active = %s WHERE id = %s", [False, user.pk])  # noqa: S608
        response = client.get("/api/traces?limit=1")
        assert response.status_code == 401 and "inactive" in response.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_a_curator_demoted_in_sql_cannot_store_a_trace_on_the_next_request(member: tuple[Any, Token], sql: Any) -> None:
    user, token = member
    client = token_client(token.key)
    viewer = role_groups()[VIEWER].pk
    for n in range(TRIES):
        role_apply(user, CURATOR)
        assert client.post("/api/traces", trace(n), format="json").status_code == 201
        sql(f"DELETE FROM {table(Membership)} WHERE user_id = %s", [user.pk])  # noqa: S608
        sql(f"INSERT INTO {table(Membership)} (user_id, group_id) VALUES (%s, %s)", [user.pk, viewer])  # noqa: S608
        response = client.post("/api/traces", trace(n), format="json")
        assert response.status_code == 403, response.content
        assert client.get("/api/traces?limit=1").status_code == 200
    assert len(client.get("/api/traces?limit=100").json()["data"]) == TRIES  # every 201 stored, no 403 did


@pytest.mark.django_db(transaction=True)
def test_changes_through_the_orm_are_refused_on_the_next_request(member: tuple[Any, Token]) -> None:
    user, token = member
    client = token_client(token.key)
    assert client.post("/api/traces", trace(0), format="json").status_code == 201
    role_apply(user, VIEWER)
    assert client.post("/api/traces", trace(1), format="json").status_code == 403
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get("/api/traces?limit=1").status_code == 401
    user.is_active = True
    user.save(update_fields=["is_active"])
    assert client.get("/api/traces?limit=1").status_code == 200
    token.delete()
    assert client.get("/api/traces?limit=1").status_code == 401


def _admin_user_form(admin: Client, user: Any, **changes: Any) -> dict[str, Any]:
    """The admin's change form for ``user`` as the page fills it in, with ``changes`` applied."""
    form = admin.get(f"/admin/auth/user/{user.pk}/change/").context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("groups", "user_permissions")}
    for name in ("password", "last_login", "date_joined"):
        data.pop(name, None)
    data.update(
        date_joined_0="2026-01-01", date_joined_1="00:00:00", groups=list(user.groups.values_list("pk", flat=True))
    )
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False}


@pytest.mark.django_db(transaction=True)
def test_changes_in_the_admin_are_refused_on_the_next_request(member: tuple[Any, Token], staff_user: Any) -> None:
    user, token = member
    client = token_client(token.key)
    admin = Client()
    admin.force_login(staff_user)
    assert client.post("/api/traces", trace(0), format="json").status_code == 201
    demoted = admin.post(
        f"/admin/auth/user/{user.pk}/change/", _admin_user_form(admin, user, groups=[role_groups()[VIEWER].pk])
    )
    assert demoted.status_code == 302
    assert client.post("/api/traces", trace(1), format="json").status_code == 403
    deactivated = admin.post(f"/admin/auth/user/{user.pk}/change/", _admin_user_form(admin, user, is_active=False))
    assert deactivated.status_code == 302
    assert client.get("/api/traces?limit=1").status_code == 401
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert client.get("/api/traces?limit=1").status_code == 200
    deleted = admin.post(f"/admin/authtoken/tokenproxy/{user.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not Token.objects.filter(user=user).exists()
    assert client.get("/api/traces?limit=1").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_deactivated_staff_session_is_refused_on_the_next_request(staff_user: Any, sql: Any) -> None:
    session = Client()
    session.force_login(staff_user)
    for _ in range(TRIES // 10):
        sql(f"UPDATE {table(User)} SET is_active = %s WHERE id = %s", [True, staff_user.pk])  # noqa: S608
        assert session.get("/admin/").status_code == 200
        assert session.get("/api/audit").status_code == 200
        sql(f"UPDATE {table(User)} SET is_active = %s WHERE id = %s", [False, staff_user.pk])  # noqa: S608
        refused = session.get("/admin/")
        assert refused.status_code == 302 and refused["Location"].startswith("/admin/login/")
        assert session.get("/api/audit").status_code == 401
