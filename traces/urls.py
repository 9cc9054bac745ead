from __future__ import annotations

from rest_framework.routers import SimpleRouter

from traces.api import TraceViewSet
from traces.generators_api import GeneratorViewSet, UngarViewSet
from traces.preferences_api import PreferenceViewSet

router = SimpleRouter(trailing_slash=False)
router.register("traces", TraceViewSet, basename="trace")
router.register("generators", GeneratorViewSet, basename="generator")
router.register("ungar", UngarViewSet, basename="ungar")
router.register("preferences", PreferenceViewSet, basename="preference")

urlpatterns = router.urls
