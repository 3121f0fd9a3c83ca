"""What a run produces, as versioned pydantic models: one :class:`ArticleResult` per article
(a line of ``extractions.jsonl``) and the :class:`RunManifest` (``run.json``).

Everything here crosses a boundary (files, ``--json``), so every model has a version and old or
foreign files fail loudly, not strangely.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from llmx.grounding import Grounding

RUN_VERSION = 1


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


class Correction(BaseModel):
    """A value the article does not support, removed after the re-asks (never silently)."""

    field: str
    value: Any
    reason: str


class ExtractedRecord(BaseModel):
    record: dict[str, Any]
    grounding: Grounding | None = None
    verification: list[Correction] = []


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
    recipe_sha256: str = ""  # everything that shapes the answer: see llmx.recipe
    strategy: str = "single"
    usage: Usage = Usage()
    cost_usd: float | None = None
    attempts: int = 0
    live_calls: int = 0
    replayed_calls: int = 0
    grounding_reasks: int = 0
    verification_reasks: int = 0
    duplicates_removed: int = 0
    merged: int = 0
    passes: int = 1
    latency_s: float = 0.0
    cassette_keys: list[str] = []


class ArticleResult(BaseModel):
    version: int = RUN_VERSION
    article_id: str
    status: Literal["ok", "failed"]
    incidents: list[ExtractedRecord] = []
    dropped: list[ExtractedRecord] = []  # quoted the article but reported no attack: kept aside, counted
    error: Failure | None = None
    provenance: Provenance

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
    cost_usd: float | None = 0.0  # None once any article's cost is unknown
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
        if self.cost_usd is not None:
            self.cost_usd = None if p.cost_usd is None else round(self.cost_usd + p.cost_usd, 8)
        if result.error:
            self.failures[result.error.kind] = self.failures.get(result.error.kind, 0) + 1

    @classmethod
    def of(cls, results: list[ArticleResult]) -> RunSummary:
        summary = cls()
        for result in results:
            summary.add(result)
        return summary


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

    @property
    def sha256(self) -> str:
        import hashlib

        return hashlib.sha256(self.model_dump_json(exclude_none=True).encode()).hexdigest()

    def differences(self, other: dict[str, Any]) -> list[str]:
        """What ``other`` (a recipe read from a run folder) has that this one does not."""
        mine = self.model_dump()
        return [
            f"{name} {other.get(name)!r} → {value!r}"
            for name, value in mine.items()
            if other.get(name) != value and not name.endswith("_sha256")
        ] or [
            f"{name.removesuffix('_sha256')} file content changed"
            for name, value in mine.items()
            if other.get(name) != value
        ]


RunStatus = Literal["running", "complete", "interrupted", "failed", "over_budget"]


class RunManifest(BaseModel):
    version: int = RUN_VERSION
    status: RunStatus
    started_at: str
    finished_at: str | None = None
    command: list[str] = []  # redacted: URLs without credentials, no keys
    inputs: list[str] = []
    recipe: dict[str, Any] = {}  # what makes the answers: model, prompt, schema, params (llmx.recipe)
    settings: dict[str, Any] = {}
    article_ids: list[str] = []
    summary: RunSummary = RunSummary()
    error: str | None = None
