"""Every form a key can take stays out of everything llmx writes or prints: run.json, cassettes
(``served_by``, the answer), results, exports, the page, the batch files and the terminal."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from llmx.core.redact import Redactor, forms, looks_like_secret, public_url, url_secrets
from llmx.testing.batch_stub import BatchStub
from llmx.testing.fake_model import Reply, schema_answer
from llmx.testing.stub_server import StubServer
from tests.helpers import extract_args, run_cli

SEED = "seeds/000_e376b6ba81a78c64.txt"
KEY = "sk-llmx/leak+SECRET=4242"  # '/', '+' and '=' so that its URL-encoded and JSON forms differ


def leaked(project: Path, output: str, secret: str) -> list[str]:
    """Every file under the project, and the output, that holds a form of ``secret``."""
    found = [f"output: {form!r}" for form in forms(secret) if form in output]
    for path in project.rglob("*"):
        if path.is_file() and "schemas" not in path.parts:
            text = path.read_text(errors="replace")
            found += [f"{path}: {form!r}" for form in forms(secret) if form in text]
    return found


def everything_after(project: Path, run: str) -> str:
    """score, view, export of a run: their output (the files they write are scanned too)."""
    outputs = [run_cli("score", run, "--details"), run_cli("view", run), run_cli("export", run)]
    return "".join(r.output for r in outputs)


@pytest.mark.parametrize("segment", ["sk-proj-path-SECRET-0001", "Zq8xVt3LmN0pRs7WuY2b", "plainkey42"])
def test_a_key_in_the_base_url_path_reaches_no_file(project: Path, live_requests: None, segment: str) -> None:
    env = {"OPENAI_API_KEY": segment} if segment == "plainkey42" else {}  # not token-like: known as the key
    with StubServer() as server:
        url = server.base_url.replace("/v1", f"/k/{segment}/v1")
        result = run_cli(*extract_args(url, "runs/p", "--format", "csv", inputs=SEED), env=env)
        assert result.exit_code == 0, result.output
        assert segment in server.paths[0]  # it was really used
    output = result.output + everything_after(project, "runs/p")
    assert leaked(project, output, segment) == []
    assert "/k/***/v1" in (project / "runs/p/run.json").read_text()


def test_a_key_a_proxy_echoes_into_the_answer_reaches_no_file(project: Path, live_requests: None) -> None:
    encoded = base64.b64encode(f"user:{KEY}".encode()).decode()

    def echo(body: dict[str, Any], number: int) -> Reply:
        # the key as is, URL-encoded and in a Basic auth header, in fields the checks null and list
        return schema_answer(body, location=KEY, target=f"key={quote(KEY, safe='')}", attacker=f"Basic {encoded}")

    with StubServer(script=echo) as server:
        result = run_cli(*extract_args(server.base_url, "runs/e", inputs=SEED), env={"OPENAI_API_KEY": KEY})
        assert result.exit_code == 0, result.output
    output = result.output + everything_after(project, "runs/e")
    assert leaked(project, output, KEY) == []
    assert "***" in (project / "runs/e/extractions.jsonl").read_text()
    replay = run_cli("extract", SEED, "--replay", "--strategy", "single", "--cassettes", "tape", "--out", "runs/e2")
    assert replay.exit_code == 0  # the redacted answer is what was recorded, and it replays


def test_a_key_echoed_by_a_batch_provider_reaches_no_file(project: Path, live_requests: None) -> None:
    with BatchStub(script=lambda body, n: schema_answer(body, location=KEY)) as stub:
        args = ["extract", SEED, "--batch", "--base-url", stub.base_url, "--cassettes", "tape", "--out", "runs/b"]
        result = run_cli(*args, "--poll", "0.01", env={"OPENAI_API_KEY": KEY})
        assert result.exit_code == 0, result.output
    assert leaked(project, result.output, KEY) == []


def test_an_error_naming_the_key_is_redacted_on_the_terminal(project: Path, live_requests: None) -> None:
    echo = Reply(fault="status", status=401, error_message=f"bad key {quote(KEY, safe='')} in /k/{KEY}/v1")
    with StubServer(script=lambda body, n: echo) as server:
        result = run_cli(*extract_args(server.base_url, "runs/x", inputs=SEED), env={"OPENAI_API_KEY": KEY})
    assert result.exit_code == 2 and "bad key ***" in result.output
    assert leaked(project, result.output, KEY) == []


def test_what_looks_like_a_credential_and_what_does_not() -> None:
    assert looks_like_secret("sk-proj-abc123DEF456") and looks_like_secret("0123456789abcdef0123456789abcdef")
    assert not looks_like_secret("v1") and not looks_like_secret("gpt-4o-mini-2024-07-18")
    assert not looks_like_secret("deployments") and not looks_like_secret("my-deployment")
    assert (
        public_url("https://h.example/k/sk-proj-abc123DEF456/v1?api_key=x") == "https://h.example/k/***/v1?api_key=***"
    )
    assert Redactor([KEY]).text(f"a {quote(KEY, safe='')} b {KEY}") == "a *** b ***"
    # the edges of "looks like a credential": 12 characters, 16 with three kinds, 32 with two
    assert looks_like_secret("sk-abcdefghi") and not looks_like_secret("sk-abcdefgh")  # 12 vs 11 with a key prefix
    assert looks_like_secret("Abcdefgh1234567x") and not looks_like_secret("Abcdefgh123456x")  # 16 vs 15, three kinds
    assert not looks_like_secret("abcdefgh12345678")  # 16, two kinds: needs 32
    assert looks_like_secret("a" * 16 + "1" * 16) and not looks_like_secret("a" * 16 + "1" * 15)
    assert not looks_like_secret("abc def ghi jkl mno")  # not token characters
    assert url_secrets("https://user:pass@h.example:8443/v1/sk-proj-abc123DEF456?key=k-123&empty=") == [
        "user",
        "pass",
        "k-123",
        "sk-proj-abc123DEF456",
    ]  # a blank value and one under 4 characters are no secrets to replace
    assert url_secrets(None) == [] and url_secrets("http://[::1") == [] and url_secrets("https://h/?k=abc") == []
    assert public_url("https://u:p@h.example:8443/v1?a=1&b=") == "https://h.example:8443/v1?a=***&b=***"
    assert public_url("http://[::1") == "***"
    secret = "tok/en 42+"
    encoded = base64.b64encode(f":{secret}".encode()).decode()
    assert forms(secret) >= {secret, "tok%2Fen%2042%2B", "tok%2Fen+42%2B", encoded, encoded.rstrip("=")}
    assert forms('a"b\\c') >= {'a\\"b\\\\c'}  # JSON-escaped
    redactor = Redactor(["abcd", "abc", None, "abcdef"])
    assert redactor.secrets == ["abcdef", "abcd"] and redactor.text("abcdef abcd abc") == "*** *** abc"
    said = "see https://u:pw@h.example/v1 and https://h.example/v1?k=v and https://h.example/v1 ok"
    assert (
        Redactor().text(said) == "see https://h.example/v1 and https://h.example/v1?k=*** and https://h.example/v1 ok"
    )
    assert Redactor(["abcdef"]).json({"abcdef": ["x abcdef", 3, {"k": None}], 4: "abcdef"}) == {
        "***": ["x ***", 3, {"k": None}],
        4: "***",
    }


def test_redacting_json_finds_a_secret_at_any_depth_and_leaves_clean_values_alone() -> None:
    clean = {"choices": [{"logprobs": {"content": [{"token": "é", "logprob": -0.1}] * 50}}], "n": 1.5}
    assert Redactor(["sk-secret-1234"]).json(clean) is clean  # nothing to redact: not copied
    deep = {"a": [{"b": ["x sk-secret-1234 y"]}], "url": "no scheme"}
    assert Redactor(["sk-secret-1234"]).json(deep) == {"a": [{"b": ["x *** y"]}], "url": "no scheme"}
    # JSON escapes the quote and keeps "é" raw: the key still goes, and so does a URL's password
    quoted = 'pé"ss-1234'
    assert Redactor([quoted]).json({"k": [f"say {quoted}!"]}) == {"k": ["say ***!"]}
    assert Redactor().json({"k": ["https://u:pw@h.example/v1"]}) == {"k": ["https://h.example/v1"]}
    assert Redactor(["abcdef"]).json({"k": {1, 2}}) == {"k": {1, 2}}  # not JSON: walked, kept


def test_redaction_takes_the_longest_secret_first_and_every_credential_a_url_carries() -> None:
    # one secret the tail of another: the longer goes whole, not around the shorter
    assert Redactor(["abcdef123", "bcdef123"])("x abcdef123 y") == "x *** y"
    assert Redactor(["abcdef123"]).text("") == ""
    url = "https://h.example/v1?key=qk-secret-77"  # given with "=", its own "=" is the URL's
    assert Redactor.from_environment({}, [f"--base-url={url}"]).secrets == ["qk-secret-77"]
    assert set(Redactor.for_endpoint("sk-live-1234", url).secrets) == {"qk-secret-77", "sk-live-1234"}
    # a credential in a URL's path alone (no user, no query) is found in any text, with no secret known
    said = "call https://h.example/k/sk-proj-abcdef123456/v1 failed"
    assert Redactor().text(said) == "call https://h.example/k/***/v1 failed"
    assert public_url("file:///tmp/x?key=abc12345") == "file:///tmp/x?key=***"  # a URL without a host keeps none
