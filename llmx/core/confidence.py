"""How sure the model was of each value it wrote, from the answer's token log-probabilities.
Pure: no I/O.

An OpenAI-compatible server (llama.cpp included) returns, with ``logprobs: true``, the answer's
tokens and the log-probability of each. Put end to end the tokens are the answer's text, so each
token has a character span; a small JSON scanner finds the span of every record's field value in
that text; the value's probability is the product of the probabilities of the tokens that overlap
its span (``exp`` of their log-probabilities' sum): the probability that the model, given what it
had written before, writes exactly this value (``null`` included, quotes included).

That is the model's view. :func:`raw_confidence` adds what llmx knows: a value the checks nulled
or settled is the check's answer, not the model's (its token probability says nothing about it);
records folded into one that agree on a value are independent draws of it (noisy-or).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Span = tuple[int, int]
UNKNOWN = 0.5  # the raw score of a value nothing is known about (no tokens, or settled by a check)


@dataclass(frozen=True)
class Token:
    text: str
    logprob: float


class _Scanner:
    """A JSON scanner that keeps where each value starts and ends in the text."""

    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def skip(self) -> None:
        while self.at < len(self.text) and self.text[self.at] in " \t\r\n":
            self.at += 1

    def value(self) -> tuple[Any, Span]:
        """(value, span): objects as {key: (value, span)}, arrays as [(value, span)]."""
        self.skip()
        start = self.at
        char = self.text[start : start + 1]
        if char == "{":
            self.at += 1
            members: dict[str, tuple[Any, Span]] = {}
            self.skip()
            if self.text[self.at : self.at + 1] == "}":
                self.at += 1
                return members, (start, self.at)
            while True:
                self.skip()
                key, _ = self.value()
                self.skip()
                self.expect(":")
                members[str(key)] = self.value()
                self.skip()
                if self.text[self.at : self.at + 1] == ",":
                    self.at += 1
                    continue
                self.expect("}")
                return members, (start, self.at)
        if char == "[":
            self.at += 1
            items: list[tuple[Any, Span]] = []
            self.skip()
            if self.text[self.at : self.at + 1] == "]":
                self.at += 1
                return items, (start, self.at)
            while True:
                items.append(self.value())
                self.skip()
                if self.text[self.at : self.at + 1] == ",":
                    self.at += 1
                    continue
                self.expect("]")
                return items, (start, self.at)
        if char == '"':
            self.at += 1
            while self.at < len(self.text) and self.text[self.at] != '"':
                self.at += 2 if self.text[self.at] == "\\" else 1
            self.expect('"')
            return self.text[start + 1 : self.at - 1], (start, self.at)
        while self.at < len(self.text) and self.text[self.at] not in ",}] \t\r\n":
            self.at += 1
        if self.at == start:
            raise ValueError(f"no JSON value at {start}")
        return self.text[start : self.at], (start, self.at)

    def expect(self, char: str) -> None:
        if self.text[self.at : self.at + 1] != char:
            raise ValueError(f"expected {char!r} at {self.at}")
        self.at += 1


def record_value_spans(content: str, list_field: str) -> list[dict[str, Span]] | None:
    """The span of each field value of each record in ``content`` (the answer's JSON object, which
    holds the records in ``list_field``; text before its first ``{``, a Markdown fence, is skipped).
    None when the content is not such an object."""
    start = content.find("{")
    if start < 0:
        return None
    scanner = _Scanner(content)
    scanner.at = start
    try:
        top, _ = scanner.value()
    except (ValueError, IndexError):
        return None
    if not isinstance(top, dict) or list_field not in top or not isinstance(top[list_field][0], list):
        return None
    return [
        {name: span for name, (_, span) in item.items()} if isinstance(item, dict) else {}
        for item, _ in top[list_field][0]
    ]


def token_spans(tokens: Sequence[Token], content: str) -> list[Span] | None:
    """Each token's span in ``content``; None when the tokens do not spell the content (a server
    that sent the tokens of something else, or byte pieces that do not join into characters)."""
    joined = "".join(t.text for t in tokens)
    offset = joined.find(content) if joined != content else 0
    if offset < 0 or (offset and joined.find(content, offset + 1) >= 0):
        return None  # not spelled, or spelled twice: which of the two is the answer is not known
    spans, at = [], -offset
    for token in tokens:
        spans.append((at, at + len(token.text)))
        at += len(token.text)
    return spans


def span_logprob(tokens: Sequence[Token], spans: Sequence[Span], value: Span) -> float | None:
    """The summed log-probability of the tokens that overlap ``value``; None when none does."""
    start, end = value
    overlapping = [t.logprob for t, (a, b) in zip(tokens, spans, strict=True) if a < end and b > start]
    return sum(overlapping) if overlapping else None


def value_probabilities(tokens: Sequence[Token], content: str, list_field: str) -> list[dict[str, float]] | None:
    """Per record of the answer, per field it wrote: the probability of the value as written."""
    places = token_spans(tokens, content)
    values = record_value_spans(content, list_field)
    if places is None or values is None:
        return None
    out: list[dict[str, float]] = []
    for record in values:
        probabilities: dict[str, float] = {}
        for name, span in record.items():
            logprob = span_logprob(tokens, places, span)
            if logprob is not None:
                probabilities[name] = math.exp(logprob)
        out.append(probabilities)
    return out


def raw_confidence(agreeing: Sequence[float], settled_by_check: bool) -> float:
    """The raw score of one value: the noisy-or of the token probabilities of the answers that
    wrote it (one record, or the records folded into it that agree), so agreement raises it;
    :data:`UNKNOWN` when the checks nulled or set the value (the model's certainty was about what
    it wrote, which is gone) or no answer's tokens are known. Calibration
    (:mod:`llmx.core.calibration`) turns it into a probability of being right, per field,
    knowing also whether the value is null and whether a check settled it."""
    if settled_by_check or not agreeing:
        return UNKNOWN
    doubt = 1.0
    for probability in agreeing:
        doubt *= 1.0 - min(max(probability, 0.0), 1.0)
    return round(1.0 - doubt, 6)
