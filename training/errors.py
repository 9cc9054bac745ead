"""Training-app domain errors, mapped to HTTP by the project's exception handler."""

from __future__ import annotations

from tunix_rt.errors import FeatureUnavailable, InvalidInput


class TrainingConfigInvalid(InvalidInput):
    code = "invalid_config"


class TrainingStackUnavailable(FeatureUnavailable):
    code = "training_stack_missing"
