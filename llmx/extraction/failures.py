"""What went wrong with one article, dug out of instructor's wrapping: the llmx error inside,
or an invalid-output error naming the first validation problem (never a dump of every attempt)."""

from __future__ import annotations

from instructor.core.exceptions import IncompleteOutputException
from pydantic import ValidationError

from llmx.errors import CassetteError, InvalidOutputError, ModelError, TruncatedOutputError, error_chain


def cause_of(error: BaseException, kind: type[Exception]) -> Exception | None:
    return next((seen for seen in error_chain(error) if isinstance(seen, kind)), None)


def classify(error: BaseException) -> ModelError | CassetteError:
    """Dig the llmx error out of instructor's wrapping; classify the rest."""
    for seen in error_chain(error):
        if isinstance(seen, (ModelError, CassetteError)):
            return seen
    if isinstance(error, IncompleteOutputException):
        return TruncatedOutputError("the answer was cut off at max_tokens; raise max_tokens or shorten the article")
    last = getattr(error, "last_completion", None)
    content = None
    if last is not None and getattr(last, "choices", None):
        content = last.choices[0].message.content
    attempts = getattr(error, "n_attempts", "?")
    return InvalidOutputError(f"output still invalid after {attempts} attempts: {_first_problem(error)}", content)


def _first_problem(error: BaseException) -> str:
    """The first validation error of the first failed attempt, as 'field: message'."""
    for attempt in getattr(error, "failed_attempts", None) or []:
        problem = getattr(attempt, "exception", None)
        if isinstance(problem, ValidationError):
            first = problem.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "answer"
            return f"{where}: {first['msg']}"[:200]
        if problem is not None:
            return (str(problem).strip().splitlines() or [type(problem).__name__])[0][:200]
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:200]
