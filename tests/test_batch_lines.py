"""Every malformed shape of a Batch API output line is named by file, line and ``custom_id``, and
costs only the request it may have answered (issue 33): a line with neither ``response`` nor
``error`` is "malformed", never "HTTP None: {}"."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmx.testing.batch_stub import BatchStub
from tests.helpers import run_cli
from tests.test_batch_recovery import BROKEN, batch_args, statuses


@pytest.fixture(autouse=True)
def _live(live_requests: None) -> None:
    """Every test here talks to the stub on 127.0.0.1."""


def reshape(change: Callable[[dict[str, Any]], Any]) -> Callable[[list[str]], list[str]]:
    """The broken article's output line, changed by ``change`` (its return value is the new line)."""

    def mangle(lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            item = json.loads(line)
            out.append(json.dumps(change(item)) + "\n" if BROKEN in item["custom_id"] else line)
        return out

    return mangle


def without(*names: str) -> Callable[[dict[str, Any]], Any]:
    return lambda item: {k: v for k, v in item.items() if k not in names}


def replace(**values: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda item: {**item, **values}


def in_response(**values: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda item: {**item, "response": {**item["response"], **values}}


# (shape, change, words of the article's failure): the line is matched by its custom_id, so the
# failure names the line and the custom_id
FAILS_THE_REQUEST = [
    ("neither response nor error", without("response", "error"), "it has neither 'response' nor 'error'"),
    ("response null, error null", replace(response=None, error=None), "it has neither 'response' nor 'error'"),
    ("response a string", replace(response="ok"), "'response' is a string, not an object"),
    ("no status_code", in_response(status_code=None), "'response' has no status_code"),
    ("status_code a string", in_response(status_code="200"), "'response' has no status_code (it has a string)"),
    ("body a list", in_response(body=[1]), "'response.body' is an array, not a chat completion"),
    ("body not a completion", in_response(body={"hello": 1}), "'response.body' is not a chat completion"),
]


@pytest.mark.parametrize(("shape", "change", "words"), FAILS_THE_REQUEST, ids=[c[0] for c in FAILS_THE_REQUEST])
def test_a_malformed_line_fails_its_request_naming_line_and_custom_id(
    project: Path, shape: str, change: Callable[[dict[str, Any]], Any], words: str
) -> None:
    with BatchStub(mangle=reshape(change)) as stub:
        result = run_cli(*batch_args(stub, "runs/b"))
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert words in said and "is malformed" in said and f"(custom_id '{BROKEN}/" in said, said
    assert "batch output file file-" in said and "line " in said
    assert "HTTP None" not in said and "{}" not in said
    done = statuses(project / "runs/b")
    assert done.pop(BROKEN) == "failed" and set(done.values()) == {"ok"}


# (shape, change, words of the skipped line): no custom_id to match, so the line is skipped and
# listed, and its request fails "no answer", saying lines could not be read
SKIPPED = [
    ("an array", lambda item: [item], "malformed: an array, not an object with a custom_id"),
    ("no custom_id", without("custom_id"), "malformed: no custom_id"),
    ("custom_id a number", replace(custom_id=7), "malformed: custom_id is a number, not a string"),
    ("unknown custom_id", replace(custom_id="nobody/0000"), "answers custom_id 'nobody/0000', not sent"),
]


@pytest.mark.parametrize(("shape", "change", "words"), SKIPPED, ids=[c[0] for c in SKIPPED])
def test_a_line_that_names_no_request_is_skipped_and_listed(
    project: Path, shape: str, change: Callable[[dict[str, Any]], Any], words: str
) -> None:
    with BatchStub(mangle=reshape(change)) as stub:
        result = run_cli(*batch_args(stub, "runs/b"))
        said = " ".join(result.output.split())
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert "batch output skipped batch output file file-" in said and words in said, said
        assert "1 output line could not be read" in said
        stub.mangle = lambda lines: lines
        again = run_cli(*batch_args(stub, "runs/b"))  # the next run asks the request again
    assert again.exit_code == 0, again.output
    assert set(statuses(project / "runs/b").values()) == {"ok"}


def test_a_provider_failure_line_gives_the_providers_words(project: Path) -> None:
    failed = replace(response=None, error={"code": "batch_expired", "message": "This line was not run in time."})
    with BatchStub(mangle=reshape(failed)) as stub:
        result = run_cli(*batch_args(stub, "runs/b"))
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "the provider failed it: This line was not run in time." in said, said
    assert "malformed" not in said
