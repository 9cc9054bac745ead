from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tunix_rt.commands import field_errors_text


def test_field_errors_read_as_one_line_naming_each_field() -> None:
    errors = {"limit": ["Ensure this value is greater than or equal to 1."], "non_field_errors": ["Give a name."]}
    assert field_errors_text(errors) == "limit: Ensure this value is greater than or equal to 1.; Give a name."
    options = {"limit": "--limit"}
    assert field_errors_text(errors, lambda field: options.get(field, "")) == (
        "--limit: Ensure this value is greater than or equal to 1.; Give a name."
    )
    assert field_errors_text({"filters": {"a": ["Too deep."]}}) == "filters: a: Too deep."
    assert field_errors_text("expected a JSON object") == "expected a JSON object"


words = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=12)
sentences = st.lists(words, min_size=1, max_size=4).map(lambda w: " ".join(w) + ".")


@given(st.dictionaries(words, st.lists(sentences, min_size=1, max_size=3), min_size=1, max_size=5))
def test_each_field_becomes_one_clause_in_order(errors: dict[str, list[str]]) -> None:
    text = field_errors_text(errors)
    assert "{" not in text and "[" not in text
    assert text.split("; ") == [f"{field}: {' '.join(messages)}" for field, messages in errors.items()]
