"""OpenAI's strict structured outputs: the rules a schema must meet, checked before any request.

With ``strict: true`` the server compiles the schema into a constraint on decoding, and it
accepts only a subset of JSON Schema; anything else is a 400 for every article of the run. So
llmx checks the schema the model will see when the schema is loaded, and refuses it with one
line naming the file, the field and the rule.

The rules (OpenAI "Structured Outputs: supported schemas"): the root is an object, not anyOf;
every object lists all its properties in ``required`` and has ``additionalProperties: false``;
``$ref`` stands alone; no composition but ``anyOf``; size limits. The keywords refused here are
the documented list for the models that accept the fewest (fine-tuned models, and Azure
OpenAI's documentation): OpenAI's newer base models also take ``pattern``, ``format``,
``minimum``/``maximum``, ``minItems``/``maxItems``, but a schema should not work with one
deployment and 400 on the next. ``strict = false`` turns the whole check off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmx.errors import SchemaError

_NO_CONSTRAINT = "drop the constraint (check it in a pydantic validator instead)"
REFUSED_KEYWORDS: dict[str, str] = {
    **dict.fromkeys(("minLength", "maxLength", "pattern", "format"), _NO_CONSTRAINT),
    **dict.fromkeys(("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"), _NO_CONSTRAINT),
    **dict.fromkeys(
        ("patternProperties", "unevaluatedProperties", "propertyNames", "minProperties", "maxProperties"),
        _NO_CONSTRAINT,
    ),
    **dict.fromkeys(
        ("unevaluatedItems", "contains", "minContains", "maxContains", "minItems", "maxItems", "uniqueItems"),
        _NO_CONSTRAINT,
    ),
    **dict.fromkeys(
        ("allOf", "oneOf", "not", "if", "then", "else", "dependentRequired", "dependentSchemas"),
        "use a plain union (`A | B`, sent as anyOf) or one model",
    ),
}
MAX_PROPERTIES = 5000  # object properties in the whole schema
MAX_DEPTH = 10  # levels of nested objects
MAX_ENUM_VALUES = 1000  # enum values in the whole schema
OFF = "or set strict = false"


@dataclass(frozen=True)
class StrictProblem:
    """One rule the schema breaks: where (a field or a model), what, and how to fix it."""

    where: str
    rule: str
    fix: str

    @property
    def message(self) -> str:
        return f"{self.where} {self.rule}; {self.fix}, {OFF}"


def strict_problems(schema: dict[str, Any]) -> list[StrictProblem]:
    """Every strict-mode rule ``schema`` breaks, in document order (empty when it is fine)."""
    problems: list[StrictProblem] = []
    if "anyOf" in schema or schema.get("type") != "object":
        problems.append(
            StrictProblem(
                "the root",
                "is not an object (strict structured outputs need an object at the root, never anyOf)",
                "make Extraction a plain pydantic model",
            )
        )
    _walk(schema, f"model '{schema.get('title', 'Extraction')}'", problems)
    for name, node in (schema.get("$defs") or {}).items():
        _walk(node, f"model '{name}'", problems)
    problems += _limits(schema)
    return problems


def check_strict(schema: dict[str, Any], source: str) -> None:
    """Raise one :class:`SchemaError` line for the first problem, naming ``source`` (the schema file)."""
    problems = strict_problems(schema)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SchemaError(f"{source}: {problems[0].message}{more}")


def _walk(node: Any, where: str, problems: list[StrictProblem]) -> None:
    if not isinstance(node, dict):
        return
    if "$ref" in node and len(node) > 1:
        others = ", ".join(sorted(k for k in node if k != "$ref"))
        problems.append(
            StrictProblem(where, f"has '$ref' beside other keywords ({others})", "inline the referenced model")
        )
    for keyword in node:
        if keyword in REFUSED_KEYWORDS:
            problems.append(
                StrictProblem(
                    where, f"uses '{keyword}', which strict structured outputs refuse", REFUSED_KEYWORDS[keyword]
                )
            )
    properties = node.get("properties")
    if node.get("type") == "object" and not isinstance(properties, dict):
        problems.append(
            StrictProblem(where, "is a free-form mapping (a dict)", "strict structured outputs need named fields")
        )
    elif isinstance(properties, dict):
        _walk_object(node, properties, where, problems)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            _walk(node[key], where, problems)
    for option in node.get("anyOf") or []:
        _walk(option, where, problems)


def _walk_object(node: dict[str, Any], properties: dict[str, Any], where: str, problems: list[StrictProblem]) -> None:
    """An object with named fields: closed to extra fields, every field required, each walked."""
    if node.get("additionalProperties") is not False:
        problems.append(
            StrictProblem(
                where,
                "allows extra fields (additionalProperties is not false)",
                "strict structured outputs refuse that: remove extra='allow'",
            )
        )
    required = node.get("required") or []
    for name, child in properties.items():
        if name not in required or (isinstance(child, dict) and "default" in child):
            problems.append(
                StrictProblem(
                    f"field '{name}'",
                    "has a default",
                    "strict structured outputs need every field required: remove the default "
                    "(use `str | None` and let null mean not reported)",
                )
            )
        _walk(child, f"field '{name}'", problems)


def _limits(schema: dict[str, Any]) -> list[StrictProblem]:
    nodes = list(_nodes(schema))
    properties = sum(len(n["properties"]) for n in nodes if isinstance(n.get("properties"), dict))
    enum_values = sum(len(n["enum"]) for n in nodes if isinstance(n.get("enum"), list))
    depth = _depth(schema, schema.get("$defs") or {}, frozenset())
    found = []
    for count, limit, what in (
        (properties, MAX_PROPERTIES, "object properties"),
        (depth, MAX_DEPTH, "levels of nested objects"),
        (enum_values, MAX_ENUM_VALUES, "enum values"),
    ):
        if count > limit:
            found.append(
                StrictProblem(
                    "the schema",
                    f"has {count} {what}, over the {limit} strict structured outputs allow",
                    "make it smaller",
                )
            )
    return found


def _nodes(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def _depth(node: Any, defs: dict[str, Any], seen: frozenset[str]) -> int:
    """Levels of nested objects below ``node``, following ``$ref`` (a recursive model counts once)."""
    if not isinstance(node, dict):
        return 0
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        return 0 if name in seen or name not in defs else _depth(defs[name], defs, seen | {name})
    properties = node.get("properties")
    children = [*(properties.values() if isinstance(properties, dict) else ()), *(node.get("anyOf") or [])]
    if isinstance(node.get("items"), dict):
        children.append(node["items"])
    below = max((_depth(child, defs, seen) for child in children), default=0)
    return below + (1 if isinstance(properties, dict) else 0)


def inline_sibling_refs(node: Any, defs: dict[str, Any], inlining: frozenset[str] = frozenset()) -> Any:
    """``{"$ref": X, "description": d}`` → X's definition plus ``d``, everywhere below ``node``.

    pydantic writes a described field of a model or enum type that way; JSON Schema allows it,
    strict mode refuses it ("$ref cannot have keywords"). Inlining keeps the description the
    model reads, as the openai SDK's own ``to_strict_json_schema`` does."""
    if isinstance(node, list):
        return [inline_sibling_refs(value, defs, inlining) for value in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    name = ref.rsplit("/", 1)[-1] if isinstance(ref, str) else ""
    # a model that contains itself this way stays a $ref (and the check names it): no endless inlining
    if len(node) > 1 and name in defs and name not in inlining:
        node = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
        inlining = inlining | {name}
    return {key: inline_sibling_refs(value, defs, inlining) for key, value in node.items()}


def with_strict(request: dict[str, Any]) -> dict[str, Any]:
    """The request with strict structured outputs switched on, for the schema in whichever
    place the output mode put it (``response_format`` or a forced tool). New dicts: instructor
    re-sends the same kwargs on a re-ask."""
    fmt = request.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("json_schema"), dict):
        request = {**request, "response_format": {**fmt, "json_schema": {**fmt["json_schema"], "strict": True}}}
    tools = request.get("tools")
    if isinstance(tools, list):
        request = {
            **request,
            "tools": [
                {**tool, "function": {**tool["function"], "strict": True}}
                if isinstance(tool, dict) and isinstance(tool.get("function"), dict)
                else tool
                for tool in tools
            ],
        }
    return request
