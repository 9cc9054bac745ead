"""Answer extraction, normalisation and the reasoning-format check, shared by verifiers and evaluation; pure Python."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# Tunix's reasoning reward pattern (GRPO "match_format_exactly"): SFT targets this shape.
REASONING_FORMAT = re.compile(r"^\s*<reasoning>.+?</reasoning>.*?<answer>(.+?)</answer>\s*$", re.DOTALL)
_ANSWER_TAG = re.compile(r"<answer>(.+?)</answer>", re.DOTALL)
_ANSWER_LINE = re.compile(r"^\s*Answer:\s*(.+?)\s*$", re.MULTILINE)
_DIGIT_COMMA = re.compile(r"(?<=\d),(?=\d{3}\b)")
_SPACES = re.compile(r"\s+")


def extract_answer(text: str) -> str | None:
    """Return the first `<answer>` body, else the first `Answer:` line, stripped."""
    match = _ANSWER_TAG.search(text)
    if match is None:
        match = _ANSWER_LINE.search(text)
    if match is None:
        return None
    answer = match.group(1).strip()
    return answer or None


def normalise(answer: str) -> str:
    """Canonical form for exact match: case, spacing, trailing period, number spelling."""
    text = _SPACES.sub(" ", answer.strip()).casefold().rstrip(".").strip()
    text = _DIGIT_COMMA.sub("", text)
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():
        return text
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def format_ok(text: str) -> bool:
    """True when `text` matches Tunix's reasoning reward format exactly."""
    return REASONING_FORMAT.match(text) is not None


def answers_match(generated: str, expected: str) -> bool:
    """Exact match after normalisation; a missing answer never matches."""
    extracted = extract_answer(generated)
    return extracted is not None and normalise(extracted) == normalise(expected)
