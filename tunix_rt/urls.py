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
from tunix_rt.landing import favicon, landing


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
    path("audit/groups", AuditViewSet.as_view({"get": "groups"}), name="audit-groups"),
    path("", include("traces.urls")),
    path("", include("datasets.urls")),
    path("", include("training.urls")),
]

# The admin's "View site" link leads to the landing page; the header names the product, not Django.
admin.site.site_url = "/"
admin.site.site_header = "tunix-rt"
admin.site.site_title = "tunix-rt admin"
admin.site.index_title = "Traces, datasets and runs"

urlpatterns = [
    path("", landing, name="landing"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
]

handler400 = "tunix_rt.error_views.bad_request"
handler403 = "tunix_rt.error_views.permission_denied"
handler404 = "tunix_rt.error_views.page_not_found"
handler500 = "tunix_rt.error_views.server_error"
