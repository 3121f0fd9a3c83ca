"""Every exception llmx raises, in one place.

Library code raises these; only ``llmx.cli`` catches them, prints one red line and picks the
exit code (``LLMX_DEBUG=1`` shows the traceback instead). Each message says what went wrong,
where, and what to do about it.

    LlmxError                       exit 1 unless noted
    ├── UsageError                  bad input from the user                       (exit 2)
    │   ├── ArticleError            a missing, empty, binary or oversized article, bad JSONL
    │   ├── ConfigError             [tool.llmx] / llmx.toml / option values
    │   ├── PromptError             unknown prompt, template syntax error, undefined variable
    │   ├── SchemaError             unknown schema, schema file that fails to import
    │   ├── GoldError               a gold file that does not validate
    │   └── RunError                a run directory that is missing or unreadable
    ├── CassetteError               a cassette file that is corrupt or from another version
    │   └── CassetteMiss            replay mode and no cassette for this request  (exit 3)
    ├── ModelError                  the model server failed for one article (recorded, run goes on)
    │   ├── TransientModelError     429 / 5xx / timeout / connection: retried, then this
    │   ├── InvalidOutputError      output that never validated after the re-asks
    │   ├── TruncatedOutputError    finish_reason "length"
    │   ├── RefusalError            the model refused
    │   └── LiveRequestBlocked      a live call where none is allowed (tests, strict replay)
    ├── OutputError                 the output directory cannot be written
    ├── LocalServerError            installing, starting or talking to the local llama-server
    └── ScoreThresholdError         ``llmx score --min-f1`` not met                (exit 4)
"""

from __future__ import annotations


class LlmxError(Exception):
    """Base of every error llmx raises on purpose."""

    exit_code = 1


class UsageError(LlmxError):
    exit_code = 2


class ArticleError(UsageError):
    pass


class ConfigError(UsageError):
    pass


class PromptError(UsageError):
    pass


class SchemaError(UsageError):
    pass


class GoldError(UsageError):
    pass


class RunError(UsageError):
    pass


class CassetteError(LlmxError):
    kind = "cassette_error"


class CassetteMiss(CassetteError):
    exit_code = 3
    kind = "cassette_miss"


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


class LiveRequestBlocked(ModelError):
    kind = "blocked"


class OutputError(LlmxError):
    pass


class LocalServerError(LlmxError):
    pass


class ScoreThresholdError(LlmxError):
    exit_code = 4
