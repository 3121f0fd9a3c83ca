"""Does a sentence that uses attack words report an attack that happened, or only a threat, a
plan or a purchase? The question the event check asks after its attack words.

A 1.5B model marks "Hezbollah warned that no place in Israel would be safe if it launched an
offensive" as an attack, and a drone contract as a drone attack. A sentence is taken as *not*
reporting an attack when it carries a cue of talk, plans or trade (warned, would, plans,
contract...) and no attack verb in the past that stands outside such a clause ("if it
launched", "would be destroyed" do not count; "rockets struck the base" does). A sentence with
no cue is left to the attack words alone. Cues are words, not stems of other words: a
"contractor" who "died of wounds" is a victim, not a contract. Pure: text in, verdict out.
"""

from __future__ import annotations

import re

from llmx.core.normalize import normalize

_CUES = re.compile(
    r"\b(?:warn\w*|threat\w*|vow\w*|would|could|might|will|plan\w*|ready to|prepar\w*|drill\w*|exercise\w*|"
    r"expect\w*|likely|if|unless|"
    r"rehears\w*|contract(?:s|ed|ing)?|purchas\w*|bought|buy\w*|order\w*|deliver\w*|procure\w*|produc\w*|"
    r"manufactur\w*|supply|supplies|acquir\w*|unveil\w*|display\w*|test(?:s|ed|ing)?|video)\b"
)
_REALIS = re.compile(
    r"\b(?:struck|hit|killed|died|wounded|injured|destroyed|exploded|fired|launched|shot down|intercepted|targeted|"
    r"attacked|shelled|bombed|sank|sunk|damaged|downed|detonated|blew up|raided|ambushed|stormed|set ablaze)\b"
)
# What turns a following past verb into a hypothesis: "if it launched", "would be destroyed".
_IRREALIS_BEFORE = re.compile(
    r"\b(?:if|unless|would|could|might|will|to be|threatened to|vowed to|expected to|likely to|set to|going to)\b"
)
_WINDOW = 4  # words before a past verb searched for one of those
# A clause starts between them: "would retaliate after rockets hit" reports the hit.
_BOUNDARY = frozenset({"after", "when", "because", "since", "as", "and", "but", "while", "once", "where"})


def reports_happened(sentence: str) -> bool:
    """False when the sentence talks of a threat, a plan or a purchase and reports no attack
    that happened; True otherwise (including when it has no cue at all)."""
    text = normalize(sentence)
    if not _CUES.search(text):
        return True
    for verb in _REALIS.finditer(text):
        if not _IRREALIS_BEFORE.search(" ".join(_own_clause(text[: verb.start()].split()[-_WINDOW:]))):
            return True
    return False


def _own_clause(words: list[str]) -> list[str]:
    """The words before a verb back to the nearest clause boundary."""
    for i in range(len(words) - 1, -1, -1):
        if words[i] in _BOUNDARY:
            return words[i + 1 :]
    return words
