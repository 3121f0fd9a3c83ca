"""What a run cost: tokens priced per model. Prices come from ``[tool.llmx.prices]`` (USD per
million tokens); a model without a price has an unknown cost (None), never a made-up one."""

from __future__ import annotations

from collections.abc import Mapping

from llmx.config import Price
from llmx.results import Usage


def cost_usd(model: str, usage: Usage, prices: Mapping[str, Price]) -> float | None:
    price = prices.get(model)
    if price is None:
        return None
    cached = usage.cached_tokens if price.cached_prompt is not None else 0
    uncached = usage.prompt_tokens - cached
    total = uncached * price.prompt + cached * (price.cached_prompt or 0) + usage.completion_tokens * price.completion
    return round(total / 1e6, 8)
