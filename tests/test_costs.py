"""Cost: prices from genai-prices with [tool.llmx.prices] winning, cached and batch rates, what a
run paid against what its answers cost, and --max-cost stopping a run that resumes with a
higher cap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from genai_prices import Usage as GenaiUsage
from genai_prices import calc_price

from llmx.runs.costs import Budget, Price, PriceBook, price_result
from llmx.runs.results import ArticleResult, Provenance, Usage
from llmx.testing.stub_server import StubServer
from tests.helpers import extract_args, run_cli

USAGE = Usage(prompt_tokens=1_000_000, completion_tokens=200_000, cached_tokens=400_000)


def their_price(model: str, usage: Usage, batch: bool = False) -> float:
    genai = GenaiUsage(
        input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens, cache_read_tokens=usage.cached_tokens
    )
    context = {"processing": "batch"} if batch else None
    return float(calc_price(genai, model, provider_id="openai", price_context=context).total_price)


def test_known_models_cost_what_genai_prices_says_cached_tokens_included() -> None:
    book = PriceBook({})
    assert book.cost("gpt-4o-mini", USAGE) == pytest.approx(their_price("gpt-4o-mini", USAGE))
    uncached = USAGE.model_copy(update={"cached_tokens": 0})
    assert (book.cost("gpt-4o-mini", USAGE) or 0) < (book.cost("gpt-4o-mini", uncached) or 0)


def test_batch_runs_use_the_batch_price_variant() -> None:
    batch = PriceBook({}, batch=True).cost("gpt-4o-mini", USAGE)
    assert batch == pytest.approx(their_price("gpt-4o-mini", USAGE, batch=True))
    assert (batch or 0) < (PriceBook({}).cost("gpt-4o-mini", USAGE) or 0)


def test_configured_price_wins_and_gets_its_batch_discount() -> None:
    prices = {"gpt-4o-mini": Price(prompt=1.0, completion=2.0, cached_prompt=0.5)}
    expected = (600_000 * 1.0 + 400_000 * 0.5 + 200_000 * 2.0) / 1e6
    assert PriceBook(prices).cost("gpt-4o-mini", USAGE) == pytest.approx(expected)
    assert PriceBook(prices, batch=True).cost("gpt-4o-mini", USAGE) == pytest.approx(expected / 2)


def test_an_unknown_model_has_no_price_and_a_self_hosted_url_does_not_make_one_up() -> None:
    book = PriceBook({}, provider_url="http://127.0.0.1:8080/v1")
    assert book.cost("qwen2.5-coder-1.5b-instruct-q4_k_m", USAGE) is None
    assert not book.known("my-finetune")


def _result(model: str, usage: Usage, live: Usage) -> ArticleResult:
    provenance = Provenance(
        model=model, prompt="p", prompt_sha256="", schema="s", schema_sha256="", mode="json_schema", usage=usage
    )
    provenance.live_usage = live
    return ArticleResult(article_id="a", status="ok", provenance=provenance)


def test_a_replayed_article_cost_is_recorded_but_nothing_is_spent() -> None:
    replayed = _result("gpt-4o-mini", USAGE, Usage())
    price_result(replayed, PriceBook({}))
    assert replayed.provenance.cost_usd == pytest.approx(their_price("gpt-4o-mini", USAGE))
    assert replayed.provenance.spent_usd == 0.0
    unknown = _result("mystery", USAGE, USAGE)
    price_result(unknown, PriceBook({}))
    assert unknown.provenance.cost_usd is None and unknown.provenance.spent_usd is None


def test_budget_is_reached_at_the_cap() -> None:
    budget = Budget(cap=0.01, spent=0.004)
    budget.add(0.005)
    assert not budget.reached
    budget.add(0.001)
    assert budget.reached and not Budget(cap=None, spent=99).reached


def test_max_cost_stops_new_articles_then_a_higher_cap_resumes(project: Path, live_requests: None) -> None:
    with StubServer() as server:  # each answer: 100 prompt + 20 completion tokens
        args = extract_args(server.base_url, "runs/b", "--model", "gpt-4o-mini", "--concurrency", "1")
        first = run_cli(*args, "--max-cost", "0.00001")
        assert first.exit_code == 5, first.output
        assert "over budget" in first.output and "4 article(s) not started" in first.output
        manifest = json.loads((project / "runs/b/run.json").read_text())
        assert manifest["status"] == "over_budget" and manifest["summary"]["articles"] == 1
        assert manifest["summary"]["spent_usd"] >= 0.00001
        assert len(server.requests) == 1
        same = run_cli(*args, "--max-cost", "0.00001")
        assert same.exit_code == 5 and len(server.requests) == 1  # the folder already spent its cap
        more = run_cli(*args, "--max-cost", "1")
        assert more.exit_code == 0, more.output
        assert len(server.requests) == 5  # the four left, nothing twice
    summary = json.loads((project / "runs/b/run.json").read_text())["summary"]
    assert summary["articles"] == 5 and summary["spent_usd"] == pytest.approx(summary["cost_usd"])
    assert "cost paid by this run" in more.output and "recorded cost" in more.output


def test_replay_pays_nothing_but_records_the_cost(project: Path, live_requests: None) -> None:
    with StubServer() as server:
        assert run_cli(*extract_args(server.base_url, "runs/live", "--model", "gpt-4o-mini")).exit_code == 0
    replay = run_cli(
        "extract", "seeds/", "--replay", "--cassettes", "tape", "--out", "runs/re", "--model=gpt-4o-mini",
        "--strategy", "single",
    )  # fmt: skip
    assert replay.exit_code == 0, replay.output
    live = json.loads((project / "runs/live/run.json").read_text())["summary"]
    again = json.loads((project / "runs/re/run.json").read_text())["summary"]
    assert again["cost_usd"] == live["cost_usd"] > 0 and again["spent_usd"] == 0
    compare = run_cli("compare", "runs/live", "runs/re")
    assert "cost per incident found" in compare.output and "cost per point of F1" in compare.output


def test_max_cost_with_an_unpriced_model_is_refused_before_any_request(project: Path, live_requests: None) -> None:
    with StubServer() as server:
        result = run_cli(*extract_args(server.base_url, "runs/x", "--model", "my-model", "--max-cost", "1"))
        assert result.exit_code == 2 and "needs a price for model 'my-model'" in result.output
        assert server.requests == []
