"""A sentence that tallies many attacks over a period is background, not a record; a sentence
that dates itself reports that day's attack, however many drones it counts."""

from __future__ import annotations

import pytest

from llmx.core.aggregate import tallies_attacks


@pytest.mark.parametrize(
    "sentence",
    [
        "Militias have claimed more than a dozen drone attacks on the port in the same period.",
        "Coalition jets have struck depots in the east on four occasions.",
        "The army fired more than 2,000 shells at the ridge in the first half of the year.",
        "Officers say the number of drones reaching the front has doubled since the spring.",
        "There have been at least 60 rocket attacks on the airport so far this year.",
    ],
)
def test_a_tally_over_a_period_is_not_an_attack(sentence: str) -> None:
    assert tallies_attacks(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "The army said 40 drones were launched at the capital overnight, most of them shot down.",
        "Rockets hit the base on Monday, the latest in a string of attacks since October.",
        "Drones attacked two bases in the north, the ministry said.",
        "A drone struck a fuel depot near the border, killing three workers.",
        "Three missiles hit the port on March 4, officials said.",
    ],
)
def test_an_attack_that_dates_itself_or_counts_no_period_is_kept(sentence: str) -> None:
    assert not tallies_attacks(sentence)
