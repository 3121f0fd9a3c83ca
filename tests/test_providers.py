"""``llmx extract`` against stubs of real providers (OpenAI, Azure OpenAI, Ollama, vLLM) on
127.0.0.1: the requests llmx sends pass each provider's rules, and what a provider refuses
stops the run with the setting that fixes it."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from llmx.errors import ModelError, ParameterRejected
from llmx.model.retry import RetryPolicy
from llmx.model.server import ModelServer, make_client
from llmx.runs.results import Recipe
from llmx.testing.provider_stubs import AzureOpenAIStub, OllamaStub, OpenAIStub, VLLMStub, openai_error
from llmx.testing.stub_server import StubServer
from tests.helpers import extract_args, run_cli

SEEDS = 5


@pytest.fixture(autouse=True)
def _live(live_requests: None) -> None:
    """Every test here talks to a stub on 127.0.0.1."""


def lines(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "extractions.jsonl").read_text().splitlines()]


def error_line(output: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith("error:")]
    return line


def add_config(project: Path, text: str) -> None:
    with (project / "pyproject.toml").open("a") as config:
        config.write("\n" + text + "\n")


@pytest.mark.parametrize(
    "model, sent, not_sent",
    [
        ("gpt-4o-mini", {"max_tokens": 2048, "temperature": 0.0}, ["max_completion_tokens"]),
        ("gpt-5-mini", {"max_completion_tokens": 2048}, ["max_tokens", "temperature"]),
        ("o4-mini", {"max_completion_tokens": 2048}, ["max_tokens", "temperature"]),
    ],
)
def test_openai_models_extract_strictly_with_no_rejected_request(
    project: Path, model: str, sent: dict[str, Any], not_sent: list[str]
) -> None:
    with OpenAIStub() as server:
        result = run_cli(*extract_args(server.base_url, "runs/a", "--model", model, "--strict"))
        assert result.exit_code == 0, result.output
        assert len(server.requests) == SEEDS and set(server.statuses) == {200}  # no 400, no retry
        for body in server.requests:
            assert body["response_format"]["json_schema"]["strict"] is True
            assert {name: body.get(name) for name in sent} == sent and not set(not_sent) & set(body)
        again = run_cli(*extract_args(server.base_url, "runs/b", "--model", model, "--strict"))
        assert again.exit_code == 0 and len(server.requests) == SEEDS  # same model, same keys: all replayed
    assert all(r["status"] == "ok" for r in lines(project / "runs" / "a"))


def test_tools_mode_sends_a_strict_function_openai_accepts(project: Path) -> None:
    with OpenAIStub() as server:
        args = extract_args(server.base_url, "runs/t", "--model", "gpt-4o-mini", "--mode", "tools", "--strict")
        result = run_cli(*args)
        assert result.exit_code == 0, result.output
        assert set(server.statuses) == {200} and len(server.requests) == SEEDS
        assert all(body["tools"][0]["function"]["strict"] is True for body in server.requests)


def test_strict_is_on_by_default_in_a_project_that_does_not_set_it(project: Path) -> None:
    config = project / "pyproject.toml"
    config.write_text(config.read_text().replace("\nstrict = false\n", "\n"))
    with OpenAIStub() as server:
        result = run_cli(*extract_args(server.base_url, "runs/d", "--model", "gpt-4o-mini"))
        assert result.exit_code == 0, result.output
        assert all(body["response_format"]["json_schema"]["strict"] is True for body in server.requests)
    assert json.loads((project / "runs" / "d" / "run.json").read_text())["recipe"]["strict"] is True


def test_resuming_a_run_with_strict_switched_is_refused(project: Path) -> None:
    with OpenAIStub() as server:
        assert run_cli(*extract_args(server.base_url, "runs/r", "--model", "gpt-4o-mini", "--strict")).exit_code == 0
        switched = run_cli(*extract_args(server.base_url, "runs/r", "--model", "gpt-4o-mini", "--no-strict"))
    assert switched.exit_code == 2 and "strict True → None" in switched.output


def test_a_recipe_without_strict_hashes_as_before_strict_existed() -> None:
    recipe = Recipe(model="m", prompt="p", prompt_sha256="a", schema_name="s", schema_sha256="b", mode="json_schema")
    before = hashlib.sha256(recipe.model_dump_json(exclude={"strict", "prompt_files"}).encode()).hexdigest()
    assert recipe.sha256 == before  # old run folders still resume
    assert recipe.model_copy(update={"strict": True}).sha256 != before


def test_strict_is_part_of_the_key_so_the_project_keeps_it_off_for_its_cassettes(
    shipped_recordings: None, project: Path
) -> None:
    assert run_cli("extract", "seeds/", "--out", "runs/plain").exit_code == 0  # strict = false in pyproject
    strict = run_cli("extract", "seeds/000_e376b6ba81a78c64.txt", "--strict", "--out", "runs/strict")
    assert strict.exit_code == 3 and "response schema" in strict.output


NOTED = """
class Noted(Incident):
    note: str | None = Field(None, description="Anything else worth keeping.")


class Extraction(BaseModel):
    incidents: list[Noted] = Field(description="Every distinct attack the article reports.")
"""


def test_a_schema_with_a_defaulted_field_is_refused_before_any_request(project: Path) -> None:
    source = (project / "schemas" / "incident.py").read_text().split("class Extraction")[0]
    (project / "schemas" / "noted.py").write_text(source + NOTED)
    with OpenAIStub() as server:
        result = run_cli(
            *extract_args(server.base_url, "runs/n", "--model", "gpt-4o-mini", "--schema", "noted", "--strict")
        )
        assert server.requests == []
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert error_line(result.output).startswith("error: schemas/noted.py: field 'note' has a default;")
    assert "or set strict = false" in result.output and not (project / "runs" / "n").exists()
    # with strict = false (the project's) the schema loads as before; replay then misses: another schema
    assert run_cli("extract", "seeds/", "--schema", "noted", "--out", "runs/m").exit_code == 3


def test_a_400_naming_a_parameter_is_not_retried_and_stops_the_run_with_the_setting(project: Path) -> None:
    add_config(project, '[tool.llmx.model_params]\n"gpt-5*" = { token_limit = "max_tokens" }')
    with OpenAIStub() as server:
        args = extract_args(server.base_url, "runs/p", "--model", "gpt-5-mini", "--concurrency", "1")
        result = run_cli(*args)
        assert server.statuses == [400]  # one request: not retried, no other article tried
    assert result.exit_code == 2
    line = error_line(result.output)
    assert "Unsupported parameter: 'max_tokens' is not supported with this model" in line
    assert 'set [tool.llmx.model_params] "gpt-5-mini" = { token_limit = "max_completion_tokens" }' in line
    assert "API call failed" not in result.output  # instructor's own log line does not double ours


def post(base_url: str, body: dict[str, Any]) -> dict[str, Any]:
    server = ModelServer(make_client("sk-test", base_url, 5), RetryPolicy(max_attempts=3, initial_wait=0.001))

    async def go() -> dict[str, Any]:
        try:
            return await server.post(body)
        finally:
            await server.aclose()

    return asyncio.run(go())


def test_a_schema_openai_refuses_under_strict_names_strict_false() -> None:
    schema = {"type": "object", "properties": {"note": {"type": "string", "default": ""}}, "required": []}
    fmt = {"type": "json_schema", "json_schema": {"name": "Extraction", "schema": schema, "strict": True}}
    with OpenAIStub() as server, pytest.raises(ParameterRejected) as raised:
        post(server.base_url, {"model": "gpt-4o-mini", "messages": [], "response_format": fmt})
    assert raised.value.param == "response_format" and server.statuses == [400]
    assert "Invalid schema for response_format 'Extraction'" in str(raised.value)
    assert "strict = false in [tool.llmx]" in str(raised.value)


class TooLong(StubServer):
    def refuse(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, Any] | None:
        return 400, openai_error(
            "This model's maximum context length is 8192 tokens.", "messages", "context_length_exceeded"
        )


def test_a_400_about_one_articles_text_fails_that_article_only() -> None:
    with TooLong() as server, pytest.raises(ModelError) as raised:
        post(server.base_url, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]})
    assert not isinstance(raised.value, ParameterRejected) and "maximum context length" in str(raised.value)


def azure_args(server: AzureOpenAIStub, out: str, deployment: str) -> list[str]:
    return [*extract_args(server.base_url, out, "--model", deployment, "--api-version", "2024-10-21", "--strict")]


def test_azure_openai_deployment_in_the_path_key_in_api_key(project: Path) -> None:
    with AzureOpenAIStub(models={"extractor": "gpt-4o-mini"}) as server:
        result = run_cli(*azure_args(server, "runs/az", "extractor"), env={"AZURE_OPENAI_API_KEY": "azure-secret"})
        assert result.exit_code == 0, result.output
        assert set(server.statuses) == {200} and len(server.requests) == SEEDS
        assert set(server.paths) == {"/openai/deployments/extractor/chat/completions?api-version=2024-10-21"}
        assert all(h["api-key"] == "azure-secret" and "authorization" not in h for h in server.headers)
    manifest = json.loads((project / "runs" / "az" / "run.json").read_text())
    assert manifest["settings"]["api_version"] == "2024-10-21"
    assert "azure-secret" not in (project / "runs" / "az" / "run.json").read_text()


def test_an_azure_reasoning_deployment_is_set_in_model_params(project: Path) -> None:
    env = {"AZURE_OPENAI_API_KEY": "azure-secret"}
    with AzureOpenAIStub(models={"prod-o3": "o3-mini"}) as server:
        refused = run_cli(*azure_args(server, "runs/o3", "prod-o3"), "--concurrency", "1", env=env)
        assert refused.exit_code == 2 and server.statuses == [400]
        assert '[tool.llmx.model_params] "prod-o3" = { token_limit = "max_completion_tokens" }' in refused.output
        add_config(
            project,
            '[tool.llmx.model_params]\n"prod-o3" = { token_limit = "max_completion_tokens", temperature = false }',
        )
        fixed = run_cli(*azure_args(server, "runs/o3b", "prod-o3"), env=env)
        assert fixed.exit_code == 0, fixed.output
        assert server.statuses.count(200) == SEEDS and server.statuses.count(400) == 1


def test_azure_needs_a_base_url(project: Path) -> None:
    result = run_cli("extract", "seeds/", "--api-version", "2024-10-21", env={"AZURE_OPENAI_API_KEY": "k"})
    assert result.exit_code == 2 and "--base-url https://<resource>.openai.azure.com/openai" in result.output


@pytest.mark.parametrize(
    "stub, model", [(OllamaStub, "qwen2.5:7b"), (VLLMStub, "Qwen/Qwen2.5-7B-Instruct")], ids=["ollama", "vllm"]
)
@pytest.mark.parametrize("strict", ["--strict", "--no-strict"])
def test_grammar_servers_extract_the_seeds(project: Path, stub: type[StubServer], model: str, strict: str) -> None:
    with stub() as server:
        # an OPENAI_API_VERSION left set for other tools does not turn the server into "Azure"
        env = {"OPENAI_API_VERSION": "2024-10-21"}
        result = run_cli(*extract_args(server.base_url, "runs/g", "--model", model, strict), env=env)
        assert result.exit_code == 0, result.output
        assert set(server.statuses) == {200} and len(server.requests) == SEEDS
        flagged = ["strict" in body["response_format"]["json_schema"] for body in server.requests]
        assert flagged == [strict == "--strict"] * SEEDS  # accepted (and ignored) either way
    assert [r["status"] for r in lines(project / "runs" / "g")] == ["ok"] * SEEDS


@pytest.mark.parametrize(
    "stub, needle",
    [(OllamaStub, 'model "gpt-4o-mini" not found, try pulling it first'), (VLLMStub, "does not exist")],
    ids=["ollama", "vllm"],
)
def test_a_model_the_server_does_not_have_stops_the_run(project: Path, stub: type[StubServer], needle: str) -> None:
    with stub() as server:
        result = run_cli(*extract_args(server.base_url, "runs/x", "--model", "gpt-4o-mini", "--concurrency", "1"))
        assert server.statuses == [404]
    assert result.exit_code == 2 and needle in error_line(result.output)
