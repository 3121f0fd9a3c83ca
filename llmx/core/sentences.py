"""An article as paragraphs and sentences with offsets, and the chunks a long one is read in.

The evidence-first strategy shows the model numbered sentences and takes sentence numbers
back, so every piece here keeps character offsets into the whole article: a record's evidence
is the article's own text by construction, wherever the chunk it was found in starts.

Paragraphs are split at blank lines (at single line breaks when the text has no blank line),
sentences at line breaks and where pysbd (a kept rule-based segmenter: abbreviations such as
"Mr.", "U.S.", "Jan.", initials, decimals, quotes) ends one. A chunk is
a run of whole paragraphs, never cut inside a sentence; a paragraph too long for one chunk is
cut between its sentences. Neighbouring chunks share ``overlap`` sentences, so an attack
reported across a chunk border is seen whole by one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pysbd

_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_LINE = re.compile(r"\n\s*")
_CANDIDATE = re.compile(r"[.!?][\"'”’)\]]*\s")  # where a sentence may end inside a line
# The quick split (rough_sentences): a stop, closing quotes or brackets, space, then what may open
# a sentence, unless the word before the stop is a short abbreviation.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Gen|Lt|Col|Maj|Capt|Sgt|Rep|Sen|Gov|Prof|St|No|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|"
    r"Nov|Dec|vs|approx|Brig|Adm|Cmdr)|\b[A-Z](?:\.[A-Z])*)\.$"
)
CHARS_PER_TOKEN = 3.5  # English news text with Qwen/GPT tokenizers: ~4; 3.5 keeps chunks inside the budget


@dataclass(frozen=True)
class Sentence:
    index: int  # 0-based, over the whole article
    start: int  # character offsets into the article text
    end: int
    paragraph: int  # 0-based paragraph number
    text: str


@dataclass(frozen=True)
class Chunk:
    """Sentences ``first`` to ``last`` (inclusive, article indices) of one marking request."""

    number: int
    first: int
    last: int


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-empty paragraph."""
    splitter = _PARAGRAPH if _PARAGRAPH.search(text) else _LINE
    spans: list[tuple[int, int]] = []
    position = 0
    for match in [*splitter.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[position:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((position + lead, position + len(piece.rstrip())))
        position = match.end() if match else len(text)
    return spans


def split_sentences(text: str) -> list[Sentence]:
    """Every sentence of the article, in order, with offsets and its paragraph number: what the
    model is shown numbered and what a record's mentions are (pysbd)."""
    sentences: list[Sentence] = []
    for number, (p_start, p_end) in enumerate(paragraph_spans(text)):
        for l_start, l_end in _lines(text, p_start, p_end):  # a line break inside a paragraph ends a sentence too
            for start, end in _segments(text[l_start:l_end]):
                _add(sentences, text, l_start + start, l_start + end, number)
    return sentences


def rough_sentences(text: str) -> list[Sentence]:
    """The article's sentences by a quick rule (a stop, a space, a capital; a short abbreviation
    list): the neighbourhood the record-scoped checks read around a record's own sentences. Its
    boundaries are a few off pysbd's at worst, and it is ~20x faster: the checks run on every
    article of every replay, where pysbd would take half the time of a 2,000-article replay."""
    sentences: list[Sentence] = []
    for number, (p_start, p_end) in enumerate(paragraph_spans(text)):
        for l_start, l_end in _lines(text, p_start, p_end):
            start = l_start
            for match in _BOUNDARY.finditer(text, l_start, l_end):
                head = text[start : match.start()].rstrip("\"'”’)]")
                if _ABBREVIATION.search(head[-12:]) or len(head.strip()) < 2:
                    continue
                _add(sentences, text, start, match.start(), number)
                start = match.end()
            _add(sentences, text, start, l_end, number)
    return sentences


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False, char_span=True)


@lru_cache(maxsize=4096)
def _segments(line: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of each sentence of one line. A line with no stop followed by a space is one
    sentence, and pysbd (the kept segmenter: abbreviations, initials, decimals, quotes) is not
    asked; its spans are re-found in the line, since it may trim or shift white space."""
    if not _CANDIDATE.search(line):
        return ((0, len(line)),)
    spans: list[tuple[int, int]] = []
    position = 0
    for piece in _segmenter().segment(line):
        found = line.find(piece.sent.strip(), position)
        if found < 0:  # never expected: keep the rest of the line as one sentence rather than lose it
            break
        spans.append((found, found + len(piece.sent.strip())))
        position = spans[-1][1]
    if position < len(line.rstrip()):
        spans.append((position, len(line)))
    return tuple(spans)


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, position = [], start
    while (newline := text.find("\n", position, end)) >= 0:
        spans.append((position, newline))
        position = newline + 1
    spans.append((position, end))
    return spans


def _add(sentences: list[Sentence], text: str, start: int, end: int, paragraph: int) -> None:
    piece = text[start:end]
    if piece.strip():
        lead = len(piece) - len(piece.lstrip())
        begin, finish = start + lead, start + len(piece.rstrip())
        sentences.append(Sentence(len(sentences), begin, finish, paragraph, text[begin:finish]))


def chunk_sentences(sentences: list[Sentence], max_chars: int, overlap: int = 2) -> list[Chunk]:
    """Runs of sentences of at most ``max_chars`` (a single longer sentence is a chunk of its
    own), ending at a paragraph's end when one fits; each chunk after the first starts with the
    last ``overlap`` sentences of the one before."""
    chunks: list[Chunk] = []
    first = 0
    count = len(sentences)
    while first < count:
        last, size, paragraph_end = first, 0, None
        while last < count and (last == first or size + len(sentences[last].text) + 1 <= max_chars):
            size += len(sentences[last].text) + 1
            if last + 1 == count or sentences[last + 1].paragraph != sentences[last].paragraph:
                paragraph_end = last
            last += 1
        last -= 1  # the last sentence that fitted
        if last + 1 < count and paragraph_end is not None and paragraph_end > first + overlap:
            last = paragraph_end  # end the chunk where a paragraph ends, when that leaves room to move on
        chunks.append(Chunk(len(chunks), first, last))
        if last + 1 >= count:
            break
        first = max(last + 1 - overlap, first + 1)
    return chunks


def chunk_chars(chunk_tokens: int, context_tokens: int, reserved_tokens: int) -> int:
    """Characters of article text one marking request may carry: ``chunk_tokens``, and never
    more than the model's context leaves after the instructions and the answer."""
    tokens = max(min(chunk_tokens, context_tokens - reserved_tokens), 100)
    return int(tokens * CHARS_PER_TOKEN)


def scope_span(sentences: list[Sentence], indices: list[int], neighbours: int = 1) -> list[tuple[int, int]]:
    """Character spans of the sentences ``indices`` and ``neighbours`` sentences either side
    (across paragraph breaks: "No one was hurt." is often a paragraph of its own): what a
    record-scoped check may read."""
    spans: list[tuple[int, int]] = []
    for i in sorted(set(indices)):
        low, high = max(i - neighbours, 0), min(i + neighbours, len(sentences) - 1)
        spans.append((sentences[low].start, sentences[high].end))
    return spans


def sentence_at(sentences: list[Sentence], start: int, end: int) -> list[int]:
    """Indices of the sentences a character span overlaps."""
    return [s.index for s in sentences if s.start < end and start < s.end]
