"""The admin's own pages for traces: the review queue and the compare page.

Both are views of ``TraceAdmin`` (registered in its ``get_urls``); every change goes
through ``traces.services`` with the logged-in user as the actor. Reading needs the view
permission; a POST needs the permission of the change it makes (``change_trace``,
``add_preference``) and is refused with 403 before anything is written, and the pages
leave out the controls a user may not use.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.middleware.csrf import get_token
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from traces import near_duplicates, preferences, selectors, services
from traces.models import Trace, TraceStatus
from traces.review import review_first, review_left, review_next, review_verdicts, reviewed_today
from traces.serializers import TAG_PATTERN
from tunix_rt.admin import admin_require
from tunix_rt.errors import DomainError

QUEUE_PARAMS = ("trace", "pos", "move", "p")
HISTORY_MAX = 500


def _changelist_url() -> str:
    return reverse("admin:traces_trace_changelist")


def compare(model_admin: Any, request: HttpRequest) -> HttpResponse:
    """GET shows two traces and their step-level diff; POST approves or rejects one side, or prefers
    one side over the other (a ``Preference``), and comes back."""
    admin_require(request, model_admin.has_view_or_change_permission(request), "traces.view_trace")
    if request.method == "POST" and request.POST.get("op") == "prefer":
        return _prefer(model_admin, request)
    if request.method == "POST":
        admin_require(request, model_admin.has_change_permission(request), "traces.change_trace")
        try:
            trace = selectors.trace_get(trace_id=request.POST.get("trace", ""))
            status = TraceStatus(request.POST.get("status", ""))
        except (DomainError, ValueError):
            model_admin.message_user(request, "Choose a trace and approve or reject it.", messages.ERROR)
        else:
            services.trace_update_curation(trace=trace, status=status, actor=request.user)
            model_admin.message_user(request, f"Trace {trace.pk} is now {status.label.lower()}.", messages.SUCCESS)
        return HttpResponseRedirect(request.get_full_path())
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "title": "Compare traces",
        "opts": Trace._meta,
    }
    try:
        sides = selectors.trace_compare(
            base_id=selectors.parse_trace_id(request.GET.get("base", "")),
            other_id=selectors.parse_trace_id(request.GET.get("other", "")),
        )
    except DomainError as exc:
        model_admin.message_user(request, exc.message, messages.ERROR)
        return HttpResponseRedirect(_changelist_url())
    sides["base"]["opponent_id"], sides["other"]["opponent_id"] = sides["other"]["id"], sides["base"]["id"]
    context["sides"] = {"base": sides["base"], "other": sides["other"]}
    context["can_change"] = model_admin.has_change_permission(request)
    context["can_prefer"] = request.user.has_perm("traces.add_preference")
    context["diff"] = sides["diff"]
    return TemplateResponse(request, "admin/traces/trace/compare.html", context)


def _prefer(model_admin: Any, request: HttpRequest) -> HttpResponse:
    admin_require(request, request.user.has_perm("traces.add_preference"), "traces.add_preference")
    try:
        preference = preferences.preference_create(
            chosen_id=request.POST.get("chosen", ""),
            rejected_id=request.POST.get("rejected", ""),
            reason=request.POST.get("reason", "").strip()[: preferences.REASON_MAX],
            actor=request.user,
        )
    except DomainError as exc:
        model_admin.message_user(request, exc.message, messages.ERROR)
    else:
        model_admin.message_user(
            request, f"Preferred trace {preference.chosen_id} over {preference.rejected_id}.", messages.SUCCESS
        )
    return HttpResponseRedirect(request.get_full_path())


def _queue_filters(request: HttpRequest) -> QueryDict:
    params = request.GET.copy()
    for name in QUEUE_PARAMS:
        params.pop(name, None)
    return params


def _queue(model_admin: Any, request: HttpRequest, filters: QueryDict) -> tuple[QuerySet[Trace], int]:
    """The changelist's filtered traces (its filters, search and date drill-down) and how many there are."""
    changelist_request = copy.copy(request)
    changelist_request.GET = filters  # type: ignore[assignment]
    changelist = model_admin.get_changelist_instance(changelist_request)
    return changelist.get_queryset(changelist_request), changelist.result_count


def _url(filters: QueryDict, **state: Any) -> str:
    params = filters.copy()
    for key, value in state.items():
        params[key] = str(value)
    return f"{reverse('admin:traces_trace_review')}?{params.urlencode()}"


def review(model_admin: Any, request: HttpRequest) -> HttpResponse:
    """One trace at a time from the changelist's filters; actions save, then move on by keyset."""
    admin_require(request, model_admin.has_view_or_change_permission(request), "traces.view_trace")
    if request.method == "POST":
        admin_require(request, model_admin.has_change_permission(request), "traces.change_trace")
    filters = _queue_filters(request)
    try:
        queue, total = _queue(model_admin, request, filters)
    except IncorrectLookupParameters:
        model_admin.message_user(request, "Those filters are not valid.", messages.ERROR)
        return HttpResponseRedirect(_changelist_url())
    history_key = "traces-review:" + filters.urlencode()
    history: list[str] = request.session.get(history_key, [])
    trace_id = request.GET.get("trace") or request.POST.get("trace")
    try:
        pos = max(1, int(request.GET.get("pos", "1")))
    except ValueError:
        pos = 1
    if not trace_id:
        first = review_first(queue=queue)
        if first is None:
            model_admin.message_user(request, "No trace matches these filters.", messages.INFO)
            return HttpResponseRedirect(f"{_changelist_url()}?{filters.urlencode()}")
        request.session[history_key] = [str(first)]
        return HttpResponseRedirect(_url(filters, trace=first, pos=1))
    try:
        trace = selectors.trace_get(trace_id=trace_id)
    except DomainError as exc:
        model_admin.message_user(request, exc.message, messages.ERROR)
        return HttpResponseRedirect(_url(filters))
    if request.method == "POST":
        return _act(model_admin, request, queue=queue, trace=trace, filters=filters, history=history, pos=pos)
    move = request.GET.get("move")
    key = str(trace.pk)
    if move == "prev":
        index = history.index(str(trace.pk)) if str(trace.pk) in history else 0
        if index > 0:
            return HttpResponseRedirect(_url(filters, trace=history[index - 1], pos=max(1, pos - 1)))
        model_admin.message_user(request, "This is the first trace of the queue.", messages.INFO)
        return HttpResponseRedirect(_url(filters, trace=trace.pk, pos=pos))
    if move == "next":
        return _move_on(
            model_admin, request, queue, trace, filters, history, pos, was_pending=trace.status == "pending"
        )
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Review traces",
        "opts": Trace._meta,
        "trace": trace,
        "position": pos,
        "total": total,
        "left": review_left(queue=queue),
        "reviewed_today": reviewed_today(user=request.user),
        "has_prev": key in history and history.index(key) > 0,
        "has_next": _has_next(queue, trace, history),
        "verdicts": review_verdicts(trace=trace),
        "duplicate_count": selectors.trace_duplicate_count(trace=trace),
        "near_duplicate_count": len(
            near_duplicates.trace_similar(trace=trace, threshold=0.8, limit=near_duplicates.CANDIDATES_MAX)
        ),
        "tags": [tag.name for tag in trace.tags.all()],
        "can_change": model_admin.has_change_permission(request, trace),
        "can_tag": model_admin.has_change_permission(request, trace) and request.user.has_perm("traces.add_tag"),
        "prev_url": _url(filters, trace=trace.pk, pos=pos, move="prev"),
        "next_url": _url(filters, trace=trace.pk, pos=pos, move="next"),
        "changelist_url": f"{_changelist_url()}?{filters.urlencode()}",
        "changelist_query": filters.urlencode(),
    }
    return TemplateResponse(request, "admin/traces/trace/review.html", context)


def _has_next(queue: QuerySet[Trace], trace: Trace, history: list[str]) -> bool:
    """Whether Next leads to another trace: a later one in the history, else one more keyset query."""
    key = str(trace.pk)
    if key in history and history.index(key) + 1 < len(history):
        return True
    seen = [uuid.UUID(pk) for pk in history]
    return (
        review_next(queue=queue, current=trace, was_pending=trace.status == TraceStatus.PENDING, seen=seen) is not None
    )


def _undo_message(request: HttpRequest, *, trace: Trace, old: str, new: TraceStatus, back: str) -> str:
    """The confirmation of a verdict with a button that posts the previous status back to the same trace."""
    return format_html(
        'Trace {} is now {}. <form method="post" action="{}" id="review-undo-form" style="display:inline">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<input type="hidden" name="trace" value="{}"><input type="hidden" name="status" value="{}">'
        '<button type="submit" name="op" value="undo" id="review-undo">Undo</button></form>',
        trace.pk,
        new.label.lower(),
        back,
        get_token(request),
        trace.pk,
        old,
    )


def _move_on(
    model_admin: Any,
    request: HttpRequest,
    queue: QuerySet[Trace],
    trace: Trace,
    filters: QueryDict,
    history: list[str],
    pos: int,
    *,
    was_pending: bool,
) -> HttpResponse:
    key = str(trace.pk)
    index = history.index(key) if key in history else None
    if index is not None and index + 1 < len(history):
        return HttpResponseRedirect(_url(filters, trace=history[index + 1], pos=pos + 1))
    seen = [uuid.UUID(pk) for pk in history]
    found = review_next(queue=queue, current=trace, was_pending=was_pending, seen=seen)
    if found is None:
        model_admin.message_user(request, "End of the queue: every trace matching the filters was reviewed.")
        return HttpResponseRedirect(f"{_changelist_url()}?{filters.urlencode()}")
    if index is None:
        history = [key]
    history = [*history, str(found)][-HISTORY_MAX:]
    request.session["traces-review:" + filters.urlencode()] = history
    return HttpResponseRedirect(_url(filters, trace=found, pos=pos + 1))


def _act(
    model_admin: Any,
    request: HttpRequest,
    *,
    queue: QuerySet[Trace],
    trace: Trace,
    filters: QueryDict,
    history: list[str],
    pos: int,
) -> HttpResponse:
    """approve / reject / skip save (or not) and move on; undo, tag and note save and stay."""
    op = request.POST.get("op", "")
    was_pending = trace.status == TraceStatus.PENDING
    here = _url(filters, trace=trace.pk, pos=pos)
    if op in ("approve", "reject"):
        status = TraceStatus.APPROVED if op == "approve" else TraceStatus.REJECTED
        old = trace.status
        services.trace_update_curation(trace=trace, status=status, actor=request.user)
        message = _undo_message(request, trace=trace, old=old, new=status, back=here)
        model_admin.message_user(request, message, messages.SUCCESS)
    elif op == "undo":
        try:
            previous = TraceStatus(request.POST.get("status", ""))
        except ValueError:
            model_admin.message_user(request, "Nothing to undo.", messages.ERROR)
            return HttpResponseRedirect(here)
        services.trace_update_curation(trace=trace, status=previous, actor=request.user)
        model_admin.message_user(request, f"Undone: trace {trace.pk} is {previous.label.lower()} again.")
        return HttpResponseRedirect(here)
    elif op == "tag":
        admin_require(request, request.user.has_perm("traces.add_tag"), "traces.add_tag")
        tag = request.POST.get("tag", "").strip()
        if not TAG_PATTERN.match(tag):
            model_admin.message_user(request, "Tags use letters, digits, '_', '.', ':' and '-'.", messages.ERROR)
        else:
            names = sorted({t.name for t in trace.tags.all()} | {tag})
            services.trace_update_curation(trace=trace, tags=names, actor=request.user)
            model_admin.message_user(request, f"Tagged {tag!r}.", messages.SUCCESS)
        return HttpResponseRedirect(here)
    elif op == "note":
        notes = request.POST.get("notes", "")[:10_000]
        services.trace_update_curation(trace=trace, notes=notes, actor=request.user)
        model_admin.message_user(request, "Note saved.", messages.SUCCESS)
        return HttpResponseRedirect(_url(filters, trace=trace.pk, pos=pos))
    elif op != "skip":
        model_admin.message_user(request, "Unknown review action.", messages.ERROR)
        return HttpResponseRedirect(_url(filters, trace=trace.pk, pos=pos))
    return _move_on(model_admin, request, queue, trace, filters, history, pos, was_pending=was_pending)
