"""The token cache: a known token skips the lookup until a change is announced, from any process."""

from __future__ import annotations

import select
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tunix_rt import token_cache
from tunix_rt.roles import CURATOR, VIEWER, role_apply

pytestmark = pytest.mark.django_db(transaction=True)
postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="the cache listens to PostgreSQL")


@pytest.fixture
def member() -> tuple[Any, APIClient, str]:
    user = get_user_model().objects.create_user(username="cached")
    role_apply(user, CURATOR)
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return user, client, token.key


def token_lookups(client: APIClient, path: str = "/api/traces?limit=1", expect: int = 200) -> int:
    """Sends one request and answers how many of its queries read the token table."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == expect, response.content[:300]
    return sum(Token._meta.db_table in query["sql"] for query in queries.captured_queries)


@pytest.fixture
def elsewhere() -> Iterator[Callable[[str, list[Any]], None]]:
    """Runs SQL on a second connection, as another process would, then waits until PostgreSQL
    has delivered the announcement to this process's connection."""
    params = connection.settings_dict
    other = psycopg.connect(
        dbname=params["NAME"], user=params["USER"], host=params["HOST"], port=params["PORT"] or 5432, autocommit=True
    )

    def run(sql: str, params: list[Any]) -> None:
        other.execute(sql, params)
        readable, _, _ = select.select([connection.connection.fileno()], [], [], 10)
        assert readable, "no announcement arrived within 10 s"

    yield run
    other.close()


@postgresql
def test_a_known_token_is_not_looked_up_again(member: Any) -> None:
    _, client, _ = member
    assert token_lookups(client) == 1
    assert token_lookups(client) == 0
    assert token_lookups(client) == 0


@postgresql
def test_a_token_deleted_by_another_process_is_refused_next(member: Any, elsewhere: Any) -> None:
    _, client, key = member
    token_lookups(client)
    assert token_lookups(client) == 0
    elsewhere("DELETE FROM authtoken_token WHERE key = %s", [key])
    assert token_lookups(client, expect=401) == 1


@postgresql
def test_a_role_taken_by_another_process_is_refused_next(member: Any, elsewhere: Any) -> None:
    user, client, _ = member
    assert token_lookups(client) == 1
    elsewhere("DELETE FROM auth_user_groups WHERE user_id = %s", [user.pk])
    response = client.get("/api/traces?limit=1")
    assert response.status_code == 403 and "no role" in response.json()["detail"]


@postgresql
def test_changes_in_this_process_empty_the_cache_at_once(member: Any) -> None:
    user, client, _ = member
    token_lookups(client)
    role_apply(user, VIEWER)
    assert token_lookups(client) == 1
    assert client.post("/api/traces", {}, format="json").status_code == 403
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert token_lookups(client, expect=401) == 1


def test_saving_a_token_user_group_or_membership_empties_this_process_cache(member: Any) -> None:
    user, _, key = member
    changes = [
        user.save,
        lambda: role_apply(user, VIEWER),
        lambda: Group.objects.create(name="another"),
        lambda: Token.objects.filter(key=key).delete(),
    ]
    for change in changes:
        before = token_cache._forgotten
        change()
        assert token_cache._forgotten > before


@postgresql
def test_a_new_connection_and_an_old_entry_are_looked_up_again(member: Any, monkeypatch: Any, settings: Any) -> None:
    _, client, _ = member
    token_lookups(client)
    connection.close()
    assert token_lookups(client) == 1
    assert token_lookups(client) == 0
    later = token_cache.time.monotonic() + settings.TOKEN_CACHE_SECONDS + 1
    monkeypatch.setattr(token_cache.time, "monotonic", lambda: later)
    assert token_lookups(client) == 1


def test_off_on_sqlite_inside_a_transaction_or_when_set_to_zero(member: Any, settings: Any) -> None:
    _, client, _ = member
    with transaction.atomic():
        assert [token_lookups(client), token_lookups(client)] == [1, 1]
    settings.TOKEN_CACHE_SECONDS = 0
    assert [token_lookups(client), token_lookups(client)] == [1, 1]
    settings.TOKEN_CACHE_SECONDS = 60
    expected = 0 if connection.vendor == "postgresql" else 1
    assert [token_lookups(client), token_lookups(client)] == [1, expected]


@postgresql
def test_a_row_read_before_a_change_is_not_kept(member: Any) -> None:
    assert token_cache.token_cache_get("k1") is None
    token_cache.token_cache_forget()  # a change between the lookup and the keeping
    token_cache.token_cache_put("k1", ("row",))
    assert token_cache.token_cache_get("k1") is None
    token_cache.token_cache_put("k1", ("row",))
    assert token_cache.token_cache_get("k1") == ("row",)


@postgresql
def test_the_cache_keeps_the_most_recently_used(member: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(token_cache, "MOST_ENTRIES", 2)
    assert token_cache.token_cache_get("a") is None
    for key in ("a", "b"):
        token_cache.token_cache_put(key, (key,))
    assert token_cache.token_cache_get("a") == ("a",)
    token_cache.token_cache_put("c", ("c",))
    assert [token_cache.token_cache_get(key) for key in ("a", "b", "c")] == [("a",), None, ("c",)]
