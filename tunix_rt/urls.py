from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from tunix_rt.audit_api import AuditViewSet
from tunix_rt.health import health


@extend_schema(exclude=True)
@api_view(["GET"])
def api_root(request: Request) -> Response:
    """Where to go next: the main collections and the documentation."""
    return Response(
        {
            "traces": reverse("trace-list", request=request),
            "datasets": reverse("dataset-list", request=request),
            "training_runs": reverse("training-run-list", request=request),
            "health": reverse("health", request=request),
            "schema": reverse("schema", request=request),
            "docs": reverse("docs", request=request),
        }
    )


api_patterns: list[URLPattern | URLResolver] = [
    path("", api_root, name="api-root"),
    path("health", health, name="health"),
    path("schema", SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]), name="schema"),
    path(
        "docs",
        SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[], authentication_classes=[]),
        name="docs",
    ),
    path("audit", AuditViewSet.as_view({"get": "list"}), name="audit-list"),
    path("", include("traces.urls")),
    path("", include("datasets.urls")),
    path("", include("training.urls")),
]

# The admin's "View site" link: the project has no public site, its front page is the API docs.
admin.site.site_url = "/api/docs"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
]

handler400 = "tunix_rt.error_views.bad_request"
handler403 = "tunix_rt.error_views.permission_denied"
handler404 = "tunix_rt.error_views.page_not_found"
handler500 = "tunix_rt.error_views.server_error"
