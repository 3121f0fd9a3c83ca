"""llmx against langextract on the same local model and the same five seeds, both scored by llmx.

Fairness: langextract gets llmx's own rendered system prompt (codebook and rules) as its
prompt description, plus the one worked example it requires (a made-up article, not a seed).
Both run at temperature 0 with one request at a time against the same llama-server, which runs
with --no-cache-prompt (langextract cannot send llama.cpp's cache_prompt flag, and the prompt
cache changes outputs). langextract reports no token counts, so both are measured the same way:
llama-server's /metrics counters before and after.
"""

from __future__ import annotations

import re
import time
import urllib.request
from pathlib import Path
from typing import Any

import llmx
from llmx.core.scoring import Score, score_run
from llmx.inputs.aliases import load_aliases
from llmx.inputs.articles import Article, load_articles
from llmx.inputs.gold import load_gold
from llmx.inputs.prompts import load_prompt
from llmx.inputs.schemas import load_schema
from llmx.model import local_server as local

ROOT = Path(__file__).resolve().parent.parent
# langextract splits text into chunks of at most this many characters and extracts per chunk.
# Its result depends on it strongly (on one seed 1, 2, 3 chunks gave 0, 1, 10 extractions), so
# it is pinned to langextract's own default, 1000: what a user gets, and 2-4 chunks per seed.
MAX_CHAR_BUFFER = 1000
NULLS = {"", "null", "none", "unknown", "n/a", "not reported", "not stated", "not specified"}


def metrics(base_url: str) -> dict[str, float]:
    with urllib.request.urlopen(base_url.removesuffix("/v1") + "/metrics", timeout=10) as response:
        text = response.read().decode()
    values = {}
    for name in ("prompt_tokens_total", "tokens_predicted_total", "requests_processing"):
        match = re.search(rf"^llamacpp:{name}\s+([0-9.e+]+)", text, re.M)
        values[name] = float(match.group(1)) if match else 0.0
    return values


def _example() -> Any:
    import langextract as lx

    text = (
        "Two rockets hit the Victory base near Baghdad airport on Tuesday, injuring one soldier, "
        "officials said. The Kataib Hezbollah group claimed the attack."
    )
    attributes = {
        "date": "null",
        "date_text": "on Tuesday",
        "location": "Victory base",
        "admin_region": "Baghdad",
        "country": "Iraq",
        "attacker": "Kataib Hezbollah",
        "claimed_by": "Kataib Hezbollah",
        "target": "Victory base",
        "weapon": "rocket",
        "intercepted": "false",
        "killed": "null",
        "injured": "1",
    }
    evidence = "Two rockets hit the Victory base near Baghdad airport on Tuesday, injuring one soldier, officials said."
    return lx.data.ExampleData(
        text=text,
        extractions=[lx.data.Extraction(extraction_class="incident", extraction_text=evidence, attributes=attributes)],
    )


def _value(name: str, raw: Any, weapons: set[str]) -> Any:
    """langextract attributes are strings: map them onto the schema ("5" → 5, "unknown" → null)."""
    if raw is None or (isinstance(raw, str) and raw.strip().casefold() in NULLS):
        return None
    text = str(raw).strip()
    if name in ("killed", "injured"):
        return int(text) if text.isdigit() else None
    if name == "intercepted":
        return {"true": True, "yes": True, "false": False, "no": False}.get(text.casefold())
    if name == "weapon":
        return text.casefold() if text.casefold() in weapons else "other"
    return text


def to_records(document: Any, field_names: list[str], weapons: set[str]) -> list[dict[str, Any]]:
    records = []
    for extraction in document.extractions or []:
        attributes = extraction.attributes or {}
        record = {name: _value(name, attributes.get(name), weapons) for name in field_names}
        record["weapon"] = record.get("weapon") or "other"
        record["evidence"] = extraction.extraction_text
        records.append(record)
    return records


def run_langextract(articles: list[Article]) -> dict[str, Any]:
    import langextract as lx

    state = local.up(lambda step: None)
    schema = load_schema("incident", ROOT / "schemas")
    description = load_prompt("incident", ROOT / "prompts").render(Article(id="x", text="x"), schema)[0]["content"]
    config = lx.factory.ModelConfig(
        model_id=state.model,
        provider="openai",
        provider_kwargs={"base_url": state.base_url, "api_key": "x", "temperature": 0.0, "max_workers": 1},
    )
    field_names = [n for n in schema.fields if n != "evidence"]
    weapons = {w.value for w in schema.record_model.model_fields["weapon"].annotation}  # type: ignore[union-attr]
    before, started = metrics(state.base_url), time.perf_counter()
    predictions, failures = {}, {}
    for article in articles:
        try:
            document = lx.extract(
                article.text,
                prompt_description=description,
                examples=[_example()],
                config=config,
                max_char_buffer=MAX_CHAR_BUFFER,
                show_progress=False,
            )
            predictions[article.id] = to_records(document, field_names, weapons)
        except Exception as error:  # a peer's failure is a result to report, not a crash
            predictions[article.id], failures[article.id] = [], f"{type(error).__name__}: {error}"[:200]
    wall, after = time.perf_counter() - started, metrics(state.base_url)
    return _scored(predictions, failures, wall, before, after)


def run_llmx(articles: list[Article], work: Path) -> dict[str, Any]:
    import subprocess
    import sys

    state = local.up(lambda step: None)
    before, started = metrics(state.base_url), time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "llmx",
            "extract",
            str(ROOT / "seeds"),
            "--local",
            "--record",
            "--concurrency",
            "1",
            "--cassettes",
            str(work / "tape"),
            "--out",
            str(work / "run"),
        ],
        cwd=ROOT,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall, after = time.perf_counter() - started, metrics(state.base_url)
    # scored as `llmx score` scores a run folder
    scored = llmx.score(work / "run", project=llmx.load_project(ROOT), gold=ROOT / "gold")
    extracted = sum(len(r.incidents) for r in scored.results)
    return _row(scored.score, extracted, scored.failed, wall, before, after)


def _scored(
    predictions: dict[str, list[dict[str, Any]]],
    failures: dict[str, str],
    wall: float,
    before: dict[str, float],
    after: dict[str, float],
) -> dict[str, Any]:
    schema = load_schema("incident", ROOT / "schemas")
    gold = {aid: records for aid, records in load_gold(ROOT / "gold", schema).items() if aid in predictions}
    score = score_run(
        predictions,
        gold,
        schema.fields,
        load_aliases(ROOT / "schemas" / "aliases.yaml"),
        schema.evidence_field,
        failures=failures,
    )
    return _row(score, sum(len(v) for v in predictions.values()), failures, wall, before, after)


def _row(
    score: Score,
    extracted: int,
    failures: dict[str, str],
    wall: float,
    before: dict[str, float],
    after: dict[str, float],
) -> dict[str, Any]:
    return {
        "incident_p": score.incidents.precision,
        "incident_r": score.incidents.recall,
        "incident_f1": score.incidents.f1,
        "field_macro_f1": score.field_macro_f1,
        "extracted": extracted,
        "failures": failures,
        "wall_s": wall,
        "prompt_tokens": after["prompt_tokens_total"] - before["prompt_tokens_total"],
        "completion_tokens": after["tokens_predicted_total"] - before["tokens_predicted_total"],
    }


def peer_comparison(work: Path) -> dict[str, dict[str, Any]]:
    articles = load_articles([str(ROOT / "seeds")])
    return {"llmx": run_llmx(articles, work), "langextract": run_langextract(articles)}
