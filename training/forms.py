"""Admin forms for starting jobs; choices come from selectors, work from services."""

from __future__ import annotations

from typing import Any

from django import forms

from datasets.selectors import dataset_list
from training.models import CheckpointChoice, EvaluationRun, RunKind
from training.presets import preset_names

DATASET_CHOICES_MAX = 200


def dataset_splits(*, limit: int = DATASET_CHOICES_MAX) -> list[tuple[str, list[str]]]:
    """The newest ``limit`` datasets' keys, each with its split names in build order; one query."""
    rows = dataset_list().values_list("key", "splits")[:limit]
    return [(key, [entry["name"] for entry in splits or []]) for key, splits in rows]


class StartTrainingForm(forms.Form):
    """The dataset and split are picked from the stored ones; a split the dataset lacks is the service's error."""

    dataset_key = forms.ChoiceField(choices=(), label="Dataset", help_text="Newest first")
    split = forms.ChoiceField(choices=(), required=False, help_text="Train on this split only, or on the whole dataset")
    preset = forms.ChoiceField(choices=())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.datasets = dataset_splits()
        names = sorted({name for _, splits in self.datasets for name in splits})
        self.fields["dataset_key"].choices = [(key, key) for key, _ in self.datasets]  # type: ignore[attr-defined]
        self.fields["split"].choices = [("", "whole dataset"), *((n, n) for n in names)]  # type: ignore[attr-defined]
        self.fields["preset"].choices = [(name, name) for name in preset_names("sft")]  # type: ignore[attr-defined]


class StartFineTuneForm(forms.Form):
    """GRPO on a dataset's prompts, or DPO on preference pairs, from this run's final weights."""

    kind = forms.ChoiceField(choices=[(RunKind.GRPO, "GRPO"), (RunKind.DPO, "DPO")])
    preset = forms.ChoiceField(choices=())
    dataset_key = forms.ChoiceField(
        choices=(), required=False, label="Dataset", help_text="GRPO: the dataset whose prompts to use (newest first)"
    )
    split = forms.ChoiceField(choices=(), required=False, help_text="GRPO: that split only, or the whole dataset")
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
        self.datasets = dataset_splits()
        splits = sorted({name for _, found in self.datasets for name in found})
        self.fields["dataset_key"].choices = [("", "none (DPO)"), *((k, k) for k, _ in self.datasets)]  # type: ignore[attr-defined]
        self.fields["split"].choices = [("", "whole dataset"), *((n, n) for n in splits)]  # type: ignore[attr-defined]

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
