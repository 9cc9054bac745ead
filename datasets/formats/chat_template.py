"""Export records rendered by a model's own chat template (``export_dataset --template-from MODEL_DIR``).

``prompt_completion`` records keep their keys with the prompt and completion in the model's
turns; ``chat`` records gain ``text``, the whole conversation as the template writes it. Needs
``transformers`` (part of the optional training stack); the template is read from the model
directory's own tokenizer files, never downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from traces.gemma import END_OF_TURN, MODEL_TURN, USER_TURN
from tunix_rt.errors import InvalidInput

TEMPLATED_FORMATS = ("prompt_completion", "chat")


class ChatTemplate:
    """A model directory's chat template, applied to export records."""

    def __init__(self, model_dir: Path) -> None:
        try:
            from transformers import AutoTokenizer
        except ImportError:
            raise InvalidInput(
                "--template-from needs transformers from the training stack (make install-training)",
                field="template_from",
            ) from None
        if not (Path(model_dir) / "tokenizer_config.json").is_file():
            raise InvalidInput(f"{Path(model_dir) / 'tokenizer_config.json'} not found", field="template_from")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"cannot load the tokenizer in {model_dir}: {exc}", field="template_from") from None
        if not self.tokenizer.chat_template:
            raise InvalidInput(f"the tokenizer in {model_dir} has no chat template", field="template_from")
        self.name = Path(model_dir).name

    def render(self, messages: list[dict[str, str]], *, generation_prompt: bool) -> str:
        return str(
            self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)
        )

    def apply(self, record: dict[str, Any], fmt: str) -> dict[str, Any]:
        """``record`` of format ``fmt`` with its text rendered by the template."""
        if fmt == "chat":
            return {**record, "text": self.render(record["messages"], generation_prompt=False)}
        prompt, completion = str(record["prompt"]), str(record["completion"])
        user = prompt[len(USER_TURN) : -len(MODEL_TURN)] if prompt.startswith(USER_TURN) else prompt
        reply = completion[: -len(END_OF_TURN)] if completion.endswith(END_OF_TURN) else completion
        turns = [{"role": "user", "content": user}]
        rendered_prompt = self.render(turns, generation_prompt=True)
        full = self.render([*turns, {"role": "assistant", "content": reply}], generation_prompt=False)
        if not full.startswith(rendered_prompt):
            raise InvalidInput("the chat template does not render a reply after its generation prompt")
        metadata = {**record.get("metadata", {}), "chat_template": self.name}
        return {**record, "prompt": rendered_prompt, "completion": full[len(rendered_prompt) :], "metadata": metadata}

    def apply_line(self, line: str, fmt: str) -> str:
        record = self.apply(json.loads(line), fmt)
        return json.dumps(record, ensure_ascii=False, separators=(", ", ": ")) + "\n"
