"""Strict structured outputs: the pure check on hand-made schemas, the schema llmx sends under
strict, and the non-strict schema staying byte for byte what the seed cassettes hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmx.errors import SchemaError
from llmx.inputs.schemas import load_schema
from llmx.model.strict_schema import check_strict, inline_sibling_refs, strict_problems, with_strict
from tests.helpers import ROOT


def obj(**properties: Any) -> dict[str, Any]:
    """A strict-valid object schema with these properties."""
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def messages(schema: dict[str, Any]) -> list[str]:
    return [problem.message for problem in strict_problems(schema)]


def test_a_strict_valid_schema_has_no_problems() -> None:
    item = obj(name={"type": "string"}, n={"anyOf": [{"type": "integer"}, {"type": "null"}]})
    schema = {**obj(items={"type": "array", "items": {"$ref": "#/$defs/Item"}}), "$defs": {"Item": item}}
    assert strict_problems(schema) == []
    check_strict(schema, "schemas/x.py")  # no error


def test_a_default_is_refused_naming_the_field_and_the_fix() -> None:
    schema = obj(note={"type": "string", "default": "n/a"})
    schema["required"] = []
    (message,) = messages(schema)
    assert message == (
        "field 'note' has a default; strict structured outputs need every field required: remove the default "
        "(use `str | None` and let null mean not reported), or set strict = false"
    )
    with pytest.raises(SchemaError) as raised:
        check_strict(schema, "schemas/x.py")
    assert str(raised.value).startswith("schemas/x.py: field 'note' has a default;")


def test_a_field_missing_from_required_is_refused_even_without_a_default_keyword() -> None:
    schema = obj(tags={"type": "array", "items": {"type": "string"}})  # a default_factory field
    schema["required"] = []
    (message,) = messages(schema)
    assert message.startswith("field 'tags' has a default; strict structured outputs need every field required")


@pytest.mark.parametrize(
    "keyword, value",
    [
        ("pattern", "^[A-Z]+$"),
        ("format", "date"),
        ("minLength", 1),
        ("maxLength", 9),
        ("minimum", 0),
        ("maximum", 9),
        ("minItems", 1),
        ("maxItems", 3),
        ("uniqueItems", True),
        ("patternProperties", {"^x": {"type": "string"}}),
    ],
)
def test_refused_keywords_name_the_field_and_keyword(keyword: str, value: Any) -> None:
    schema = obj(code={"type": "string", keyword: value})
    (message,) = messages(schema)
    assert message.startswith(f"field 'code' uses '{keyword}', which strict structured outputs refuse")
    assert message.endswith("or set strict = false")


def test_refused_keyword_inside_a_nullable_union_and_a_def_names_the_field() -> None:
    inner = obj(code={"anyOf": [{"type": "string", "pattern": "x"}, {"type": "null"}]})
    schema = {**obj(rows={"type": "array", "items": {"$ref": "#/$defs/Row"}}), "$defs": {"Row": inner}}
    assert messages(schema)[0].startswith("field 'code' uses 'pattern'")


def test_composition_other_than_anyof_is_refused() -> None:
    schema = obj(shape={"oneOf": [obj(a={"type": "string"}), obj(b={"type": "string"})]})
    assert messages(schema)[0].startswith("field 'shape' uses 'oneOf'") and "anyOf" in messages(schema)[0]


def test_extra_fields_and_free_form_maps_are_refused() -> None:
    schema = obj(x={"type": "string"})
    schema["additionalProperties"] = True
    assert messages(schema) == [
        "model 'Extraction' allows extra fields (additionalProperties is not false); strict structured outputs "
        "refuse that: remove extra='allow', or set strict = false"
    ]
    mapping = obj(counts={"type": "object", "additionalProperties": {"type": "integer"}})
    assert messages(mapping)[0].startswith("field 'counts' is a free-form mapping (a dict)")


def test_the_root_must_be_an_object_not_anyof() -> None:
    root = {"anyOf": [obj(a={"type": "string"}), obj(b={"type": "string"})]}
    assert messages(root)[0].startswith("the root is not an object")
    assert messages({"type": "array", "items": {"type": "string"}})[0].startswith("the root is not an object")


def test_ref_with_siblings_is_refused_and_inlining_fixes_it() -> None:
    defs = {"Weapon": {"enum": ["drone", "rocket"], "type": "string", "title": "Weapon"}}
    schema = {**obj(weapon={"$ref": "#/$defs/Weapon", "description": "Main weapon."}), "$defs": defs}
    assert messages(schema)[0].startswith("field 'weapon' has '$ref' beside other keywords (description)")
    inlined = inline_sibling_refs(schema, defs)
    weapon = inlined["properties"]["weapon"]
    assert weapon == {"enum": ["drone", "rocket"], "type": "string", "title": "Weapon", "description": "Main weapon."}
    assert strict_problems(inlined) == []
    assert schema["properties"]["weapon"]["$ref"] == "#/$defs/Weapon"  # the input is not mutated


def test_a_self_containing_model_is_not_inlined_forever() -> None:
    node = obj(child={"$ref": "#/$defs/Node", "description": "the next one"})
    inlined = inline_sibling_refs({**obj(root={"$ref": "#/$defs/Node"}), "$defs": {"Node": node}}, {"Node": node})
    once = inlined["$defs"]["Node"]["properties"]["child"]
    assert once["properties"]["child"]["$ref"] == "#/$defs/Node"  # inlined one level, then left as a $ref


def test_size_limits() -> None:
    wide = obj(**{f"f{n}": {"type": "string"} for n in range(5001)})
    assert any("5001 object properties" in m for m in messages(wide))
    deep: dict[str, Any] = obj(leaf={"type": "string"})
    for _ in range(10):
        deep = obj(child=deep)
    assert any("11 levels of nested objects" in m for m in messages(deep))
    assert not any("levels" in m for m in messages(obj(child=obj(leaf={"type": "string"}))))


def test_with_strict_sets_the_flag_where_the_mode_put_the_schema_without_mutating() -> None:
    schema = obj(a={"type": "string"})
    request = {"response_format": {"type": "json_schema", "json_schema": {"name": "X", "schema": schema}}}
    strict = with_strict(request)
    assert strict["response_format"]["json_schema"] == {"name": "X", "schema": schema, "strict": True}
    assert "strict" not in request["response_format"]["json_schema"]
    tools = {"tools": [{"type": "function", "function": {"name": "X", "parameters": schema}}]}
    assert with_strict(tools)["tools"][0]["function"]["strict"] is True
    assert with_strict({"messages": []}) == {"messages": []}  # md_json: nothing to flag


def test_the_shipped_schemas_pass_under_strict() -> None:
    for name in ("incident", "muc4"):
        spec = load_schema(name, ROOT / "schemas")
        strict = spec.json_schema(strict=True)
        assert strict_problems(strict) == [], name


def test_without_strict_the_schema_is_the_one_in_the_recorded_cassettes(shipped_recordings: None) -> None:
    # their keys hold: nothing strict mode needs leaks into a non-strict request
    # a whole-article request (single): the evidence strategy's requests send their own models
    recorded = next(
        request
        for path in sorted((ROOT / "cassettes").rglob("*.json"))
        if (request := json.loads(path.read_text())["request"])["response_format"]["json_schema"]["name"]
        == "Extraction"
    )
    sent = recorded["response_format"]["json_schema"]
    assert "strict" not in sent
    assert sent["schema"] == load_schema("incident", ROOT / "schemas").json_schema()


def test_a_user_schema_with_a_default_is_refused_at_load_naming_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "noted.py").write_text(
        "from pydantic import BaseModel\n"
        "class Row(BaseModel):\n    what: str | None\n    note: str | None = None\n"
        "class Extraction(BaseModel):\n    rows: list[Row]\n"
    )
    spec = load_schema("noted", tmp_path)
    assert "note" in spec.json_schema()["$defs"]["Row"]["required"]  # without strict: made required, as before
    with pytest.raises(SchemaError, match=r"noted\.py: field 'note' has a default; .*or set strict = false$"):
        spec.json_schema(strict=True)
