"""``chat``: one OpenAI/TRL conversation per line, ``{"messages": [...], "metadata": {...}}``.

The user turn is the prompt; the assistant turn is ``<reasoning>…</reasoning><answer>…</answer>``
or a ``Reasoning:``/``Answer:`` text. ``metadata`` as the ``chat`` export writes it (``traces.importers.exported``)
gives the trace's own ``trace_version`` and ``meta``, and ``metadata.steps`` each step's index, type and
length, so the reasoning is cut at exact offsets and an exported dataset imports back unchanged; a
system turn is then the export's option, not the trace's, and is left out. Without it (a conversation
from elsewhere), numbered lines start the steps and system turns go to ``meta.system_prompt``.
"""

from __future__ import annotations

import re
from typing import Any

from traces.importers.base import Parsed, validate_payload
from traces.importers.exported import Exported, read_metadata, steps_from_contents, trace_version_of
from traces.importers.jsonl import load_json

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


def exact_parts(content: str, info: list[dict[str, Any]]) -> tuple[list[str], str] | None:
    """``(step contents, answer)`` cut from a ``chat`` export's assistant turn at the lengths ``info`` gives
    (``<reasoning>1. …\n2. …</reasoning>\n<answer>…</answer>``), or None when the text is not that shape."""
    head, middle, tail = "<reasoning>", "</reasoning>\n<answer>", "</answer>"
    if not content.startswith(head) or not content.endswith(tail):
        return None
    at, contents = len(head), []
    for n, step in enumerate(info, start=1):
        prefix = ("\n" if n > 1 else "") + f"{n}. "
        if not content.startswith(prefix, at):
            return None
        at += len(prefix)
        contents.append(content[at : at + step["chars"]])
        at += step["chars"]
    if not content.startswith(middle, at) or at + len(middle) > len(content) - len(tail):
        return None
    return contents, content[at + len(middle) : len(content) - len(tail)]


def _has_lengths(exported: Exported) -> bool:
    steps = exported.steps
    return steps is not None and all(
        isinstance(s.get("chars"), int) and not isinstance(s.get("chars"), bool) and s["chars"] >= 0 for s in steps
    )


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
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return None, "metadata: expected an object"
    exported, error = read_metadata(metadata)
    if exported is None:
        return None, error
    assistant = turns["assistant"][0]
    if exported.exact and _has_lengths(exported):
        exact = exact_parts(assistant, exported.steps or [])
        if exact is None:
            return None, (
                "the assistant turn does not hold the steps metadata.steps describes "
                "(edited, or control tokens removed by the export)"
            )
        contents, answer = exact
    else:
        parts = split_assistant(assistant)
        if parts is None:
            return None, (
                "the assistant turn has neither <reasoning>…</reasoning><answer>…</answer> nor Reasoning:/Answer:"
            )
        contents, answer = numbered_steps(parts[0]), parts[1]
    steps, error = steps_from_contents(contents, exported.steps)
    if steps is None:
        return None, error
    meta = exported.meta
    if turns["system"] and not exported.exact:
        meta = {**(meta or {}), "system_prompt": "\n\n".join(turns["system"])}
    body = {
        "trace_version": trace_version_of(exported),
        "prompt": turns["user"][0],
        "final_answer": answer,
        "steps": steps,
        "meta": meta,
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
