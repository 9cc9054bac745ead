"""The admin home's curation panel: traces by status and by source, and the review queue's size."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode

from traces import selectors
from traces.models import TraceStatus
from tunix_rt.dashboard import Panel, panel_register


def curation_numbers(request: HttpRequest) -> dict[str, Any]:
    """Each number with the changelist filtered to it; two queries."""
    changelist = reverse("admin:traces_trace_changelist")
    by_status = selectors.trace_counts_by_status()
    return {
        "total": sum(by_status.values()),
        "changelist": changelist,
        "pending": by_status[TraceStatus.PENDING],
        "review_url": reverse("admin:traces_trace_review"),
        "statuses": [
            {
                "label": TraceStatus(status).label,
                "count": count,
                "url": f"{changelist}?{urlencode({'status__exact': status})}",
            }
            for status, count in by_status.items()
        ],
        "sources": [
            {"label": source or "(none)", "count": count, "url": f"{changelist}?{urlencode({'source': source})}"}
            for source, count in selectors.trace_counts_by_source()
        ],
    }


panel_register(
    Panel(
        key="curation",
        title="Curate",
        template="admin/dashboard/curation.html",
        permission="traces.view_trace",
        build=curation_numbers,
        order=10,
    )
)
