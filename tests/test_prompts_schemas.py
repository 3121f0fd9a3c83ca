from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmx.errors import PromptError, SchemaError
from llmx.inputs.articles import Article
from llmx.inputs.prompts import load_prompt
from llmx.inputs.schemas import load_schema
from tests.helpers import ROOT

SCHEMA = load_schema("incident", ROOT / "schemas")


def test_prompt_renders_system_and_user_with_codebook_and_article() -> None:
    prompt = load_prompt("incident", ROOT / "prompts")
    article = Article(id="x1", text="Rockets hit the base.", date=None)
    system, user = prompt.render(article, SCHEMA)
    assert system["role"] == "system" and user["role"] == "user"
    assert "- killed: People killed; 0 if the article says none" in system["content"]
    assert "Rockets hit the base." in user["content"] and "Published: unknown" in user["content"]


def test_article_text_is_data_not_template(tmp_path: Path) -> None:
    prompt = load_prompt("incident", ROOT / "prompts")
    hostile = "{{ 7*7 }} {% for x in range(3) %}loop{% endfor %} {{ ''.__class__.__mro__ }}"
    _, user = prompt.render(Article(id="h", text=hostile), SCHEMA)
    assert hostile in user["content"] and "49" not in user["content"]


def test_template_errors_are_prompt_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.jinja").write_text("{% block system %}{{ oops }{% endblock %}")
    with pytest.raises(PromptError, match=r"bad.jinja:1: template syntax error"):
        load_prompt("bad", tmp_path)
    (tmp_path / "undef.jinja").write_text("{% block system %}{{ nope }}{% endblock %}{% block user %}u{% endblock %}")
    with pytest.raises(PromptError, match=r"'nope' is undefined"):
        load_prompt("undef", tmp_path).render(Article(id="a", text="t"), SCHEMA)
    (tmp_path / "noblock.jinja").write_text("just text")
    with pytest.raises(PromptError, match=r"no \{% block system %\}"):
        load_prompt("noblock", tmp_path)
    with pytest.raises(PromptError, match=r"unknown prompt 'missing'.*known prompts: bad, noblock, undef"):
        load_prompt("missing", tmp_path)


def test_sandbox_blocks_unsafe_attribute_access(tmp_path: Path) -> None:
    (tmp_path / "evil.jinja").write_text(
        "{% block system %}{{ article.__class__.__mro__ }}{% endblock %}{% block user %}u{% endblock %}"
    )
    with pytest.raises(PromptError):
        load_prompt("evil", tmp_path).render(Article(id="a", text="t"), SCHEMA)


def test_schema_sent_to_model_is_strict_required_and_nullable() -> None:
    schema = SCHEMA.json_schema()
    assert '"llmx"' not in json.dumps(schema)
    incident = schema["$defs"]["Incident"]
    assert incident["required"] == list(incident["properties"]) and incident["additionalProperties"] is False
    assert {"type": "null"} in incident["properties"]["killed"]["anyOf"]
    assert schema["required"] == ["incidents"]
    assert SCHEMA.fields["location"].match == "alias" and SCHEMA.fields["killed"].match == "number"
    assert SCHEMA.evidence_field == "evidence" and SCHEMA.list_field == "incidents"


def test_schema_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="unknown schema 'nope'"):
        load_schema("nope", tmp_path)
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n")
    with pytest.raises(SchemaError, match=r"broken.py: failed to import: ModuleNotFoundError"):
        load_schema("broken", tmp_path)
    (tmp_path / "noext.py").write_text("from pydantic import BaseModel\nclass Other(BaseModel):\n    x: int\n")
    with pytest.raises(SchemaError, match="no pydantic model named 'Extraction'"):
        load_schema("noext", tmp_path)
    (tmp_path / "badmatch.py").write_text(
        "from pydantic import BaseModel, Field\n"
        "class R(BaseModel):\n    x: str = Field(json_schema_extra={'llmx': {'match': 'telepathy'}})\n"
        "class Extraction(BaseModel):\n    items: list[R]\n"
    )
    with pytest.raises(SchemaError, match="field 'x' has match 'telepathy'"):
        load_schema("badmatch", tmp_path)
