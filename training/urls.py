from __future__ import annotations

from rest_framework.routers import SimpleRouter

from training.api import TrainingRunViewSet

router = SimpleRouter(trailing_slash=False)
router.register("training/runs", TrainingRunViewSet, basename="training-run")

urlpatterns = router.urls
