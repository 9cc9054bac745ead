"""Admin forms for starting jobs; choices come from selectors, work from services."""

from __future__ import annotations

from typing import Any

from django import forms

from training.models import CheckpointChoice, EvaluationRun, RunKind
from training.presets import preset_names


class StartTrainingForm(forms.Form):
    dataset_key = forms.CharField(max_length=200, help_text="Key of a built dataset, e.g. arith-1.0")
    preset = forms.ChoiceField(choices=())
    split = forms.CharField(max_length=32, required=False, help_text="Train on this split only (e.g. train)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["preset"].choices = [(name, name) for name in preset_names("sft")]  # type: ignore[attr-defined]


class StartFineTuneForm(forms.Form):
    """GRPO on a dataset's prompts, or DPO on preference pairs, from this run's final weights."""

    kind = forms.ChoiceField(choices=[(RunKind.GRPO, "GRPO"), (RunKind.DPO, "DPO")])
    preset = forms.ChoiceField(choices=())
    dataset_key = forms.CharField(max_length=200, required=False, help_text="GRPO: the dataset whose prompts to use")
    split = forms.CharField(max_length=32, required=False, help_text="GRPO: that split only (e.g. train)")
    preferences = forms.CharField(
        max_length=200,
        required=False,
        help_text="DPO: 'all' pairs, a dataset key whose pairs to use, or evaluation:<id> for the pairs "
        "between one evaluation's stored generations",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = preset_names("grpo") + preset_names("dpo")
        self.fields["preset"].choices = [(name, name) for name in names]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, preset = data.get("kind"), data.get("preset")
        if kind and preset and preset not in preset_names(kind):
            self.add_error("preset", f"Not a {kind} preset.")
        return data


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
