"""What happens to an article's records between the model's answer and the result.

While re-asks are left, :meth:`RecordChecks.problems` says what is wrong with an answer (an
evidence quote not in the article, values the article does not support), in words the model
can act on. After the re-asks, :meth:`RecordChecks.finish` settles the records: unsupported
values become null and are listed in the record's ``verification``; a record whose quote is in
the article but reports no attack is dropped (kept in ``dropped``, counted, never silently);
duplicates are removed and same-evidence records with compatible fields merged.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from types import NoneType
from typing import Any

from llmx.core.checks import resolved_date, verify_record
from llmx.core.consolidate import consolidate
from llmx.core.grounding import Grounding, ground
from llmx.core.normalize import Aliases
from llmx.core.sentences import Sentence, scope_span, sentence_at, split_sentences
from llmx.core.verify import ArticleFacts, Correction, Finding, apply_findings, reask_message
from llmx.inputs.schemas import SchemaSpec
from llmx.runs.results import ExtractedRecord


@dataclass
class Settled:
    records: list[ExtractedRecord]
    dropped: list[ExtractedRecord] = field(default_factory=list)
    duplicates_removed: int = 0
    merged: int = 0


@dataclass
class Problems:
    message: str = ""
    ungrounded: bool = False
    unsupported: bool = False


# What each check reads when a scope is set (the event check always reads the quote itself):
# counts and dates the record's passage only; names also the article's lead paragraph, where news
# names the province or the group once for every attack below it. Measured in bench/NOTES.md
# ("Checks scoped to the record").
SCOPED_CHECKS: dict[str, bool] = {"count": False, "date": False, "present": True, "actor": True}  # check: with lead


@dataclass
class RecordChecks:
    schema: SchemaSpec
    aliases: Aliases = field(default_factory=Aliases)
    scope: int | None = None  # sentences either side of the evidence the checks read; None: the article
    scoped_checks: dict[str, bool] = field(default_factory=lambda: SCOPED_CHECKS)

    def scoped(
        self,
        record: dict[str, Any],
        grounding: Grounding | None,
        facts: ArticleFacts,
        with_lead: bool = False,
        extra: list[tuple[int, int]] | None = None,
    ) -> ArticleFacts:
        """The facts a record's values are held to: its evidence sentences (and ``extra`` spans:
        the other sentences the model marked for it) with ``scope`` neighbours either side, and
        the lead paragraph when ``with_lead``; the whole article when no scope is set or the
        evidence is not found."""
        if self.scope is None or grounding is None or grounding.start is None or grounding.end is None:
            return facts
        sentences = _sentences(facts.text)
        indices = sentence_at(sentences, grounding.start, grounding.end)
        for start, end in extra or []:
            indices += sentence_at(sentences, start, end)
        if not indices:
            return facts
        spans = scope_span(sentences, indices, self.scope)
        if with_lead:
            spans = [(s.start, s.end) for s in sentences if s.paragraph <= _lead(sentences)] + spans
        passage = "\n".join(facts.text[start:end] for start, end in spans)
        return ArticleFacts(text=facts.text, published=facts.published, scope=passage)

    @cached_property
    def nullable(self) -> set[str]:
        return {
            name
            for name, info in self.schema.record_model.model_fields.items()
            if NoneType in typing.get_args(info.annotation)
        }

    def _findings(
        self, record: dict[str, Any], facts: ArticleFacts, extra: list[tuple[int, int]] | None = None
    ) -> tuple[Grounding | None, list[Finding]]:
        """The record's evidence grounded in the article (None: the schema quotes nothing), and
        the values the article (or, with a scope, the record's passage) does not support."""
        evidence = self.schema.evidence_field
        grounding = ground(record.get(evidence), facts.text) if evidence else None
        findings: list[Finding] = []
        for with_lead in (None, False, True):  # None: the checks that read the whole article
            specs = {n: s for n, s in self.schema.verify.items() if self.scoped_checks.get(s.check) is with_lead}
            if specs:
                read = facts if with_lead is None else self.scoped(record, grounding, facts, with_lead, extra)
                findings += verify_record(record, specs, read, self.aliases)
        order = list(self.schema.verify)
        findings.sort(key=lambda f: order.index(f.field))
        if grounding is not None and not grounding.grounded:  # the grounding message says it already
            findings = [f for f in findings if f.field != evidence]
        return grounding, findings

    def problems(self, records: list[dict[str, Any]], facts: ArticleFacts, values: bool = True) -> Problems:
        """What a re-ask should tell the model about this answer (unsupported values only when
        ``values``); an empty message when nothing."""
        found = Problems()
        lines: list[str] = []
        ungrounded: list[int] = []
        for number, record in enumerate(records, start=1):
            grounding, findings = self._findings(record, facts)
            if grounding is not None and not grounding.grounded:
                ungrounded.append(number)
            if findings and values:
                found.unsupported = True
                lines.append(reask_message(findings, number))
        if ungrounded:
            found.ungrounded = True
            lines.insert(
                0,
                f"the {self.schema.evidence_field} of record(s) {ungrounded} is not a sentence of the article; "
                "copy each evidence sentence verbatim from the article text",
            )
        found.message = "\n".join(lines)
        return found

    def _settle(
        self, record: dict[str, Any], findings: list[Finding], facts: ArticleFacts
    ) -> tuple[dict[str, Any], list[Correction]]:
        """Unsupported values become null, unless the record's own words settle them: a date the
        record's day words give against the publication date replaces a wrong or missing one."""
        out = apply_findings(record, findings, self.nullable)
        corrections = list(findings)  # fresh per call: the reason may be extended below
        corrections += self._name_actors(out)
        for name, spec in self.schema.verify.items():
            if spec.check != "date" or out.get(name) is not None:
                continue
            day = resolved_date(out, facts, spec)
            if day is None:
                continue
            out[name] = day
            for correction in corrections:
                if correction.field == name:
                    correction.reason += f"; set to {day}, the day the record's own date words give"
                    break
            else:
                corrections.append(
                    Correction(
                        field=name, value=None, reason=f"filled: {day}, the day the record's own date words give"
                    )
                )
        return out, corrections

    def _name_actors(self, record: dict[str, Any]) -> list[Correction]:
        """An actor the vocabulary knows is written as its canonical name ("Israeli warplanes" →
        Israel), so one actor is one value across records, articles and events; listed."""
        vocabulary = self.aliases.actors
        changed: list[Correction] = []
        for name, spec in self.schema.verify.items():
            value = record.get(name)
            if spec.check != "actor" or vocabulary is None or not isinstance(value, str):
                continue
            actor = vocabulary.actor(value)
            if actor is not None and actor != value:
                record[name] = actor
                changed.append(
                    Correction(field=name, value=value, reason=f"named as the actor '{actor}' (schemas/actors.yaml)")
                )
        return changed

    def repeats(self, new: list[dict[str, Any]], found: list[dict[str, Any]]) -> list[bool]:
        """Which of a recall pass's records are an incident already found: the scorer's own
        definition of "the same incident" (quotes overlap, or a shared place or actor, and
        similar enough), so a recall pass cannot re-report what the first pass found."""
        if not new or not found:
            return [False] * len(new)
        from llmx.core.fields import MIN_SIMILARITY
        from llmx.core.similarity import pair_table

        table, _, _ = pair_table({"a": (new, found)}, self.schema.fields, self.aliases, self.schema.evidence_field)
        repeated = [False] * len(new)
        for i, similarity in zip(table.pred_index.tolist(), table.similarity.tolist(), strict=True):
            if similarity >= MIN_SIMILARITY:  # pred_index counts records in the order given
                repeated[i] = True
        return repeated

    def finish(
        self,
        records: list[dict[str, Any]],
        facts: ArticleFacts,
        passages: dict[str, list[tuple[int, int]]] | None = None,
    ) -> Settled:
        """``passages``: evidence text → the spans of every sentence the record rests on (its
        mentions, from the evidence strategy), which the record-scoped checks read and the
        record keeps as ``mentions``."""
        evidence = self.schema.evidence_field
        merged_records, counts = consolidate(records, evidence)
        settled = Settled([], [], counts.duplicates_removed, counts.merged)
        for record in merged_records:
            extra = (passages or {}).get(str(record.get(evidence))) if evidence else None
            grounding, findings = self._findings(record, facts, extra)
            day_facts = self.scoped(record, grounding, facts, extra=extra) if "date" in self.scoped_checks else facts
            settled_record, corrections = self._settle(record, findings, day_facts)
            item = ExtractedRecord(
                record=settled_record, grounding=grounding, verification=corrections, mentions=sorted(set(extra or []))
            )
            # A quote of the article that reports no attack is not an incident: dropped, counted, kept aside.
            grounded = grounding is None or grounding.grounded
            if grounded and any(f.field == evidence for f in findings):
                settled.dropped.append(item)
            elif any(kept.record == item.record for kept in settled.records):
                # The checks can make two records one: two records of one sentence that differed
                # only in dates the article does not give are the same record once those are removed.
                settled.duplicates_removed += 1
            else:
                settled.records.append(item)
        return settled


@lru_cache(maxsize=64)
def _sentences(text: str) -> list[Sentence]:
    return split_sentences(text)


def _lead(sentences: list[Sentence]) -> int:
    """The lead's paragraph number: the first paragraph of more than one sentence or 80
    characters (the one before it may be a headline or a dateline)."""
    for sentence in sentences:
        if len(sentence.text) > 80:
            return sentence.paragraph
    return 0
