"""Seeded addition and subtraction problems whose steps work the answer by columns.

Each problem is evaluated independently with Python ints, and the answer rebuilt from
the column steps must match it before the payload is emitted. Results are never
negative: a subtraction only appears when its left side is at least its right side.
"""

from __future__ import annotations

import functools
import itertools
import operator
import random
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .base import TRACE_VERSION, Payload, check_seed, number_steps, resolve_level

NAME = "arithmetic"
DEFAULT_LEVEL = "medium"
LEVELS: dict[str, str] = {
    "easy": "one-digit a + b or a - b (operands 0-9); a - b only when a >= b",
    "medium": (
        "two-digit a + b or a - b (operands 10-99), carries and borrows worked "
        "column by column; a - b only when a >= b, so results are non-negative"
    ),
    "hard": (
        "two chained operations a op b op c on two-digit operands (10-99), "
        "left to right, one column-by-column step group per operation; "
        "every intermediate result is non-negative"
    ),
}

StepList = list[tuple[str, str]]

_OPERATORS: dict[str, Callable[[int, int], int]] = {
    "+": operator.add,
    "-": operator.sub,
}
_OPERAND_RANGE = {"easy": (0, 9), "medium": (10, 99), "hard": (10, 99)}
_OPERATION_COUNT = {"easy": 1, "medium": 1, "hard": 2}
_PROMPT_RE = re.compile(r"What is (\d+) ([+-]) (\d+)(?: ([+-]) (\d+))?\?")


class ArithmeticCheckFailed(RuntimeError):
    """Raised when steps and evaluation disagree: a generator bug, never bad input."""


@dataclass(frozen=True)
class Problem:
    """Operands and the operators between them, applied left to right."""

    operands: tuple[int, ...]
    operators: tuple[str, ...]

    @property
    def prompt(self) -> str:
        parts = [str(self.operands[0])]
        for op, operand in zip(self.operators, self.operands[1:], strict=True):
            parts += [op, str(operand)]
        return f"What is {' '.join(parts)}?"


def evaluate(problem: Problem) -> int:
    """Evaluate left to right with the operator module, apart from the step code."""
    value = problem.operands[0]
    for op, operand in zip(problem.operators, problem.operands[1:], strict=True):
        value = _OPERATORS[op](value, operand)
    return value


def parse_prompt(prompt: str) -> Problem | None:
    """Read one of this generator's prompts back into a problem, else ``None``."""
    return _problem(_PROMPT_RE.fullmatch(prompt))


def find_problem(text: str) -> Problem | None:
    """The first of this generator's questions inside ``text`` (e.g. a chat-templated prompt)."""
    return _problem(_PROMPT_RE.search(text))


def _problem(match: re.Match[str] | None) -> Problem | None:
    if match is None:
        return None
    a, op1, b, op2, c = match.groups()
    if op2 is None:
        return Problem(operands=(int(a), int(b)), operators=(op1,))
    return Problem(operands=(int(a), int(b), int(c)), operators=(op1, op2))


def fits_level(problem: Problem, level: str) -> bool:
    """Whether the level could produce the problem: ranges, operation count, signs."""
    low, high = _OPERAND_RANGE[level]
    if len(problem.operators) != _OPERATION_COUNT[level]:
        return False
    if not all(low <= operand <= high for operand in problem.operands):
        return False
    value = problem.operands[0]
    for op, operand in zip(problem.operators, problem.operands[1:], strict=True):
        value = _OPERATORS[op](value, operand)
        if value < 0:
            return False
    return True


@functools.cache
def prompt_space_size(level: str) -> int:
    """Count a level's distinct prompts by combinatorics, without enumerating them."""
    low, high = _OPERAND_RANGE[level]
    width = high - low + 1
    if _OPERATION_COUNT[level] == 1:
        return width * width + width * (width + 1) // 2
    operands = range(low, high + 1)
    total = 0
    for op, a, b in itertools.product(_OPERATORS, operands, operands):
        first = _OPERATORS[op](a, b)
        if first >= 0:
            total += width + max(0, min(high, first) - low + 1)
    return total


def _draw(rng: random.Random, level: str) -> Problem:
    """Draw uniformly over the level's prompts by rejecting problems outside it."""
    low, high = _OPERAND_RANGE[level]
    count = _OPERATION_COUNT[level]
    while True:
        operators = tuple(rng.choice("+-") for _ in range(count))
        operands = tuple(rng.randint(low, high) for _ in range(count + 1))
        problem = Problem(operands=operands, operators=operators)
        if fits_level(problem, level):
            return problem


def _count(number: int, unit: str) -> str:
    """``1 ten``, ``0 tens``, ``15 tens``: the unit is singular for exactly one."""
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


def _column_steps(a: int, op: str, b: int) -> tuple[StepList, int]:
    """Work ``a op b`` as ones, then tens (all above the ones digit), then combine."""
    a_tens, a_ones = divmod(a, 10)
    b_tens, b_ones = divmod(b, 10)
    if op == "+":
        carry, ones = divmod(a_ones + b_ones, 10)
        tens = a_tens + b_tens + carry
        if carry:
            column = f"{a_ones} + {b_ones} = {a_ones + b_ones}, write {ones}, carry 1"
            tens_text = f"Tens: {a_tens} + {b_tens} + 1 = {tens}."
        else:
            column = f"{a_ones} + {b_ones} = {ones}, no carry"
            tens_text = f"Tens: {a_tens} + {b_tens} = {tens}."
    else:
        borrow = 1 if a_ones < b_ones else 0
        ones = a_ones + 10 * borrow - b_ones
        tens = a_tens - b_tens - borrow
        if borrow:
            column = f"{a_ones} < {b_ones}, borrow 1: {a_ones + 10} - {b_ones} = {ones}"
            tens_text = f"Tens: {a_tens} - {b_tens} - 1 = {tens}."
        else:
            column = f"{a_ones} - {b_ones} = {ones}, no borrow"
            tens_text = f"Tens: {a_tens} - {b_tens} = {tens}."
    result = tens * 10 + ones
    combine_text = f"Combine: {_count(tens, 'ten')} and {_count(ones, 'one')}, so {a} {op} {b} = {result}."
    steps = [
        ("ones", f"Ones: {column}."),
        ("tens", tens_text),
        ("combine", combine_text),
    ]
    return steps, result


def solve(problem: Problem, level: str) -> tuple[StepList, int]:
    """Build the steps and the answer they compute: one fact for easy, columns above."""
    if level == "easy":
        (a, b), (op,) = problem.operands, problem.operators
        result = a + b if op == "+" else a - b
        return [("compute", f"{a} {op} {b} = {result}.")], result
    steps: StepList = []
    value = problem.operands[0]
    chained = len(problem.operators) > 1
    pairs = zip(problem.operators, problem.operands[1:], strict=True)
    for position, (op, operand) in enumerate(pairs, start=1):
        if chained:
            header = f"Operation {position}: {value} {op} {operand}."
            steps.append(("operation", header))
        group, value = _column_steps(value, op, operand)
        steps += group
    return steps, value


def build_payload(problem: Problem, *, level: str, seed: int, index: int) -> Payload:
    """Assemble a payload; refuse one whose steps do not reach the evaluated answer."""
    expected = evaluate(problem)
    steps, answer = solve(problem, level)
    if answer != expected:
        raise ArithmeticCheckFailed(f"steps for {problem.prompt!r} give {answer}, evaluation gives {expected}")
    return {
        "trace_version": TRACE_VERSION,
        "prompt": problem.prompt,
        "final_answer": str(expected),
        "steps": number_steps(steps),
        "meta": {
            "source": NAME,
            "generator": NAME,
            "level": level,
            "seed": seed,
            "index": index,
            "operands": list(problem.operands),
            "operators": list(problem.operators),
        },
    }


class ArithmeticGenerator:
    """Addition and subtraction traces at three difficulty levels."""

    name = NAME
    description = (
        "Addition and subtraction problems ('What is 47 + 38?') whose steps work "
        "ones and tens column by column; every answer is checked by evaluation "
        "before the trace is emitted. Results are never negative."
    )

    @property
    def options(self) -> dict[str, Any]:
        return {
            "levels": dict(LEVELS),
            "default_level": DEFAULT_LEVEL,
            "prompt_space": {level: prompt_space_size(level) for level in LEVELS},
        }

    def _level(self, level: str | None) -> str:
        return resolve_level(generator=NAME, levels=LEVELS, default=DEFAULT_LEVEL, level=level)

    def iter_payloads(self, *, seed: int, level: str | None = None) -> Iterator[Payload]:
        resolved = self._level(level)
        check_seed(seed)
        return self._stream(seed=seed, level=resolved)

    def _stream(self, *, seed: int, level: str) -> Iterator[Payload]:
        rng = random.Random(seed)  # noqa: S311 -- reproducible data, not security
        for index in itertools.count():
            problem = _draw(rng, level)
            yield build_payload(problem, level=level, seed=seed, index=index)

    def expected_answer(self, payload: Mapping[str, Any]) -> str:
        problem = parse_prompt(str(payload["prompt"]))
        if problem is None:
            raise ValueError(f"not an arithmetic prompt: {payload['prompt']!r}")
        return str(evaluate(problem))

    def prompt_space_size(self, *, level: str | None = None) -> int:
        return prompt_space_size(self._level(level))

    def in_prompt_space(self, prompt: str, *, level: str | None = None) -> bool:
        resolved = self._level(level)
        problem = parse_prompt(prompt)
        if problem is None or problem.prompt != prompt:
            return False
        return fits_level(problem, resolved)


ARITHMETIC = ArithmeticGenerator()
