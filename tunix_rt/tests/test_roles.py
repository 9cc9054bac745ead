from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from traces.models import Trace
from traces.tests.factories import TraceFactory, make_payload
from training.models import RunStatus
from training.tests.factories import TrainingRunFactory
from tunix_rt.models import AuditEntry
from tunix_rt.roles import ADMIN, CURATOR, TRAINER, VIEWER, user_role

pytestmark = pytest.mark.django_db

RoleClient = Callable[[str], APIClient]


def post(client: APIClient, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("role", [VIEWER, CURATOR, TRAINER, ADMIN])
def test_every_role_reads_the_api(role_client: RoleClient, role: str) -> None:
    client = role_client(role)
    trace = TraceFactory.create()
    for url in (
        "/api/",
        "/api/traces",
        f"/api/traces/{trace.id}",
        "/api/datasets",
        "/api/training/runs",
        "/api/eval/sets",
        "/api/eval/runs",
        "/api/generators",
        "/api/ungar/status",
    ):
        assert client.get(url).status_code == 200, url


def test_a_user_without_a_role_is_refused_naming_the_role(role_client: RoleClient) -> None:
    response = role_client("").get("/api/traces")
    assert response.status_code == 403
    assert "viewer role" in response.json()["detail"]


def test_viewer_cannot_write_and_is_told_which_role_it_needs(role_client: RoleClient) -> None:
    client = role_client(VIEWER)
    trace = TraceFactory.create()
    attempts = [
        post(client, "/api/traces", make_payload(1)),
        post(client, "/api/traces/batch", [make_payload(2)]),
        client.patch(f"/api/traces/{trace.id}", {"status": "approved"}, format="json"),
        client.delete(f"/api/traces/{trace.id}"),
        post(client, f"/api/traces/{trace.id}/score", {}),
        post(client, "/api/generators/arithmetic/generate", {"count": 1}),
        post(client, "/api/datasets/build", {"dataset_name": "a", "dataset_version": "1"}),
        post(client, "/api/eval/sets", {"name": "e", "items": []}),
    ]
    for response in attempts:
        assert response.status_code == 403, response.json()
        assert response.json()["detail"].startswith("This needs the curator role; your role is viewer.")
    assert Trace.objects.count() == 1 and not AuditEntry.objects.exists()


def test_viewer_may_preview_a_generator_without_storing(role_client: RoleClient) -> None:
    response = post(role_client(VIEWER), "/api/generators/arithmetic/generate", {"count": 2, "persist": False})
    assert response.status_code == 201
    assert response.json()["trace_ids"] == [] and len(response.json()["preview"]) == 2


def test_curator_curates_but_cannot_train(role_client: RoleClient) -> None:
    client = role_client(CURATOR)
    created = post(client, "/api/traces", make_payload(1))
    assert created.status_code == 201
    trace_id = created.json()["id"]
    assert client.patch(f"/api/traces/{trace_id}", {"status": "approved"}, format="json").status_code == 200
    assert post(client, f"/api/traces/{trace_id}/score", {}).status_code == 201
    run = TrainingRunFactory.create(status=RunStatus.PENDING)
    for response in (
        post(client, "/api/training/runs", {"dataset_key": "x-1"}),
        post(client, f"/api/training/runs/{run.run_id}/cancel", {}),
        post(client, "/api/eval/runs", {"training_run_id": str(run.run_id), "eval_set": "e"}),
    ):
        assert response.status_code == 403
        assert "needs the trainer role; your role is curator" in response.json()["detail"]
    assert client.delete(f"/api/traces/{trace_id}").status_code == 204


def test_trainer_cancels_runs_but_only_staff_reads_the_audit(role_client: RoleClient) -> None:
    run = TrainingRunFactory.create(status=RunStatus.PENDING)
    trainer = role_client(TRAINER)
    assert post(trainer, f"/api/training/runs/{run.run_id}/cancel", {}).status_code == 200
    refused = trainer.get("/api/audit")
    assert refused.status_code == 403 and "admin role" in refused.json()["detail"]
    assert role_client(ADMIN).get("/api/audit").status_code == 200


def test_issue_token_creates_a_trainer_by_default_and_sets_roles() -> None:
    out = StringIO()
    call_command("issue_token", "alice", stdout=out)
    key = out.getvalue().strip()
    alice = get_user_model().objects.get(username="alice")
    assert Token.objects.get(user=alice).key == key and user_role(alice) == TRAINER

    call_command("issue_token", "alice", "--role", "viewer", stdout=StringIO())
    alice = get_user_model().objects.get(username="alice")
    assert user_role(alice) == VIEWER
    call_command("issue_token", "alice", "--role", "admin", stdout=StringIO())
    alice = get_user_model().objects.get(username="alice")
    assert alice.is_staff and alice.is_superuser and user_role(alice) == ADMIN
    call_command("issue_token", "alice", "--role", "curator", stdout=StringIO())
    alice = get_user_model().objects.get(username="alice")
    assert not alice.is_staff and not alice.is_superuser and user_role(alice) == CURATOR
    # Without --role an existing user keeps its role.
    call_command("issue_token", "alice", stdout=StringIO())
    assert user_role(get_user_model().objects.get(username="alice")) == CURATOR

    changes = list(AuditEntry.objects.filter(object_type="user", object_id="alice").order_by("id"))
    assert [e.changes for e in changes] == [
        {"role": [None, "trainer"]},
        {"role": ["trainer", "viewer"]},
        {"role": ["viewer", "admin"]},
        {"role": ["admin", "curator"]},
    ]
    assert all(e.action == "update" and e.actor is None for e in changes)


def test_issue_token_refuses_an_unknown_role() -> None:
    with pytest.raises(CommandError):
        call_command("issue_token", "bob", "--role", "owner", stdout=StringIO())
    assert not get_user_model().objects.filter(username="bob").exists()


def test_the_migration_makes_existing_users_trainers() -> None:
    migration = importlib.import_module("tunix_rt.migrations.0002_roles")
    plain = get_user_model().objects.create_user(username="old-script-user")
    staff = get_user_model().objects.create_user(username="old-staff", is_staff=True)
    migration.create_roles(apps, None)
    assert user_role(plain) == TRAINER
    assert not staff.groups.exists()


def test_role_groups_carry_admin_permissions() -> None:
    viewer = get_user_model().objects.create_user(username="v", is_staff=True)
    curator = get_user_model().objects.create_user(username="c", is_staff=True)
    from tunix_rt.roles import role_apply, roles_sync_permissions

    roles_sync_permissions()
    role_apply(viewer, VIEWER)
    viewer.is_staff = True
    viewer.save()
    role_apply(curator, CURATOR)
    curator.is_staff = True
    curator.save()
    viewer = get_user_model().objects.get(pk=viewer.pk)
    curator = get_user_model().objects.get(pk=curator.pk)
    assert viewer.has_perm("traces.view_trace") and not viewer.has_perm("traces.change_trace")
    assert curator.has_perm("traces.change_trace") and not curator.has_perm("training.add_trainingrun")
    # In the API a staff member of a role group has that role; staff without one is an admin.
    assert user_role(viewer) == VIEWER and user_role(curator) == CURATOR
    assert user_role(get_user_model().objects.create_user(username="s", is_staff=True)) == ADMIN


def test_a_role_change_on_the_admin_user_page_is_audited(client: Any, staff_user: Any) -> None:
    from django.contrib.auth.models import Group

    from tunix_rt.roles import role_apply

    bob = get_user_model().objects.create_user(username="bob")
    role_apply(bob, VIEWER)
    client.force_login(staff_user)
    page = client.get(f"/admin/auth/user/{bob.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("groups", "user_permissions")}
    data.update(
        {
            "username": "bob",
            "groups": [Group.objects.get(name=CURATOR).pk],
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        }
    )
    data.pop("last_login", None)
    data.pop("date_joined", None)
    data.pop("password", None)
    response = client.post(f"/admin/auth/user/{bob.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert user_role(get_user_model().objects.get(pk=bob.pk)) == CURATOR
    entry = AuditEntry.objects.get(object_type="user", object_id="bob", actor_name="admin")
    assert entry.changes == {"role": ["viewer", "curator"]}


def _staff_with_role(role: str) -> Any:
    from tunix_rt.roles import role_apply, roles_sync_permissions

    roles_sync_permissions()
    member = get_user_model().objects.create_user(username=f"staff-{role}", password="pw-staff-123")
    role_apply(member, role)
    member.is_staff = True
    member.save(update_fields=["is_staff"])
    return member


def test_staff_viewers_get_view_only_admin_pages(client: Any) -> None:
    trace = TraceFactory.create()
    client.force_login(_staff_with_role(VIEWER))
    changelist = client.get("/admin/traces/trace/")
    assert changelist.status_code == 200
    assert b'value="approve"' not in changelist.content
    page = client.get(f"/admin/traces/trace/{trace.id}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    client.post("/admin/traces/trace/", {"action": "approve", "_selected_action": [str(trace.id)]})
    assert Trace.objects.get(id=trace.id).status == "pending"
    assert client.get("/admin/training/trainingrun/start/").status_code == 403
    assert client.get("/admin/tunix_rt/auditentry/").status_code == 403


def test_staff_curators_curate_in_the_admin_but_cannot_start_runs(client: Any) -> None:
    trace = TraceFactory.create()
    client.force_login(_staff_with_role(CURATOR))
    changelist = client.get("/admin/traces/trace/")
    assert b'value="approve"' in changelist.content
    client.post("/admin/traces/trace/", {"action": "approve", "_selected_action": [str(trace.id)]})
    assert Trace.objects.get(id=trace.id).status == "approved"
    assert client.get("/admin/training/trainingrun/start/").status_code == 403
    run = TrainingRunFactory.create(status=RunStatus.PENDING)
    assert client.post(f"/admin/training/trainingrun/{run.run_id}/cancel/").status_code == 403
    client.force_login(_staff_with_role(TRAINER))
    assert client.get("/admin/training/trainingrun/start/").status_code == 200
