"""``dpo``: a preference pair as prompt, chosen and rejected completions, in ``prompt_completion``'s Gemma template.

Unlike the other formats it renders a ``traces.models.Preference`` (two traces), not one trace:
``datasets.services.preferences`` streams it. ``prompt`` and both completions are exactly the
``prompt`` and ``completion`` that ``prompt_completion`` gives each side's trace.
"""

from __future__ import annotations

from typing import Any, Protocol

from datasets.formats.base import ExportOptions, ExportTrace, clean, iso_utc, reasoning_completion
from traces.gemma import gemma_model_turn_end, gemma_prompt

NAME = "dpo"


class ExportPreference(Protocol):
    """The preference fields the format reads; a ``traces.models.Preference`` with both traces loaded satisfies it."""

    id: Any
    created_at: Any
    reason: str

    @property
    def chosen(self) -> ExportTrace: ...

    @property
    def rejected(self) -> ExportTrace: ...


def render(preference: ExportPreference, options: ExportOptions) -> dict[str, Any]:
    system = clean(options.system_prompt) + "\n\n" if options.system_prompt else ""
    return {
        "id": str(preference.id),
        "prompt": gemma_prompt(system + clean(preference.chosen.prompt)),
        "chosen": gemma_model_turn_end(reasoning_completion(preference.chosen)),
        "rejected": gemma_model_turn_end(reasoning_completion(preference.rejected)),
        "metadata": {
            "created_at": iso_utc(preference.created_at),
            "chosen_trace_id": str(preference.chosen.id),
            "rejected_trace_id": str(preference.rejected.id),
            "reason": preference.reason,
            "format": NAME,
        },
    }
