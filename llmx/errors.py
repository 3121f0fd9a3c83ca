"""Every exception llmx raises, in one place.

Library code raises these; only the CLI catches them, prints one red line and exits with the
class's ``exit_code`` (``LLMX_DEBUG=1`` also shows the traceback; the exit code stays the same).
Each message says what went wrong, where, and what to do; the objects it is about ride along as
attributes (``path``, ``url``, ``article_id``...) for code that wants more than the text.

    LlmxError                       exit 1 unless noted
    ├── UsageError                  bad input from the user                              (exit 2)
    │   ├── ArticleError            a missing, empty or binary article, bad JSONL
    │   ├── ConfigError             [tool.llmx] / llmx.toml / option values               .option
    │   ├── PromptError             unknown prompt, template syntax error, undefined variable
    │   ├── SchemaError             unknown schema, schema file that fails to import
    │   ├── GoldError               a gold file that does not validate
    │   │   └── EditConflict        an annotate edit made on what another tab changed meanwhile
    │   ├── RunError                a run folder that is missing, unreadable or unscorable
    │   │   ├── RunLocked           another llmx is writing this run folder               .path
    │   │   ├── RunMismatch         resuming a run made with other settings      .path .differences
    │   │   └── BatchGone           --batch: the provider no longer has a batch or file batch.json names
    │   ├── OutputError             a file or folder llmx must write cannot be written   .path
    │   └── EndpointError           a model server that cannot work: bad URL, 401/403/404 .url
    │       └── ParameterRejected   a 400 naming a parameter of every request (max_tokens...) .param
    ├── CassetteError               a cassette file that is corrupt or from another version .path
    │   └── CassetteMiss            strict replay and no cassette for this request       (exit 3)
    ├── ModelError                  the model server failed for one article (recorded, run goes on)
    │   ├── TransientModelError     429 / 5xx / timeout / connection: retried, then this
    │   ├── InvalidOutputError      output that never validated after the re-asks       .last_output
    │   │   └── TruncatedOutputError  finish_reason "length"
    │   ├── RefusalError            the model refused
    │   │   └── ContentFiltered     the provider's content filter stopped the answer
    │   ├── ArticleTimeout          one article took longer than article_timeout in all
    │   ├── ArticleTooLong          one article over max_article_chars: it fails alone, before any request
    │   ├── BatchPending            --batch: the article waits for a batch answer (never written)
    │   ├── BatchLineFailed         --batch: the provider failed this article's request   .custom_id
    │   └── LiveRequestBlocked      a live call where none is allowed (tests, strict replay)
    ├── LocalServerError            installing, starting or talking to the local llama-server
    ├── BudgetExceeded              ``--max-cost`` reached: no new article started  .cap .spent (exit 5)
    ├── ScoreThresholdError         ``llmx score --min-f1`` not met, or nothing to score  (exit 4)
    └── CompareRegression           ``llmx compare --fail-if-worse`` found a drop         (exit 4)
"""

from __future__ import annotations

from pathlib import Path


class LlmxError(Exception):
    """Base of every error llmx raises on purpose."""

    exit_code = 1


class UsageError(LlmxError):
    exit_code = 2


class ArticleError(UsageError):
    pass


class ConfigError(UsageError):
    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class PromptError(UsageError):
    pass


class SchemaError(UsageError):
    pass


class GoldError(UsageError):
    pass


class EditConflict(GoldError):
    """An edit in the annotate page made on a version of the gold file that another tab (or an
    editor) has changed since: refused, so neither change is lost; the page reloads the file."""


class RunError(UsageError):
    pass


class RunLocked(RunError):
    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class RunMismatch(RunError):
    def __init__(self, message: str, path: Path, differences: list[str]) -> None:
        super().__init__(message)
        self.path = path
        self.differences = differences


class BatchGone(RunError):
    """The provider answers 404 for a batch or file the run's batch.json names: it will not come back."""


class OutputError(UsageError):
    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class EndpointError(UsageError):
    """The server cannot serve any article (wrong URL, key, path): the run stops at once."""

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class ParameterRejected(EndpointError):
    """HTTP 400 naming a parameter every request carries (max_tokens, temperature, the schema):
    every article would fail the same way, so the run stops at the first, naming the setting."""

    def __init__(self, message: str, url: str | None, param: str) -> None:
        super().__init__(message, url)
        self.param = param


class CassetteError(LlmxError):
    kind = "cassette_error"

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class CassetteMiss(CassetteError):
    exit_code = 3
    kind = "cassette_miss"

    def __init__(self, message: str, article_id: str, folder: Path, change: str) -> None:
        super().__init__(message, folder)
        self.article_id = article_id
        self.change = change


class ModelError(LlmxError):
    """One article's model call failed; the run records it and goes on."""

    kind = "model_error"


class TransientModelError(ModelError):
    kind = "transient"


class InvalidOutputError(ModelError):
    kind = "invalid_output"

    def __init__(self, message: str, last_output: str | None = None) -> None:
        super().__init__(message)
        self.last_output = last_output


class TruncatedOutputError(InvalidOutputError):
    kind = "truncated"


class RefusalError(ModelError):
    kind = "refused"


class ContentFiltered(RefusalError):
    kind = "content_filter"


class ArticleTimeout(ModelError):
    kind = "timeout"


class ArticleTooLong(ModelError):
    """An article longer than ``max_article_chars``: recorded as failed, the run goes on."""

    kind = "too_long"


class BatchPending(ModelError):
    """The request went into a batch; the article is finished when the batch is collected."""

    kind = "batch_pending"


class BatchLineFailed(ModelError):
    kind = "batch_failed"

    def __init__(self, message: str, custom_id: str) -> None:
        super().__init__(message)
        self.custom_id = custom_id


class LiveRequestBlocked(ModelError):
    kind = "blocked"


class LocalServerError(LlmxError):
    pass


class BudgetExceeded(LlmxError):
    """The run folder spent its ``--max-cost``: the articles not started wait for a higher cap."""

    exit_code = 5
    kind = "over_budget"

    def __init__(self, message: str, cap: float, spent: float) -> None:
        super().__init__(message)
        self.cap = cap
        self.spent = spent


class ScoreThresholdError(LlmxError):
    exit_code = 4


class CompareRegression(LlmxError):
    exit_code = 4

    def __init__(self, message: str, regressions: list[str]) -> None:
        super().__init__(message)
        self.regressions = regressions


def _kinds(cls: type[LlmxError]) -> dict[str, type[LlmxError]]:
    found: dict[str, type[LlmxError]] = {}
    for sub in cls.__subclasses__():
        kind = getattr(sub, "kind", None)
        if isinstance(kind, str):
            found.setdefault(kind, sub)
        found.update({k: v for k, v in _kinds(sub).items() if k not in found})
    return found


# failure kind written in a run (``error.kind``) → the error class, whose exit_code the CLI uses
ERROR_KINDS: dict[str, type[LlmxError]] = _kinds(LlmxError)


def error_chain(error: BaseException) -> list[BaseException]:
    """The error and every error it was raised from or during, outermost first (a chain that loops
    back on itself is followed once). Libraries wrap errors (instructor wraps openai's, which wraps
    the HTTP client's); what llmx reports is usually some way down."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
