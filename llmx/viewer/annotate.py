"""The annotate page (``llmx annotate``): the viewer in edit mode. Pure: a config in, HTML out.

The page shares the viewer's stylesheet and highlighting (``templates/_style.css``,
:func:`llmx.viewer.highlight.highlight`, computed by the server for each article) and adds the
editing script (``templates/annotate.js``). Everything is inline: no network, no CDN. Each
schema field gets an input of its type (:func:`field_controls`): enums and booleans as choices,
numbers as numbers, ``null`` offered where the field allows it.
"""

from __future__ import annotations

import enum
import functools
import json
import types
import typing
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from llmx.inputs.schemas import SchemaSpec
from llmx.viewer.highlight import COLOURS


def field_controls(schema: SchemaSpec) -> list[dict[str, Any]]:
    """Per record field: its name, input kind (enum, bool, int, number, text, json), whether
    null is allowed, the choices of an enum, and the schema's description (shown as help)."""
    controls = []
    for name, info in schema.record_model.model_fields.items():
        union = typing.get_origin(info.annotation) in (typing.Union, types.UnionType)
        args = typing.get_args(info.annotation) if union else ()
        nullable = type(None) in args
        kind, choices = _kind([a for a in args if a is not type(None)] if union else [info.annotation])
        minimum = next((getattr(m, "ge", None) for m in info.metadata if getattr(m, "ge", None) is not None), None)
        controls.append(
            {
                "name": name,
                "kind": kind,
                "nullable": nullable,
                "choices": choices,
                "min": minimum,
                "help": info.description or "",
                "evidence": name == schema.evidence_field,
                "scored": schema.fields[name].match != "ignore",
            }
        )
    return controls


def _kind(kinds: list[Any]) -> tuple[str, list[Any]]:
    if len(kinds) != 1:
        return "json", []
    only = kinds[0]
    if typing.get_origin(only) is typing.Literal:
        return "enum", list(typing.get_args(only))
    if isinstance(only, type) and issubclass(only, enum.Enum):
        return "enum", [member.value for member in only]
    if only is bool:
        return "bool", [True, False]
    if only is int:
        return "int", []
    if only is float:
        return "number", []
    if only is str:
        return "text", []
    return "json", []


def render_annotate_page(config: dict[str, Any]) -> str:
    """The page: the article list and the editor; articles are fetched from the server."""
    data = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")  # safe inside <script>
    return _template().render(config=config, config_json=Markup(data), script=_script(), colours=COLOURS)


@functools.cache
def _script() -> Markup:
    """The editor's JavaScript, inlined as is (read apart so that Jinja never parses it)."""
    return Markup((Path(__file__).parent / "templates" / "annotate.js").read_text(encoding="utf-8"))


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("annotate.html.jinja")
