from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmx.cassettes.folder import CassetteStore
from llmx.cassettes.store import Cassette, canonical_json, describe_change
from llmx.errors import CassetteError

BASE = {
    "model": "m",
    "messages": [{"role": "system", "content": "Extract incidents."}, {"role": "user", "content": "Article"}],
    "response_format": {"type": "json_schema", "json_schema": {"name": "E", "schema": {"type": "object"}}},
    "temperature": 0.0,
    "max_tokens": 100,
}


def canonical_request(kwargs: dict[str, Any], mode: str) -> dict[str, Any]:
    return dict(json.loads(canonical_json(kwargs, mode)[0]))


def key(**changes: object) -> str:
    return canonical_json({**BASE, **changes}, "json_schema")[1]


def test_key_covers_model_messages_schema_and_params_but_not_transport_hints() -> None:
    base = key()
    assert key(model="other") != base
    assert key(temperature=0.5) != base
    assert key(messages=[BASE["messages"][0], {"role": "user", "content": "Article!"}]) != base
    assert key(response_format={"type": "json_schema", "json_schema": {"name": "E", "schema": {}}}) != base
    assert canonical_json(BASE, "tools")[1] != base
    assert key(extra_body={"cache_prompt": False}, extra_headers={"Authorization": "Bearer sk-x"}) == base


def test_canonical_request_stores_no_secrets() -> None:
    request = canonical_request({**BASE, "api_key": "sk-secret", "extra_headers": {"Authorization": "Bearer sk"}}, "m")
    assert "sk" not in json.dumps(request).replace("max_tokens", "")


def cassette(article_id: str = "a1", **request_changes: object) -> Cassette:
    request = canonical_request({**BASE, **request_changes}, "json_schema")
    return Cassette(
        key=canonical_json({**BASE, **request_changes}, "json_schema")[1],
        article_id=article_id,
        attempt=0,
        recorded_at="t",
        latency_s=1.0,
        request=request,
        response={"choices": []},
    )


def test_save_load_roundtrip_is_atomic_and_readable(tmp_path: Path) -> None:
    store = CassetteStore(tmp_path)
    saved = cassette()
    path = store.save(saved)
    assert path.parent.name == "a1" and path.name == saved.key[:20] + ".json"
    assert store.load("a1", saved.key) == saved
    assert not list(tmp_path.rglob("*.tmp"))
    assert json.loads(path.read_text())["request"]["model"] == "m"  # readable JSON, indented
    assert store.load("a1", "0" * 64) is None


def test_corrupt_cassette_names_the_file(tmp_path: Path) -> None:
    store = CassetteStore(tmp_path)
    saved = cassette()
    store.save(saved).write_text('{"version": 1, "key": ')
    with pytest.raises(CassetteError, match=r"a1/.*\.json: corrupt cassette"):
        store.load("a1", saved.key)


def test_article_id_cannot_escape_the_cassette_folder(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="would leave the cassette folder"):
        CassetteStore(tmp_path / "c").path_for("../../etc", "k" * 64)


def test_describe_change_names_what_changed(tmp_path: Path) -> None:
    old = cassette()
    new_prompt = canonical_request(
        {**BASE, "messages": [{"role": "system", "content": "Extract ALL incidents."}, BASE["messages"][1]]},
        "json_schema",
    )
    assert describe_change(old, new_prompt).startswith(
        "system prompt text at char 8: 'Extract incidents.' → 'Extract ALL"
    )
    assert "model 'm' → 'x'" in describe_change(old, canonical_request({**BASE, "model": "x"}, "json_schema"))
    assert "response schema" in describe_change(old, canonical_request({**BASE, "response_format": {}}, "json_schema"))
    assert "parameters" in describe_change(old, canonical_request({**BASE, "temperature": 1}, "json_schema"))
    assert describe_change(None, new_prompt) == "no cassette recorded for this article"


def test_the_key_does_not_depend_on_the_installed_pydantic() -> None:
    """Re-asks quote pydantic's error, which carries pydantic's version in a URL: recordings made
    with one pydantic must replay with another."""

    def reask(version: str) -> dict[str, object]:
        error = (
            "1 validation error for Extraction\n  Value error, the evidence is not in the article "
            f"[type=value_error]\n    For further information visit https://errors.pydantic.dev/{version}/v/value_error"
        )
        return {"model": "m", "messages": [{"role": "user", "content": error}]}

    assert canonical_json(reask("2.13"), "json_schema") == canonical_json(reask("2.14"), "json_schema")
    assert "pydantic.dev" not in canonical_json(reask("2.13"), "json_schema")[0]


def test_token_logprobs_are_kept_small_and_still_read_as_a_chat_completion() -> None:
    from openai.types.chat import ChatCompletion

    from llmx.cassettes.store import allowed_response

    token = {"token": "{", "logprob": -0.25, "bytes": [123], "top_logprobs": [{"token": "[", "logprob": -2.0}]}
    body = {
        "id": "x",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "{}"},
                "finish_reason": "stop",
                "logprobs": {"content": [token]},
            }
        ],
    }
    kept = allowed_response(body)
    assert kept["choices"][0]["logprobs"] == {"content": [{"token": "{", "logprob": -0.25, "top_logprobs": []}]}
    completion = ChatCompletion.model_validate(kept)  # what replay builds from a cassette
    assert completion.choices[0].logprobs is not None and completion.choices[0].logprobs.content[0].logprob == -0.25
