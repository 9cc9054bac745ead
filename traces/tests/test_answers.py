from __future__ import annotations

from traces.verifiers.answers import answers_match, extract_answer, format_ok, normalise


def test_extract_answer_prefers_answer_tag() -> None:
    text = "<reasoning>1. a\nAnswer: 3</reasoning>\n<answer> 85 </answer>"
    assert extract_answer(text) == "85"


def test_extract_answer_falls_back_to_answer_line() -> None:
    assert extract_answer("Reasoning:\n1. add\nAnswer: 12\n") == "12"


def test_extract_answer_none_without_answer() -> None:
    assert extract_answer("no answer here") is None
    assert extract_answer("<answer>  </answer>") is None


def test_normalise() -> None:
    assert normalise("  Forty  Two. ") == "forty two"
    assert normalise("1,000") == "1000"
    assert normalise("42.0") == "42"
    assert normalise("-7") == "-7"
    assert normalise("0.50") == "0.5"


def test_format_ok_matches_tunix_reasoning_pattern() -> None:
    assert format_ok("<reasoning>1. step\n2. step</reasoning>\n<answer>85</answer>")
    assert format_ok("  <reasoning>x</reasoning><answer>1</answer>\n")
    assert not format_ok("<reasoning></reasoning>\n<answer>85</answer>")
    assert not format_ok("<reasoning>x</reasoning>\n<answer>85</answer><end_of_turn>")
    assert not format_ok("Answer: 85")


def test_answers_match() -> None:
    assert answers_match("<reasoning>x</reasoning><answer>1,000</answer>", "1000")
    assert not answers_match("nothing", "1000")
