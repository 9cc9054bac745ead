"""Every admin URL and action, as every role (staff or not), against the role matrix the API enforces.

``MIN_ROLE`` says which role may make which change. One test checks the role groups hold exactly
those permissions, one that the API gives each change to the same role, and the walks that the
admin does. The walks fail on an admin URL or action the tables below do not name, so a new admin
page or action is classified, and then checked, before it ships.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, resolve
from rest_framework.authtoken.models import Token, TokenProxy
from rest_framework.test import APIClient

from datasets.tests.factories import build
from traces.models import Preference, Score, Tag, Trace
from traces.services import trace_score
from traces.tests.factories import TraceFactory
from training.models import EvaluationResult, RunStatus, TrainingRun
from training.presets import preset_names
from training.tests.factories import (
    EvalItemFactory,
    EvalSetFactory,
    EvaluationResultFactory,
    EvaluationRunFactory,
    TrainingRunFactory,
)
from tunix_rt.models import AuditEntry
from tunix_rt.roles import (
    ADMIN,
    CURATOR,
    GROUP_ROLES,
    ROLES,
    TRAINER,
    VIEWER,
    role_apply,
    role_permission_codes,
    roles_sync_permissions,
)
from tunix_rt.tests.worker_tasks import record_run

pytestmark = pytest.mark.django_db

User = get_user_model()

# Which role may make which change: the model permission the admin checks, held from that role up.
VIEWED = {
    "traces": ("trace", "score", "tag", "preference"),
    "datasets": ("dataset", "datasetitem", "datasetexport"),
    "training": ("trainingrun", "trainingmetric", "evalset", "evalitem", "evaluationrun", "evaluationresult"),
}
MIN_ROLE: dict[str, str] = {
    **{f"{app}.view_{model}": VIEWER for app, models in VIEWED.items() for model in models},
    "traces.change_trace": CURATOR,
    "traces.delete_trace": CURATOR,
    "traces.add_score": CURATOR,
    "traces.add_tag": CURATOR,
    "traces.add_preference": CURATOR,
    "datasets.add_dataset": CURATOR,
    "training.add_evalset": CURATOR,
    "training.add_trainingrun": TRAINER,
    "training.change_trainingrun": TRAINER,
    "training.add_evaluationrun": TRAINER,
    "training.change_evaluationrun": TRAINER,
}

# The API call that makes the same change as each permission: method, URL, body.
API_CHANGES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "traces.change_trace": ("patch", "/api/traces/{trace}", {"status": "approved"}),
    "traces.delete_trace": ("delete", "/api/traces/{trace}", {}),
    "traces.add_score": ("post", "/api/traces/{trace}/score", {}),
    "traces.add_tag": ("patch", "/api/traces/{trace}", {"tags": ["walked"]}),
    "traces.add_preference": ("post", "/api/preferences", {"chosen": "{other}", "rejected": "{trace}"}),
    "datasets.add_dataset": ("post", "/api/datasets/build", {"dataset_name": "walked", "dataset_version": "1"}),
    "training.add_evalset": ("post", "/api/eval/sets", {"name": "walked", "items": []}),
    "training.add_trainingrun": ("post", "/api/training/runs", {"dataset_key": "{dataset_key}"}),
    "training.change_trainingrun": ("post", "/api/training/runs/{run}/cancel", {}),
    "training.add_evaluationrun": (
        "post",
        "/api/eval/runs",
        {"training_run_id": "{done_run}", "eval_set": "{eval_set}"},
    ),
    "training.change_evaluationrun": ("post", "/api/eval/runs/{pending_evaluation}/cancel", {}),
}


def rank(role: str) -> int:
    return ROLES.index(role) + 1 if role in ROLES else 0


@dataclass(frozen=True)
class Who:
    """A user of the walk: ``role`` is its role group, ``admin`` a superuser, ``""`` none."""

    role: str
    staff: bool

    @property
    def name(self) -> str:
        return f"{self.role or 'no-role'}-{'staff' if self.staff else 'non-staff'}"

    @property
    def api_role(self) -> str:
        return ADMIN if self.role == ADMIN or (self.staff and not self.role) else self.role


# Each role with and without is_staff. Staff in no role group is an admin to the API, but holds
# no model permission: the admin shows it the audit trail (the admin role's) and nothing else.
WHO = [Who(role, staff) for role in (VIEWER, CURATOR, TRAINER, ADMIN, "") for staff in (True, False)]

Guard = Callable[[Who], bool]


def perm(code: str) -> Guard:
    """Held by a superuser, and by a role group from ``MIN_ROLE[code]`` up; no group holds an unlisted one."""
    return lambda who: (
        who.role == ADMIN or (code in MIN_ROLE and who.role in GROUP_ROLES and rank(who.role) >= rank(MIN_ROLE[code]))
    )


def both(*guards: Guard) -> Guard:
    return lambda who: all(guard(who) for guard in guards)


def either(*guards: Guard) -> Guard:
    return lambda who: any(guard(who) for guard in guards)


def ANY_STAFF(who: Who) -> bool:
    return True


def NOBODY(who: Who) -> bool:
    return False


def AUDIT(who: Who) -> bool:
    """The audit trail is the admin role's, as ``GET /api/audit``."""
    return who.api_role == ADMIN


def app_guard(label: str) -> Guard:
    if label == "tunix_rt":
        return AUDIT
    return lambda who: who.role == ADMIN or any(perm(code)(who) for code in MIN_ROLE if code.startswith(label + "."))


@dataclass(frozen=True)
class Expect:
    may: Guard
    refused: int = 403
    ok: tuple[int, ...] = (200, 302)
    changes: bool = False  # an allowed POST must change the database


@dataclass(frozen=True)
class Rule:
    get: Expect
    posts: tuple[tuple[dict[str, Any], Expect], ...]
    url: str = ""  # under /admin/, with {placeholders}; "" means the route with the object's id
    non_staff: tuple[int, str] = (302, "/admin/login/")


STOCK_BODY = {"post": "yes", "name": "walked", "status": "approved", "notes": "walked"}
EMPTY: dict[str, Any] = {}


@dataclass(frozen=True)
class ModelPerms:
    view: Guard
    add: Guard
    change: Guard
    delete: Guard


def stock(label: str, *, add: bool = True, change: bool = True, delete: bool = True) -> ModelPerms:
    app, model = label.split(".")
    return ModelPerms(
        view=perm(f"{app}.view_{model}"),
        add=perm(f"{app}.add_{model}") if add else NOBODY,
        change=perm(f"{app}.change_{model}") if change else NOBODY,
        delete=perm(f"{app}.delete_{model}") if delete else NOBODY,
    )


# What each registered model's stock pages allow: False where its admin says no to everyone.
MODELS: dict[str, ModelPerms] = {
    "auth.group": stock("auth.group"),
    "auth.user": stock("auth.user"),
    "authtoken.tokenproxy": stock("authtoken.tokenproxy"),
    "django_tasks_database.dbtaskresult": stock(
        "django_tasks_database.dbtaskresult", add=False, change=False, delete=False
    ),
    "tunix_rt.auditentry": ModelPerms(view=AUDIT, add=NOBODY, change=NOBODY, delete=NOBODY),
    "traces.trace": stock("traces.trace", add=False),
    "traces.tag": stock("traces.tag"),
    "traces.score": stock("traces.score", add=False, change=False),
    "traces.preference": stock("traces.preference", add=False, change=False),
    "datasets.dataset": stock("datasets.dataset", add=False, change=False, delete=False),
    "training.evalset": stock("training.evalset", add=False, change=False),
    "training.evaluationrun": stock("training.evaluationrun", add=False, change=False),
    "training.evaluationresult": stock("training.evaluationresult", add=False, change=False),
    "training.trainingrun": stock("training.trainingrun", add=False, change=False),
}


def stock_rules(label: str, perms: ModelPerms) -> dict[str, Rule]:
    app, model = label.split(".")
    see = either(perms.view, perms.change)
    return {
        # A changelist POST without an action changes nothing; actions have their own walk.
        f"{app}_{model}_changelist": Rule(Expect(see), ((STOCK_BODY, Expect(see)),)),
        f"{app}_{model}_add": Rule(Expect(perms.add), ((STOCK_BODY, Expect(perms.add)),)),
        f"{app}_{model}_change": Rule(Expect(see), ((STOCK_BODY, Expect(perms.change)),)),
        f"{app}_{model}_delete": Rule(Expect(perms.delete), ((STOCK_BODY, Expect(perms.delete, changes=True)),)),
        f"{app}_{model}_history": Rule(Expect(see), ((STOCK_BODY, Expect(see)),)),
        f"{app}/{model}/<path:object_id>/": Rule(Expect(ANY_STAFF), ((STOCK_BODY, Expect(ANY_STAFF)),)),
    }


VIEW_TRACE, CHANGE_TRACE = perm("traces.view_trace"), perm("traces.change_trace")
VIEW_EVALUATION = perm("training.view_evaluationrun")
START_RUN, EVALUATE, CANCEL_RUN = (
    perm("training.add_trainingrun"),
    perm("training.add_evaluationrun"),
    perm("training.change_trainingrun"),
)
NOT_ALLOWED = Expect(NOBODY, refused=405)

CUSTOM: dict[str, Rule] = {
    "auth_user_password_change": Rule(
        Expect(perm("auth.change_user")),
        (
            (
                {"password1": "walked-Pw-123", "password2": "walked-Pw-123"},
                Expect(perm("auth.change_user"), changes=True),
            ),
        ),
        url="auth/user/{target_user}/password/",
    ),
    "traces_trace_compare": Rule(
        Expect(VIEW_TRACE),
        (
            ({"trace": "{trace}", "status": "approved"}, Expect(CHANGE_TRACE, changes=True)),
            ({"trace": "{trace}", "status": "rejected"}, Expect(CHANGE_TRACE, changes=True)),
            (
                {"op": "prefer", "chosen": "{duplicate}", "rejected": "{trace}", "reason": "walked"},
                Expect(perm("traces.add_preference"), changes=True),
            ),
        ),
        url="traces/trace/compare/?base={trace}&other={other}",
    ),
    "traces_trace_review": Rule(
        Expect(VIEW_TRACE),
        (
            ({"trace": "{trace}", "op": "approve"}, Expect(CHANGE_TRACE, changes=True)),
            ({"trace": "{trace}", "op": "reject"}, Expect(CHANGE_TRACE, changes=True)),
            ({"trace": "{trace}", "op": "skip"}, Expect(CHANGE_TRACE)),
            ({"trace": "{trace}", "op": "undo", "status": "rejected"}, Expect(CHANGE_TRACE, changes=True)),
            ({"trace": "{trace}", "op": "note", "notes": "walked"}, Expect(CHANGE_TRACE, changes=True)),
            (
                {"trace": "{trace}", "op": "tag", "tag": "walked"},
                Expect(both(CHANGE_TRACE, perm("traces.add_tag")), changes=True),
            ),
        ),
        url="traces/trace/review/?trace={trace}&pos=1",
    ),
    "datasets_dataset_diff": Rule(
        Expect(perm("datasets.view_dataset")),
        ((STOCK_BODY, NOT_ALLOWED),),
        url="datasets/dataset/{dataset}/diff/?against={other_dataset_key}",
    ),
    "training_evaluationrun_report": Rule(
        Expect(VIEW_EVALUATION),
        ((STOCK_BODY, NOT_ALLOWED),),
        url="training/evaluationrun/report/?before={evaluation}&after={later_evaluation}",
    ),
    "training_trainingrun_compare": Rule(
        Expect(VIEW_EVALUATION),
        ((STOCK_BODY, NOT_ALLOWED),),
        url="training/trainingrun/{done_run}/compare/?before={evaluation}&after={later_evaluation}",
    ),
    "training_trainingrun_start": Rule(
        Expect(START_RUN),
        (({"dataset_key": "{dataset_key}", "preset": "sft_tiny"}, Expect(START_RUN, changes=True)),),
        url="training/trainingrun/start/",
    ),
    "training_trainingrun_fine_tune": Rule(
        Expect(START_RUN),
        (({"kind": "grpo", "preset": "{grpo_preset}", "dataset_key": "{dataset_key}"}, Expect(START_RUN)),),
        url="training/trainingrun/{done_run}/fine-tune/",
    ),
    "training_trainingrun_evaluate": Rule(
        Expect(EVALUATE),
        (({"eval_set": "{eval_set}", "checkpoint": "final"}, Expect(EVALUATE, changes=True)),),
        url="training/trainingrun/{done_run}/evaluate/",
    ),
    "training_trainingrun_cancel": Rule(
        Expect(CANCEL_RUN),
        ((EMPTY, Expect(CANCEL_RUN, changes=True)),),
        url="training/trainingrun/{run}/cancel/",
    ),
}

SITE: dict[str, Rule] = {
    "index": Rule(Expect(ANY_STAFF), ((EMPTY, Expect(ANY_STAFF)),), url=""),
    "login": Rule(Expect(ANY_STAFF), ((EMPTY, Expect(ANY_STAFF)),), url="login/", non_staff=(200, "")),
    "logout": Rule(NOT_ALLOWED, ((EMPTY, Expect(ANY_STAFF)),), url="logout/", non_staff=(302, "/admin/")),
    "password_change": Rule(Expect(ANY_STAFF), ((EMPTY, Expect(ANY_STAFF)),), url="password_change/"),
    "password_change_done": Rule(Expect(ANY_STAFF), ((EMPTY, NOT_ALLOWED),), url="password_change/done/"),
    "autocomplete": Rule(Expect(NOBODY), ((EMPTY, NOT_ALLOWED),), url="autocomplete/"),
    "jsi18n": Rule(Expect(ANY_STAFF), ((EMPTY, NOT_ALLOWED),), url="jsi18n/"),
    # Django's shortcut to an object's site page: none of these models has one.
    "view_on_site": Rule(
        Expect(ANY_STAFF, ok=(404,)), ((EMPTY, Expect(ANY_STAFF, ok=(404,))),), url="r/{trace_type}/{trace}/"
    ),
    "(?P<url>.*)$": Rule(Expect(NOBODY, refused=404), ((EMPTY, Expect(NOBODY, refused=404)),), url="no-such-page/"),
}

RULES: dict[str, Rule] = (
    {key: rule for label, perms in MODELS.items() for key, rule in stock_rules(label, perms).items()} | CUSTOM | SITE
)


def admin_patterns(patterns: Any = None, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(name or route, route) of every admin URL: the site's own and every ModelAdmin's ``get_urls``."""
    for pattern in admin.site.get_urls() if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from admin_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            assert isinstance(pattern, URLPattern)
            route = prefix + str(pattern.pattern)
            yield pattern.name or route, route


def test_every_admin_url_has_a_rule() -> None:
    """A new admin page fails here until its rule says who may read it and who may change through it."""
    keys = [key for key, _ in admin_patterns()]
    assert len(keys) == len(set(keys))
    assert set(keys) == set(RULES) | {"app_list"}


def test_role_groups_hold_exactly_the_permissions_of_the_table() -> None:
    codes = role_permission_codes()
    for role in GROUP_ROLES:
        assert sorted(codes[role]) == sorted(c for c, needed in MIN_ROLE.items() if rank(needed) <= rank(role)), role


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    """One object of every registered model, and the ids the rules' placeholders name."""
    roles_sync_permissions()
    trace = TraceFactory.create(status="pending")
    other = TraceFactory.create(status="pending")
    duplicate = TraceFactory.create(
        status="pending", prompt=trace.prompt, steps=trace.steps, final_answer=trace.final_answer
    )
    trace.tags.add(Tag.objects.create(name="gold"))
    trace_score(trace=trace)
    Preference.objects.create(chosen=trace, rejected=duplicate, prompt=trace.prompt)
    dataset = build(name="walk", version="1", trace_ids=[trace.id, other.id], limit=2)
    other_dataset = build(name="walk", version="2", trace_ids=[other.id], limit=1)
    done_run = TrainingRunFactory.create(dataset_key=dataset.key, status=RunStatus.SUCCEEDED)
    run = TrainingRunFactory.create(dataset_key=dataset.key, status=RunStatus.PENDING)
    eval_set = EvalSetFactory.create(name="walk-eval", item_count=1)
    EvalItemFactory.create(eval_set=eval_set)
    evaluation = EvaluationRunFactory.create(training_run=done_run, eval_set=eval_set, checkpoint="base")
    later = EvaluationRunFactory.create(training_run=done_run, eval_set=eval_set, checkpoint="final")
    for side in (evaluation, later):
        EvaluationResultFactory.create(evaluation=side, example_id="ex-walk")
    pending_evaluation = EvaluationRunFactory.create(training_run=done_run, eval_set=eval_set, status=RunStatus.PENDING)
    target = User.objects.create_user(username="walk-target")
    Token.objects.create(user=target)
    AuditEntry.objects.create(action="update", object_type="trace", object_id=str(trace.id), actor_name="walk")
    record_run.enqueue("/nonexistent/walk", "walk")
    objects = {
        "auth.group": Group.objects.create(name="walk-group"),
        "auth.user": target,
        "authtoken.tokenproxy": TokenProxy.objects.get(user=target),
        "django_tasks_database.dbtaskresult": apps.get_model("django_tasks_database", "dbtaskresult").objects.get(),
        "tunix_rt.auditentry": AuditEntry.objects.get(actor_name="walk"),
        "traces.trace": trace,
        "traces.tag": Tag.objects.get(name="gold"),
        "traces.score": Score.objects.filter(trace=trace).first(),
        "traces.preference": Preference.objects.get(),
        "datasets.dataset": dataset,
        "training.evalset": EvalSetFactory.create(name="walk-unused"),
        "training.evaluationrun": evaluation,
        "training.evaluationresult": EvaluationResult.objects.filter(evaluation=evaluation).first(),
        "training.trainingrun": done_run,
    }
    assert set(objects) == set(MODELS) and all(obj is not None for obj in objects.values())
    return {
        "objects": objects,
        "trace": str(trace.id),
        "other": str(other.id),
        "duplicate": str(duplicate.id),
        "target_user": target.pk,
        "trace_type": ContentType.objects.get_for_model(Trace).pk,
        "dataset": dataset.pk,
        "dataset_key": dataset.key,
        "other_dataset_key": other_dataset.key,
        "done_run": str(done_run.run_id),
        "run": str(run.run_id),
        "eval_set": eval_set.name,
        "evaluation": str(evaluation.id),
        "later_evaluation": str(later.id),
        "pending_evaluation": str(pending_evaluation.id),
        "grpo_preset": preset_names("grpo")[0],
    }


def fill(value: Any, world: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**world)
    if isinstance(value, list):
        return [fill(item, world) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, world) for key, item in value.items()}
    return value


def targets(world: dict[str, Any]) -> Iterator[tuple[str, str, Rule]]:
    """(key, URL, rule) for every admin URL; the app index once per app, each with its own rule."""
    for key, route in admin_patterns():
        if key == "app_list":
            for label in re.findall(r"[a-z_]+", route.split(">", 1)[1].split(")", 1)[0]):
                rule = Rule(Expect(app_guard(label), refused=404), ((EMPTY, Expect(app_guard(label), refused=404)),))
                yield key, f"/admin/{label}/", rule
            continue
        rule = RULES[key]
        if rule.url or key in SITE:
            url = "/admin/" + fill(rule.url, world)
        else:
            app, model = route.split("/")[:2]
            obj = world["objects"][f"{app}.{model}"]
            url = "/admin/" + route.replace("<path:object_id>", quote(str(obj.pk)))
        assert resolve(url.split("?")[0]).url_name == (None if "/" in key or "(" in key else key), (key, url)
        yield key, url, rule


WATCHED_APPS = {"traces", "datasets", "training", "tunix_rt", "auth", "authtoken", "admin", "django_tasks_database"}


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every model the admin could change (the audit trail and admin log included)."""
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label in WATCHED_APPS and not model._meta.proxy
    }


def member(who: Who) -> Any:
    user = User.objects.create_user(username=f"walk-{who.name}", password="pw-walk-123")
    if who.role:
        role_apply(user, who.role)
    if user.is_staff != who.staff:
        user.is_staff = who.staff
        user.save(update_fields=["is_staff"])
    return user


def signed_in(who: Who) -> Client:
    client = Client()
    client.force_login(member(who))
    return client


def attempt(client: Client, who: Who, method: str, url: str, body: dict[str, Any]) -> tuple[Any, bool]:
    """The response and, for a POST, whether the database changed; the change is rolled back after,
    and so is a new session (a logout, a password change), so a POST signs the user in again."""
    if method == "get":
        return client.get(url), False
    with transaction.atomic():
        before = snapshot()
        response = client.post(url, body)
        changed = snapshot() != before
        transaction.set_rollback(True)
    client.force_login(User.objects.get(username=f"walk-{who.name}"))
    return response, changed


def check(who: Who, rule: Rule, expect: Expect, response: Any, changed: bool, where: str) -> None:
    if not who.staff:
        status, location = rule.non_staff
        assert response.status_code == status, where
        if location:
            assert response["Location"].startswith(location), where
        assert not changed, where
    elif expect.may(who):
        assert response.status_code in expect.ok, (where, response.status_code)
        if expect.changes:
            assert changed, f"{where}: allowed, but changed nothing; the walk's body is no test of the refusal"
    else:
        assert response.status_code == expect.refused, (where, response.status_code)
        assert not changed, f"{where}: refused, but the database (or the audit trail) changed"


@pytest.mark.parametrize("who", WHO, ids=lambda who: who.name)
def test_every_admin_url_as_every_role(who: Who, world: dict[str, Any]) -> None:
    client = signed_in(who)
    for key, url, rule in targets(world):
        response, changed = attempt(client, who, "get", url, EMPTY)
        check(who, rule, rule.get, response, changed, f"GET {url} ({key}) as {who.name}")
        for body, expect in rule.posts:
            response, changed = attempt(client, who, "post", url, fill(body, world))
            check(who, rule, expect, response, changed, f"POST {url} {body} ({key}) as {who.name}")


@dataclass(frozen=True)
class Act:
    may: Guard
    select: tuple[str, ...] = ()  # world names of the selected rows; () means the model's object
    changes: bool = True


DELETE = "delete_selected"
# Every action of every changelist, and who may run it.
ACTIONS: dict[str, dict[str, Act]] = {
    "traces.trace": {
        "approve": Act(CHANGE_TRACE),
        "reject": Act(CHANGE_TRACE),
        "add_tag": Act(both(CHANGE_TRACE, perm("traces.add_tag")), select=("other",)),
        "remove_tag": Act(both(CHANGE_TRACE, perm("traces.add_tag"))),
        "score_baseline": Act(perm("traces.add_score")),
        "verify": Act(perm("traces.add_score")),
        "keep_oldest_duplicate": Act(CHANGE_TRACE, select=("trace", "duplicate")),
        "compare_two": Act(VIEW_TRACE, select=("trace", "other"), changes=False),
        "build_dataset": Act(perm("datasets.add_dataset")),
        DELETE: Act(perm("traces.delete_trace")),
    },
    "training.trainingrun": {
        "cancel_runs": Act(CANCEL_RUN, select=("run",)),
        DELETE: Act(perm("training.delete_trainingrun")),
    },
    **{
        label: {DELETE: Act(perm(label.replace(".", ".delete_")))}
        for label in (
            "auth.group",
            "auth.user",
            "traces.tag",
            "traces.score",
            "traces.preference",
            "training.evalset",
            "training.evaluationrun",
            "training.evaluationresult",
        )
    },
}
ACTION_BODY = {"apply": "1", "post": "yes", "tag": "gold", "name": "walked", "version": "1"}


def test_every_admin_action_has_a_rule(world: dict[str, Any], staff_user: Any) -> None:
    """A new action fails here until its rule names who may run it."""
    request = RequestFactory().get("/admin/")
    request.user = staff_user
    found = {
        model._meta.label_lower: set(admin.site.get_model_admin(model).get_actions(request))
        for model in apps.get_models()
        if admin.site.is_registered(model)
    }
    assert {label: names for label, names in found.items() if names} == {
        label: set(acts) for label, acts in ACTIONS.items()
    }


@pytest.mark.parametrize("who", WHO, ids=lambda who: who.name)
def test_every_admin_action_as_every_role(who: Who, world: dict[str, Any]) -> None:
    client = signed_in(who)
    for label, acts in ACTIONS.items():
        url = "/admin/{}/{}/".format(*label.split("."))
        listing = client.get(url)
        for name, act in acts.items():
            where = f"{name} on {label} as {who.name}"
            if who.staff and listing.status_code == 200:
                assert (f'<option value="{name}"' in listing.content.decode()) == act.may(who), where
            selected = [world[s] for s in act.select] or [str(world["objects"][label].pk)]
            body = {**ACTION_BODY, "action": name, "_selected_action": selected}
            response, changed = attempt(client, who, "post", url, body)
            if not who.staff:
                assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), where
                assert not changed, where
            elif act.may(who):
                assert response.status_code in (200, 302), where
                assert changed == act.changes, where
            else:
                # Refused: Django runs no action it did not offer; the changelist answers without it.
                assert response.status_code in (200, 302, 403), where
                assert not changed, f"{where}: refused, but the database (or the audit trail) changed"


@pytest.mark.parametrize("code", sorted(API_CHANGES))
def test_the_api_gives_each_change_to_the_role_the_admin_does(
    code: str, world: dict[str, Any], role_client: Callable[[str], APIClient]
) -> None:
    method, url, body = API_CHANGES[code]
    needed = MIN_ROLE[code]
    below = ROLES[rank(needed) - 2]
    for role, allowed in ((below, False), (needed, True)):
        client = role_client(role)
        with transaction.atomic():
            response = getattr(client, method)(
                fill(url, world), data=json.dumps(fill(body, world)), content_type="application/json"
            )
            transaction.set_rollback(True)
        assert (response.status_code != 403) == allowed, (code, role, response.status_code, response.content)
    assert set(API_CHANGES) == {c for c, role in MIN_ROLE.items() if role != VIEWER}


def test_a_staff_viewer_reads_the_review_and_compare_pages_without_their_controls(world: dict[str, Any]) -> None:
    viewer, curator = signed_in(Who(VIEWER, True)), signed_in(Who(CURATOR, True))
    review = "/admin/" + fill(CUSTOM["traces_trace_review"].url, world)
    compare = "/admin/" + fill(CUSTOM["traces_trace_compare"].url, world)
    read_only = viewer.get(review).content.decode()
    assert 'id="review-read-only"' in read_only and 'id="review-next"' in read_only
    for control in ('id="review-approve"', 'id="review-tag-form"', 'id="review-note-form"', 'name="op"'):
        assert control not in read_only, control
        assert control in curator.get(review).content.decode(), control
    page = viewer.get(compare).content.decode()
    assert 'id="compare-diff"' in page
    assert 'name="status"' not in page and "Prefer this one" not in page
    assert 'name="status"' in curator.get(compare).content.decode()
    before = snapshot()
    assert viewer.post(review, {"trace": world["trace"], "op": "note", "notes": "x"}).status_code == 403
    assert viewer.post(compare, {"trace": world["trace"], "status": "approved"}).status_code == 403
    assert snapshot() == before and Trace.objects.get(id=world["trace"]).status == "pending"


def test_run_pages_offer_only_the_buttons_the_role_may_use(world: dict[str, Any]) -> None:
    run = TrainingRun.objects.get(run_id=world["run"])
    page = f"/admin/training/trainingrun/{run.run_id}/change/"
    controls = ("Start a training run", "/evaluate/", "/cancel/")
    for role, shown in ((VIEWER, ()), (CURATOR, ()), (TRAINER, controls)):
        client = signed_in(Who(role, True))
        html = client.get("/admin/training/trainingrun/").content.decode() + client.get(page).content.decode()
        assert "/compare/" in html
        for control in controls:
            assert (control in html) == (control in shown), (role, control)


def test_a_curator_deletes_a_scored_trace_in_the_admin_as_in_the_api(world: dict[str, Any]) -> None:
    client = signed_in(Who(CURATOR, True))
    url = f"/admin/traces/trace/{world['trace']}/delete/"
    assert "Scores" in client.get(url).content.decode()
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Trace.objects.filter(id=world["trace"]).exists() and not Score.objects.exists()
    assert AuditEntry.objects.filter(
        action="delete", object_id=world["trace"], actor_name="walk-curator-staff"
    ).exists()
