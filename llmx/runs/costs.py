"""What answers cost: tokens priced per model, in USD.

Prices come from the ``genai-prices`` package (its bundled table: no network), and
``[tool.llmx.prices]`` wins over it for any model it names. A model neither knows has an
unknown cost (``None``), never a made-up one.

- Cached prompt tokens are priced at the cached rate where the table has one.
- Batch runs (``--batch``) are priced at the batch rate: genai-prices' ``processing: batch``
  price variant when the model has one, else :data:`BATCH_DISCOUNT` off (the OpenAI Batch API's
  published 50%), and for a configured price its ``batch_discount``.
- The provider is the one genai-prices knows for the endpoint's URL (api.openai.com, ...); for
  any other URL (a self-hosted server, a cluster) it is guessed from the model name alone, which
  matches hosted names such as ``gpt-4o-mini`` and not open-weights ones. A self-hosted model
  named like a hosted one should get its own price (0) in ``[tool.llmx.prices]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from llmx.runs.results import ArticleResult, Usage

BATCH_DISCOUNT = 0.5  # fraction off for batch processing when the price table has no batch price


class Price(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(extra="forbid")

    prompt: float = Field(ge=0)
    completion: float = Field(ge=0)
    cached_prompt: float | None = Field(None, ge=0)
    # fraction off in --batch runs; 0.5 is the OpenAI Batch API's published discount
    batch_discount: float = Field(0.5, ge=0, le=1)


@dataclass(frozen=True)
class Rate:
    """USD per million tokens, flat (no tiers)."""

    prompt: float
    completion: float
    cached_prompt: float | None = None

    def cost(self, usage: Usage) -> float:
        cached = usage.cached_tokens if self.cached_prompt is not None else 0
        uncached = usage.prompt_tokens - cached
        total = uncached * self.prompt + cached * (self.cached_prompt or 0) + usage.completion_tokens * self.completion
        return round(total / 1e6, 8)

    def scaled(self, factor: float) -> Rate:
        cached = self.cached_prompt * factor if self.cached_prompt is not None else None
        return Rate(self.prompt * factor, self.completion * factor, cached)


class PriceBook:
    """Prices for one run: config first, then genai-prices; batch rates when ``batch``.

    A model's rate is looked up once: pricing a replayed article must cost microseconds (a
    genai-prices calculation per article would add ~0.6 s to replaying 10,000 articles)."""

    def __init__(self, configured: Mapping[str, Price], batch: bool = False, provider_url: str | None = None) -> None:
        self.configured = configured
        self.batch = batch
        self.provider_url = provider_url
        self._rates: dict[str, Rate | _Tiered | None] = {}

    def known(self, model: str) -> bool:
        return self._rate(model) is not None

    def cost(self, model: str, usage: Usage) -> float | None:
        rate = self._rate(model)
        return None if rate is None else rate.cost(usage)

    def _rate(self, model: str) -> Rate | _Tiered | None:
        if model not in self._rates:
            self._rates[model] = self._configured(model) or _from_genai_prices(model, self.batch, self.provider_url)
        return self._rates[model]

    def _configured(self, model: str) -> Rate | None:
        price = self.configured.get(model)
        if price is None:
            return None
        rate = Rate(price.prompt, price.completion, price.cached_prompt)
        return rate.scaled(1 - price.batch_discount) if self.batch else rate


@dataclass(frozen=True)
class _Tiered:
    """A price with tiers (it depends on the request's size): priced by genai-prices each time."""

    model: Any
    provider: Any
    context: dict[str, str] | None
    factor: float

    def cost(self, usage: Usage) -> float:
        calculation = self.model.calc_price(_genai_usage(usage), self.provider, price_context=self.context)
        return round(float(calculation.total_price) * self.factor, 8)


def _genai_usage(usage: Usage) -> Any:
    from genai_prices import Usage as GenaiUsage

    return GenaiUsage(
        input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens, cache_read_tokens=usage.cached_tokens
    )


def _from_genai_prices(model: str, batch: bool, provider_url: str | None) -> Rate | _Tiered | None:
    from genai_prices.data_snapshot import get_snapshot

    snapshot = get_snapshot()
    found = None
    for url in (provider_url, None):
        try:
            found = snapshot.find_provider_model(model, None, None, url)
            break
        except LookupError:
            continue
    if found is None:
        return None
    provider, info = found
    has_batch = any(v.when.get("processing") == "batch" for v in info.price_variants or ())
    context = {"processing": "batch"} if batch and has_batch else None
    factor = 1 - BATCH_DISCOUNT if batch and not has_batch else 1.0
    price = info.get_prices(datetime.now(UTC), context)
    values = (getattr(price, "input_mtok", None), getattr(price, "output_mtok", None))
    if values == (None, None):
        return None  # priced by other units only (audio, images): not a token price to guess from
    cached = getattr(price, "cache_read_mtok", None)
    if all(_flat(v) for v in values) and (cached is None or _flat(cached)):
        rate = Rate(float(values[0] or 0), float(values[1] or 0), float(cached) if cached is not None else None)
        return rate.scaled(factor) if factor != 1.0 else rate
    return _Tiered(info, provider, context, factor)


def _flat(value: Any) -> bool:
    from decimal import Decimal

    return value is None or isinstance(value, Decimal)


def price_result(result: ArticleResult, book: PriceBook, paid: Usage | None = None) -> None:
    """Fill in the article's recorded cost (every answer, replayed ones too) and what this run
    paid (``paid``, by default its live calls). A replayed article paid nothing, priced or not."""
    p = result.provenance
    p.cost_usd = book.cost(p.model, p.usage)
    spent_on = paid if paid is not None else p.live_usage
    nothing = spent_on.prompt_tokens == 0 and spent_on.completion_tokens == 0
    p.spent_usd = 0.0 if nothing else book.cost(p.model, spent_on)


@dataclass
class Budget:
    """``--max-cost``: what a run folder may spend. Checked when an article finishes, so the
    articles in flight when it is reached still finish (their tokens are already paid for)."""

    cap: float | None
    spent: float = 0.0

    def add(self, amount: float | None) -> None:
        self.spent = round(self.spent + (amount or 0.0), 8)

    @property
    def reached(self) -> bool:
        return self.cap is not None and self.spent >= self.cap
