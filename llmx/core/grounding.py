"""Find an evidence quote in its article: exact, then normalised, then fuzzy.

Models paraphrase, swap curly quotes for straight ones and re-flow whitespace. Each step is
more tolerant than the last, and the result always says which step found the quote and where
(character offsets into the article text), so a reader can check it.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Literal

from pydantic import BaseModel
from rapidfuzz import fuzz

GroundingStatus = Literal["exact", "normalized", "fuzzy", "ungrounded"]
FUZZY_THRESHOLD = 90.0  # rapidfuzz partial_ratio on normalised text, 0-100

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)


class Grounding(BaseModel):
    status: GroundingStatus
    start: int | None = None
    end: int | None = None
    score: float = 0.0

    @property
    def grounded(self) -> bool:
        return self.status != "ungrounded"


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """Casefold, unify quotes and dashes, collapse whitespace; map each output char to its source."""
    out: list[str] = []
    index: list[int] = []
    previous_space = True
    for position, char in enumerate(text):
        for piece in unicodedata.normalize("NFKC", char.translate(_TRANSLATE)).casefold():
            if piece.isspace():
                if previous_space:
                    continue
                piece = " "
            previous_space = piece == " "
            out.append(piece)
            index.append(position)
    while out and out[-1] == " ":
        out.pop()
        index.pop()
    return "".join(out), index


@functools.lru_cache(maxsize=1024)  # the re-ask validator and the result both ground each quote
def ground(quote: str | None, text: str) -> Grounding:
    if not quote or not quote.strip():
        return Grounding(status="ungrounded")
    stripped = quote.strip()
    start = text.find(stripped)
    if start >= 0:
        return Grounding(status="exact", start=start, end=start + len(stripped), score=100.0)
    norm_text, index = normalize_with_map(text)
    norm_quote, _ = normalize_with_map(stripped)
    start = norm_text.find(norm_quote)
    if start >= 0 and norm_quote:
        return Grounding(
            status="normalized", start=index[start], end=index[start + len(norm_quote) - 1] + 1, score=100.0
        )
    alignment = fuzz.partial_ratio_alignment(norm_quote, norm_text, score_cutoff=FUZZY_THRESHOLD)
    if alignment is not None and alignment.dest_end > alignment.dest_start:
        return Grounding(
            status="fuzzy",
            start=index[alignment.dest_start],
            end=index[alignment.dest_end - 1] + 1,
            score=round(alignment.score, 1),
        )
    return Grounding(status="ungrounded")
