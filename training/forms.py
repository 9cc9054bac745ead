"""Admin forms for starting jobs; choices come from selectors, work from services."""

from __future__ import annotations

from typing import Any

from django import forms

from training.models import CheckpointChoice, EvaluationRun
from training.presets import preset_names


class StartTrainingForm(forms.Form):
    dataset_key = forms.CharField(max_length=200, help_text="Key of a built dataset, e.g. arith-1.0")
    preset = forms.ChoiceField(choices=())
    split = forms.CharField(max_length=32, required=False, help_text="Train on this split only (e.g. train)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["preset"].choices = [(name, name) for name in preset_names()]  # type: ignore[attr-defined]


class StartEvaluationForm(forms.Form):
    eval_set = forms.CharField(max_length=128, help_text="Name of an imported eval set")
    checkpoint = forms.ChoiceField(choices=CheckpointChoice.choices, initial=CheckpointChoice.FINAL)


class CompareEvaluationsForm(forms.Form):
    before = forms.ModelChoiceField(queryset=EvaluationRun.objects.none())
    after = forms.ModelChoiceField(queryset=EvaluationRun.objects.none())

    def __init__(self, *args: Any, evaluations: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("before", "after"):
            self.fields[name].queryset = evaluations  # type: ignore[attr-defined]
