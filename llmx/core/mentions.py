"""Mentions: the sentences an attack is told in, and which records are one attack because of them.

The evidence strategy asks for each record with the numbers of the sentences that report it
(its mentions). Two records are one attack when they rest on a common sentence and clash on no
place, actor or day: the same attack seen by two overlapping chunks, or told twice by the model.
A group never holds a clashing pair, whatever joins it (no chains: "drones hit Erbil and
Kirkuk" is two attacks in one sentence, and stays two). Pure: indices in, groups out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from llmx.core.normalize import normalize
from llmx.core.realis import reports_happened
from llmx.core.sentences import Sentence


def group_by_mentions(mentions: Sequence[set[int]], clashes: set[tuple[int, int]]) -> list[list[int]]:
    """Indices grouped by attack: i and j join when their mentions overlap, unless a member of
    one group clashes with a member of the other (``clashes``: pairs i < j, either order is
    read). Groups in order of their first record, each in record order."""
    count = len(mentions)
    members: dict[int, set[int]] = {i: {i} for i in range(count)}
    owner = list(range(count))

    def clash(a: set[int], b: set[int]) -> bool:
        return any((min(x, y), max(x, y)) in clashes for x in a for y in b)

    # most shared sentences first: the surest joins are made before a weaker one can block them
    pairs = sorted(
        ((len(mentions[i] & mentions[j]), i, j) for i in range(count) for j in range(i + 1, count)),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    for shared, i, j in pairs:
        a, b = owner[i], owner[j]
        if not shared or a == b or clash(members[a], members[b]):
            continue
        for k in members[b]:
            owner[k] = a
        members[a] |= members.pop(b)
    return sorted((sorted(group) for group in members.values()), key=lambda group: group[0])


@lru_cache(maxsize=16)
def _words(words: tuple[str, ...]) -> re.Pattern[str]:
    """ "explos-" matches words starting so (explosion, explosive); "hit" only the word hit."""
    parts = [re.escape(normalize(w)) + (r"\w*" if w.endswith("-") else "") for w in words] or ["(?!x)x"]
    return re.compile(rf"\b(?:{'|'.join(parts)})\b")


def reporting_sentence(sentences: Sequence[Sentence], indices: Sequence[int], words: tuple[str, ...]) -> int:
    """The mention that reports the attack: the first that names one (a word of the event
    lexicon) as having happened; else the first that names one; else the first mention."""
    named = [i for i in indices if _words(tuple(words)).search(normalize(sentences[i].text))]
    happened = [i for i in named if reports_happened(sentences[i].text)]
    return (happened or named or list(indices))[0]
