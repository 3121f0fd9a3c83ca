"""The model-family table: which parameter names and values each family of models is sent."""

from __future__ import annotations

import pytest

from llmx.model.params import CHAT, REASONING, ModelFamily, family_for, generation_params, setting_for


@pytest.mark.parametrize("model", ["o1", "o1-mini", "o3", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini", "GPT-5-nano"])
def test_reasoning_models_get_max_completion_tokens_and_no_temperature(model: str) -> None:
    assert family_for(model)[1] == REASONING
    assert generation_params(model, 0.0, 2048) == {"max_completion_tokens": 2048}


@pytest.mark.parametrize("model", ["gpt-4o-mini", "gpt-4.1", "qwen2.5-coder-1.5b-instruct-q4_k_m", "qwen2.5:7b"])
def test_chat_models_keep_max_tokens_and_temperature(model: str) -> None:
    assert family_for(model) == ("*", CHAT)
    assert generation_params(model, 0.0, 2048, seed=7) == {"temperature": 0.0, "max_tokens": 2048, "seed": 7}


def test_a_provider_prefix_is_looked_through() -> None:
    assert family_for("openai/o3-mini") == ("o3*", REASONING)


def test_config_entries_come_before_the_built_in_table() -> None:
    overrides = {"prod-o3": REASONING, "gpt-5-chat*": ModelFamily(token_limit="max_completion_tokens")}
    assert family_for("prod-o3", overrides) == ("prod-o3", REASONING)
    assert family_for("prod-o3") == ("*", CHAT)  # the deployment name alone says nothing
    assert generation_params("gpt-5-chat-latest", 0.2, 100, overrides=overrides) == {
        "temperature": 0.2,
        "max_completion_tokens": 100,
    }


def test_the_same_model_always_gets_the_same_parameters() -> None:
    # The parameters are part of every cassette key: they depend on nothing but the model and settings.
    assert generation_params("gpt-5-mini", 0.0, 512) == generation_params("gpt-5-mini", 0.0, 512)


def test_setting_for_names_the_config_key_of_each_refused_parameter() -> None:
    assert (
        setting_for("max_tokens", "m")
        == '[tool.llmx.model_params] "m" = { token_limit = "max_completion_tokens" } in the config'
    )
    assert 'token_limit = "max_tokens"' in setting_for("max_completion_tokens", "m")
    assert "temperature = false" in setting_for("temperature", "m")
    assert setting_for("response_format", "m").startswith("strict = false in [tool.llmx] (or --no-strict)")
    assert setting_for("tools[0].function.parameters", "m").startswith("strict = false")
    assert setting_for("reasoning_effort", "m") == "extra_body in [tool.llmx]"
