from __future__ import annotations

from rest_framework.routers import SimpleRouter

from training.api import EvalSetViewSet, EvaluationRunViewSet, TrainingRunViewSet

router = SimpleRouter(trailing_slash=False)
router.register("training/runs", TrainingRunViewSet, basename="training-run")
router.register("eval/sets", EvalSetViewSet, basename="eval-set")
router.register("eval/runs", EvaluationRunViewSet, basename="eval-run")

urlpatterns = router.urls
