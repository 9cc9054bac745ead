"""The server's front page: what it is and where to go, for a person who opens ``/`` in a browser."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_safe
from django.views.generic.base import RedirectView

from tunix_rt import __version__


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    """Plain HTML with the admin, API, docs and health links and the version; no JavaScript."""
    return render(request, "landing.html", {"version": __version__})


def favicon(request: HttpRequest) -> HttpResponseBase:
    """Browsers ask for ``/favicon.ico`` whatever the page says; send them to the SVG icon."""
    return RedirectView.as_view(url=static("tunix_rt/favicon.svg"), permanent=True)(request)
