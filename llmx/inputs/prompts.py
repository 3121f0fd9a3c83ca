"""Render ``prompts/<name>.jinja`` into chat messages in a sandboxed Jinja2 environment.

A template defines ``{% block system %}`` and ``{% block user %}``; each block becomes one
message. Templates see ``article`` (id, text, date, title), ``fields`` (the schema's record fields with
their descriptions) and ``schema_name``. Undefined variables are errors, not empty strings.
Article text is a value, never template source, so braces in an article are just text, and
any ``<article>`` / ``</article>`` tag inside it is defused so it cannot close the article block
of the user message and smuggle instructions outside it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from llmx.errors import PromptError
from llmx.inputs.articles import Article
from llmx.inputs.schemas import SchemaSpec
from llmx.runs.files import read_text

ROLES = ("system", "user")
_DELIMITER = re.compile(r"<(\s*/?\s*article\b)", re.IGNORECASE)


def defuse_delimiters(text: str) -> str:
    """``</article>`` in article text becomes ``&lt;/article>``: still readable, never a tag."""
    return _DELIMITER.sub(r"&lt;\1", text)


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    path: Path
    sha256: str
    template: jinja2.Template
    source: str = ""  # the template file's text (what its sha256 is of)

    def render(self, article: Article, schema: SchemaSpec, **extra: Any) -> list[dict[str, str]]:
        """The messages for one article; ``extra`` (e.g. ``found``: the records a first pass found)
        is passed to the template as is."""
        variables: dict[str, Any] = {
            "article": {
                "id": article.id,
                "text": defuse_delimiters(article.text),
                "date": article.date.isoformat() if article.date else None,
                "title": defuse_delimiters(article.title) if article.title else None,  # a corpus's or page's headline
            },
            "fields": [{"name": name, "description": text} for name, text in schema.descriptions.items()],
            "schema_name": schema.name,
            **extra,  # a strategy may show other fields (the evidence strategy: sentence numbers, not a quote)
        }
        messages = []
        try:
            context = self.template.new_context(variables)
            for role in ROLES:
                content = "".join(self.template.blocks[role](context)).strip()
                messages.append({"role": role, "content": content})
        except jinja2.UndefinedError as error:
            names = ", ".join(["article", "fields", "schema_name", *extra])
            raise PromptError(f"{self.path}: {error.message}; the template may use {names}") from error
        except jinja2.TemplateError as error:
            raise PromptError(f"{self.path}: {error}") from error
        except RecursionError as error:
            raise PromptError(f"{self.path}: the template recurses too deeply (a macro that calls itself?)") from error
        except Exception as error:  # {{ 1 // 0 }}, a filter given the wrong type: the template's own fault
            raise PromptError(
                f"{self.path}: template error while rendering: {type(error).__name__}: {error}"
            ) from error
        return messages


def _refuse_other_files(path: Path, environment: jinja2.Environment, source: str) -> None:
    """A prompt is one file: its sha256 is what keys and recipes name, so a template may not pull
    in another (``include``, ``import``, ``extends``); the sandbox has no loader for them either."""
    for node in environment.parse(source).find_all((jinja2.nodes.Include, jinja2.nodes.Import,
                                                    jinja2.nodes.FromImport, jinja2.nodes.Extends)):  # fmt: skip
        statement = type(node).__name__.lower().replace("fromimport", "from … import")
        raise PromptError(
            f"{path}:{node.lineno}: {{% {statement} %}} is not allowed: a prompt is one file (its sha256 keys "
            "the cassettes); copy what you need into it"
        )


def load_prompt(name: str, prompts_dir: Path) -> PromptTemplate:
    path = Path(name) if name.endswith(".jinja") else prompts_dir / f"{name}.jinja"
    if not path.is_file():
        known = sorted(p.stem for p in prompts_dir.glob("*.jinja"))
        raise PromptError(f"unknown prompt '{name}': no {path}; known prompts: {', '.join(known) or 'none'}")
    source = read_text(path, "the prompt template")
    environment = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    try:
        template = environment.from_string(source)
    except jinja2.TemplateSyntaxError as error:
        raise PromptError(f"{path}:{error.lineno}: template syntax error: {error.message}") from error
    _refuse_other_files(path, environment, source)
    missing = [role for role in ROLES if role not in template.blocks]
    if missing:
        raise PromptError(f"{path}: no {{% block {missing[0]} %}}; a prompt needs a system and a user block")
    return PromptTemplate(
        name=path.stem,
        path=path,
        sha256=hashlib.sha256(source.encode()).hexdigest(),
        template=template,
        source=source,
    )
