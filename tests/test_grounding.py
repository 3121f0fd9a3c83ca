from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from llmx.core.grounding import ground

TEXT = "BAGHDAD — A drone attack targeted the “Ain al-Asad” airbase on Monday.\n\nNo one was hurt."


def test_exact_quote_gets_its_offsets() -> None:
    quote = "No one was hurt."
    g = ground(quote, TEXT)
    assert g.status == "exact" and TEXT[g.start : g.end] == quote


def test_normalised_quote_maps_back_to_the_original_span() -> None:
    g = ground('a drone attack targeted the "Ain al-Asad"   airbase on Monday.', TEXT)
    assert g.status == "normalized"
    assert TEXT[g.start : g.end] == "A drone attack targeted the “Ain al-Asad” airbase on Monday."


def test_small_paraphrase_is_fuzzy_and_a_made_up_quote_is_ungrounded() -> None:
    fuzzy = ground("A drone attack targeted the Ain al-Asad air base on Monday", TEXT)
    assert fuzzy.status == "fuzzy" and fuzzy.score >= 90 and fuzzy.start is not None and fuzzy.start < 20
    assert ground("Rockets struck the embassy in Kabul on Friday.", TEXT).status == "ungrounded"
    assert ground("", TEXT).status == "ungrounded" and ground(None, TEXT).status == "ungrounded"


@given(st.text(min_size=30, max_size=300), st.data())
def test_any_substring_is_found_exactly(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text) - 10))
    quote = text[start : start + 10]
    g = ground(quote, text)
    if quote.strip():
        assert g.grounded and text[g.start : g.end] == quote.strip()
