"""A checkout with CRLF line endings (git's autocrlf on Windows: every article and template
saved with \\r\\n) replays the cassettes recorded from LF text (issue 33): cassette keys are made
from text with its line endings made plain, which leaves the key of LF text as it always was, so
no shipped cassette changes; a cassette an older llmx recorded from CRLF text still replays; and
a real change is blamed on what changed, not on an older recording's prompt."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from llmx.cassettes.folder import CassetteStore
from llmx.cassettes.gateway import CallLog, ReplayGateway
from llmx.cassettes.store import Cassette, canonical_json, canonical_request, crlf_key, read_cassette
from tests.helpers import ROOT, run_cli


def _crlf(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_file():
            path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def _records(run: Path) -> dict[str, Any]:
    """Each article's records, without the offsets (CRLF text has one more character a line)."""
    out = {}
    for line in (run / "extractions.jsonl").read_text().splitlines():
        item = json.loads(line)
        for incident in item["incidents"]:
            incident.get("grounding", {}).pop("start", None)
            incident.get("grounding", {}).pop("end", None)
        out[item["article_id"]] = (item["status"], item["incidents"])
    return out


def test_a_crlf_checkout_replays_the_lf_recordings(shipped_recordings: None, project: Path) -> None:
    assert run_cli("extract", "seeds/", "--replay", "--out", "runs/lf").exit_code == 0
    _crlf(project / "seeds")
    _crlf(project / "prompts")
    assert b"\r\n" in (project / "prompts" / "incident.jinja").read_bytes()
    result = run_cli("extract", "seeds/", "--replay", "--out", "runs/crlf")
    assert result.exit_code == 0, result.output
    assert _records(project / "runs/crlf") == _records(project / "runs/lf")


def test_every_shipped_cassette_keeps_its_key() -> None:
    """Keys ignore CRLF only: the key of every shipped cassette, made from LF text, is unchanged."""
    paths = sorted((ROOT / "cassettes").rglob("*.json"))
    assert len(paths) > 100
    for path in paths:
        cassette = read_cassette(path)
        assert canonical_request(cassette.request)[1] == cassette.key, path


def _kwargs(text: str) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}], "temperature": 0.0}


def test_the_key_ignores_line_endings_only() -> None:
    lf, crlf = canonical_json(_kwargs("a\nb"), "json_schema"), canonical_json(_kwargs("a\r\nb"), "json_schema")
    assert lf == crlf and "\\r" not in crlf[0]
    assert canonical_json(_kwargs("a b"), "json_schema")[1] != lf[1]
    assert crlf_key(_kwargs("a\nb"), "json_schema") is None
    assert crlf_key(_kwargs("a\r\nb"), "json_schema") not in (None, lf[1])


def test_a_cassette_recorded_from_crlf_text_by_an_older_llmx_still_replays(tmp_path: Path) -> None:
    shipped = read_cassette(next((ROOT / "cassettes" / "000_e376b6ba81a78c64").glob("*.json")))
    kwargs = _kwargs("attack\r\non Friday")
    old_key = crlf_key(kwargs, "json_schema")
    assert old_key is not None
    store = CassetteStore(tmp_path)
    request = {"model": "m", "mode": "json_schema", "messages": kwargs["messages"], "params": {"temperature": 0.0}}
    store.save(
        Cassette(
            key=old_key,
            article_id="a",
            attempt=0,
            recorded_at="2025-01-01T00:00:00+00:00",
            latency_s=0.1,
            served_by={},
            request=request,
            response=shipped.response,
        )
    )
    log = CallLog()
    completion = asyncio.run(ReplayGateway(store, "json_schema").create("a", log, **kwargs))
    assert completion.choices and log.calls[0].key == old_key


def test_a_changed_article_is_blamed_not_an_older_recordings_prompt(shipped_recordings: None, project: Path) -> None:
    """seeds/001 has cassettes of older prompts too: the miss compares with the nearest one (the
    fewest differing messages, then the newest), so it names the article's edit."""
    article = project / "seeds" / "001_d33b1ed68cf8519c.txt"
    article.write_text(article.read_text().replace(" the official ", " an official ", 1))
    result = run_cli("extract", str(article.relative_to(project)), "--replay", "--out", "runs/edit")
    said = " ".join(result.output.split())
    assert result.exit_code == 3 and "user prompt text at char" in said and "an official" in said, said
    assert "system prompt" not in said
