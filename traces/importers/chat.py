"""``chat``: one OpenAI/TRL conversation per line, ``{"messages": [...], "metadata": {...}}``.

The user turn is the prompt; the assistant turn is ``<reasoning>…</reasoning><answer>…</answer>``
or a ``Reasoning:``/``Answer:`` text, whose numbered lines become the steps; system turns go to
``meta.system_prompt``. ``metadata.steps`` (written by the ``chat`` export) restores each step's
index and type, so an exported dataset imports back with the same content hashes.
"""

from __future__ import annotations

import re
from typing import Any

from traces.importers.base import Parsed, validate_payload
from traces.importers.jsonl import load_json

DEFAULT_TRACE_VERSION = "1.0"
DEFAULT_STEP_TYPE = "reasoning"
EXPORT_ONLY_KEYS = ("created_at", "trace_version", "format", "steps")
ROLES = ("system", "user", "assistant")
TAGGED = re.compile(r"\s*<reasoning>(.*?)</reasoning>\s*<answer>(.*)</answer>\s*", re.DOTALL)
NUMBERED = re.compile(r"(\d+)\. ")
PLAIN_HEAD = "Reasoning:"
PLAIN_ANSWER = "\nAnswer:"


def split_assistant(content: str) -> tuple[str, str] | None:
    """``(reasoning text, answer)`` from either assistant shape, or ``None``."""
    tagged = TAGGED.fullmatch(content)
    if tagged is not None:
        return tagged.group(1), tagged.group(2)
    text = content.strip()
    cut = text.rfind(PLAIN_ANSWER)
    if not text.startswith(PLAIN_HEAD) or cut < 0:
        return None
    return text[len(PLAIN_HEAD) : cut].strip("\n"), text[cut + len(PLAIN_ANSWER) :].strip()


def numbered_steps(reasoning: str) -> list[str]:
    """Lines ``1. …``, ``2. …`` start steps (numbers in sequence); other lines continue the current step.

    Text before the first numbered line is a step of its own; text without numbered lines is one step.
    """
    steps: list[str] = []
    preamble: list[str] = []
    for line in reasoning.split("\n"):
        numbered = NUMBERED.match(line)
        if numbered is not None and int(numbered.group(1)) == len(steps) + 1:
            steps.append(line[numbered.end() :])
        elif steps:
            steps[-1] += "\n" + line
        else:
            preamble.append(line)
    head = "\n".join(preamble).strip()
    return ([head] if head else []) + steps


def step_list(contents: list[str], info: Any) -> list[dict[str, Any]]:
    """Steps with the exported indices and types when ``info`` describes exactly these steps, else 0.. and a default."""
    usable = (
        isinstance(info, list)
        and len(info) == len(contents)
        and all(isinstance(s, dict) and isinstance(s.get("i"), int) and isinstance(s.get("type"), str) for s in info)
    )
    if usable:
        return [{"i": s["i"], "type": s["type"], "content": c} for s, c in zip(info, contents, strict=True)]
    return [{"i": n, "type": DEFAULT_STEP_TYPE, "content": c} for n, c in enumerate(contents)]


def from_metadata(metadata: dict[str, Any]) -> tuple[str, dict[str, Any], Any]:
    """``(trace_version, meta, step info)``: the export's own keys are taken out of ``metadata``."""
    version = metadata.get("trace_version")
    meta = {key: value for key, value in metadata.items() if key not in EXPORT_ONLY_KEYS}
    return version if isinstance(version, str) and version else DEFAULT_TRACE_VERSION, meta, metadata.get("steps")


def conversation_body(data: Any) -> tuple[dict[str, Any] | None, str | None]:
    """A conversation as a trace body for validation, or the reason it is not one."""
    if not isinstance(data, dict):
        return None, "expected a JSON object with messages"
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        return None, 'expected "messages": a non-empty list of {"role", "content"}'
    turns: dict[str, list[str]] = {role: [] for role in ROLES}
    for n, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            return None, f"messages[{n}]: expected an object with a string content"
        if message.get("role") not in ROLES:
            return None, f"messages[{n}]: role must be one of {', '.join(ROLES)}"
        turns[message["role"]].append(message["content"])
    if len(turns["user"]) != 1 or len(turns["assistant"]) != 1:
        return None, "expected exactly one user turn and one assistant turn"
    parts = split_assistant(turns["assistant"][0])
    if parts is None:
        return None, "the assistant turn has neither <reasoning>…</reasoning><answer>…</answer> nor Reasoning:/Answer:"
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return None, "metadata: expected an object"
    version, meta, info = from_metadata(metadata or {})
    if turns["system"]:
        meta["system_prompt"] = "\n\n".join(turns["system"])
    reasoning, answer = parts
    body = {
        "trace_version": version,
        "prompt": turns["user"][0],
        "final_answer": answer,
        "steps": step_list(numbered_steps(reasoning), info),
        "meta": meta or None,
    }
    return body, None


def parse_conversation(data: Any) -> Parsed:
    body, error = conversation_body(data)
    if body is None:
        return None, error
    return validate_payload(body)


def parse_line(text: str) -> Parsed:
    data, error = load_json(text)
    if error is not None:
        return None, error
    return parse_conversation(data)
