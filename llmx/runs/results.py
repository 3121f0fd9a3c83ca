"""What a run produces, as versioned pydantic models: one :class:`ArticleResult` per article
(a line of ``extractions.jsonl``) and the :class:`RunManifest` (``run.json``).

Everything here crosses a boundary (files, ``--json``), so every model has a version and old or
foreign files fail loudly, not strangely. Version 2: a result carries the facts later stages
would otherwise go back to the corpus for (its article's publication date, which ``score`` and
``events`` place undated reports by). Version 1 runs are still read: their dates come from the
inputs run.json recorded, as before.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from llmx.core.grounding import Grounding
from llmx.core.verify import Correction

RUN_VERSION = 2
READABLE_VERSIONS = (1, 2)  # a run folder of any of these reads (and resumes); others fail loudly


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # part of prompt_tokens the provider served from its cache
    reasoning_tokens: int = 0  # part of completion_tokens a reasoning model spent thinking

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cached_tokens += other.cached_tokens
        self.reasoning_tokens += other.reasoning_tokens


class ExtractedRecord(BaseModel):
    record: dict[str, Any]
    grounding: Grounding | None = None
    verification: list[Correction] = []
    # The sentences the record rests on (evidence strategy): (start, end) offsets into the
    # article, the reporting sentence among them; empty for a single pass (its quote is the one).
    mentions: list[tuple[int, int]] = []
    # How sure llmx is of each value, field → probability of being right (issue 30): calibrated
    # when the project has a calibration (``calibrated``), else the raw score. Absent in runs made
    # before confidences existed, or whose answers carry no token log-probabilities.
    confidence: dict[str, float] | None = None
    confidence_raw: dict[str, float] | None = None  # kept, so a later calibration applies to this run
    calibrated: bool = False


class Failure(BaseModel):
    kind: str
    message: str
    last_output: str | None = None


class Provenance(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    model: str
    prompt: str
    prompt_sha256: str
    schema_name: str = Field(alias="schema")
    schema_sha256: str
    mode: str
    recipe_sha256: str = ""  # everything that shapes the answer: see Recipe
    strategy: str = "single"
    usage: Usage = Usage()
    live_usage: Usage = Usage()  # the part of usage this run paid for (live calls), not replayed
    # What every answer costs at the run's prices (replayed ones too: "recorded cost"), and what
    # this run paid (live calls and batch lines; replays cost nothing now). None: no known price.
    cost_usd: float | None = None
    spent_usd: float | None = None
    attempts: int = 0
    live_calls: int = 0
    replayed_calls: int = 0
    grounding_reasks: int = 0
    truncated: int = 0  # answers cut off at max_tokens; their whole records were kept
    verification_reasks: int = 0
    duplicates_removed: int = 0
    merged: int = 0
    passes: int = 1
    latency_s: float = 0.0
    cassette_keys: list[str] = []

    @classmethod
    def of(cls, recipe: Recipe, recipe_sha256: str, **facts: Any) -> Provenance:
        """An article's provenance: the recipe fields it repeats (so a line stands on its own),
        then the facts of that article's calls."""
        named = {name: getattr(recipe, name) for name in ("model", "prompt", "schema_sha256", "mode", "strategy")}
        return cls(**named, schema=recipe.schema_name, recipe_sha256=recipe_sha256, **facts)


class ArticleResult(BaseModel):
    version: int = RUN_VERSION
    article_id: str
    status: Literal["ok", "failed"]
    incidents: list[ExtractedRecord] = []
    dropped: list[ExtractedRecord] = []  # quoted the article but reported no attack: kept aside, counted
    error: Failure | None = None
    provenance: Provenance
    published: dt.date | None = None  # the article's publication date (version 2 on; None: it has none)

    @property
    def carries_facts(self) -> bool:
        """Whether the line itself holds its article's date (version 2 on); else ask the inputs."""
        return self.version >= 2

    @property
    def ungrounded(self) -> int:
        return sum(1 for item in self.incidents if item.grounding and not item.grounding.grounded)

    @property
    def values_removed(self) -> int:
        return sum(len(item.verification) for item in self.incidents)


class RunSummary(BaseModel):
    articles: int = 0
    ok: int = 0
    failed: int = 0
    incidents: int = 0
    ungrounded: int = 0
    grounding_reasks: int = 0
    verification_reasks: int = 0
    values_removed: int = 0
    records_dropped: int = 0
    duplicates_removed: int = 0
    merged: int = 0
    live_calls: int = 0
    replayed_calls: int = 0
    usage: Usage = Usage()
    cost_usd: float | None = 0.0  # recorded cost; None once any article's cost is unknown
    spent_usd: float | None = 0.0  # paid by the runs that made these lines
    failures: dict[str, int] = {}
    wall_s: float = 0.0

    def add(self, result: ArticleResult) -> None:
        self.articles += 1
        self.ok += result.status == "ok"
        self.failed += result.status == "failed"
        self.incidents += len(result.incidents)
        self.ungrounded += result.ungrounded
        self.values_removed += result.values_removed
        self.records_dropped += len(result.dropped)
        p = result.provenance
        self.grounding_reasks += p.grounding_reasks
        self.verification_reasks += p.verification_reasks
        self.duplicates_removed += p.duplicates_removed
        self.merged += p.merged
        self.live_calls += p.live_calls
        self.replayed_calls += p.replayed_calls
        self.usage.add(p.usage)
        self.cost_usd = _add_cost(self.cost_usd, p.cost_usd)
        self.spent_usd = _add_cost(self.spent_usd, p.spent_usd)
        if result.error:
            self.failures[result.error.kind] = self.failures.get(result.error.kind, 0) + 1

    @classmethod
    def of(cls, results: list[ArticleResult]) -> RunSummary:
        summary = cls()
        for result in results:
            summary.add(result)
        return summary


def _add_cost(total: float | None, more: float | None) -> float | None:
    return None if total is None or more is None else round(total + more, 8)


class Recipe(BaseModel):
    """Everything that shapes an article's answer. A run folder holds answers of one recipe:
    resuming it with another is refused unless asked to redo the lines that differ."""

    model: str
    prompt: str
    prompt_sha256: str
    schema_name: str
    schema_sha256: str
    mode: str
    strategy: str = "single"
    params: dict[str, Any] = {}
    reasks: int = 0
    verify_reasks: int = 0
    # True with strict structured outputs, else None (left out of the hash): a recipe from before
    # strict existed hashes as it did, so those run folders still resume.
    strict: bool | None = None
    # Every file the strategy reads (prompt templates, what they extend or include, the schema) →
    # sha256. Said, not hashed: prompt_sha256 and schema_sha256 already cover their content, and
    # run folders from before it existed still resume.
    prompt_files: dict[str, str] = {}

    @property
    def sha256(self) -> str:
        import hashlib

        unhashed = {"prompt_files"}
        return hashlib.sha256(self.model_dump_json(exclude_none=True, exclude=unhashed).encode()).hexdigest()

    def differences(self, other: dict[str, Any]) -> list[str]:
        """What ``other`` (a recipe read from a run folder) has that this one does not."""
        files = other.get("prompt_files") or {}
        edited = [f"{path} changed" for path, sha in self.prompt_files.items() if path in files and files[path] != sha]
        mine = self.model_dump(exclude={"prompt_files"})
        return (
            [
                f"{name} {other.get(name)!r} → {value!r}"
                for name, value in mine.items()
                if other.get(name) != value and not name.endswith("_sha256")
            ]
            or edited
            or [
                f"{name.removesuffix('_sha256')} file content changed"
                for name, value in mine.items()
                if other.get(name) != value
            ]
        )


# batch_pending: a --batch run left its batch with the provider (--no-wait); --batch again collects it
RunStatus = Literal["running", "complete", "interrupted", "failed", "over_budget", "batch_pending"]


class RunManifest(BaseModel):
    version: int = RUN_VERSION
    status: RunStatus
    started_at: str
    finished_at: str | None = None
    command: list[str] = []  # redacted: URLs without credentials, no keys
    inputs: list[str] = []
    recipe: dict[str, Any] = {}  # what makes the answers: model, prompt, schema, params (Recipe)
    settings: dict[str, Any] = {}
    article_ids: list[str] = []
    summary: RunSummary = RunSummary()
    error: str | None = None
