"""Render ``prompts/<name>.jinja`` into chat messages in a sandboxed Jinja2 environment.

A template defines ``{% block system %}`` and ``{% block user %}``; each block becomes one
message. Templates see ``article`` (id, text, date, title), ``fields`` (the schema's record fields with
their descriptions) and ``schema_name``. Undefined variables are errors, not empty strings.
Article text is a value, never template source, so braces in an article are just text, and
any ``<article>`` / ``</article>`` tag inside it is defused so it cannot close the article block
of the user message and smuggle instructions outside it.

A template may ``extends``, ``include`` or ``import`` another template of the same folder (named by
a literal string), so a strategy's template can take the codebook from the one file that holds
it. Every file a template reads is hashed: :attr:`PromptTemplate.files` names them, and
:func:`prompt_files` gives a run's recipe the files (and the schema) its strategy reads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
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
    sha256: str  # of the file, or, when it reads others, of every file it reads (see files)
    template: jinja2.Template
    files: dict[str, str] = dataclasses.field(default_factory=dict)  # shown path → sha256: itself, then what it reads
    source: str = ""  # the template file's own text

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
            if len(self.files) > 1:  # rendered once whole: jinja chains the blocks of what it extends
                for _ in self.template.root_render_func(context):
                    pass
            for role in ROLES:
                content = "".join(context.blocks[role][0](context)).strip()
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


def shown_path(path: Path) -> str:
    """A file as the user would type it: relative to where they are, when it is below."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read_by(path: Path, source: str, environment: jinja2.Environment, files: dict[str, str], names: list[str]) -> None:
    """Add to ``files`` every template ``source`` extends, includes or imports, and theirs in turn
    (each compiled now, so an error in one names its file before any request)."""
    try:
        referenced_names: list[str | None] = list(jinja2.meta.find_referenced_templates(environment.parse(source)))
    except jinja2.TemplateSyntaxError as error:
        raise PromptError(f"{path}:{error.lineno}: template syntax error: {error.message}") from error
    for name in referenced_names:
        if name is None:
            raise PromptError(
                f"{path}: extends or includes a template named by a variable; name it by a literal string "
                "(the run records which files its prompt read)"
            )
        loader = environment.loader
        assert loader is not None
        try:
            referenced, filename, _ = loader.get_source(environment, name)
            environment.get_template(name)
        except jinja2.TemplateNotFound as error:
            raise PromptError(
                f"{path}: reads '{name}', which is not a file of {path.parent}; a prompt may extend or include "
                "only templates beside it"
            ) from error
        except jinja2.TemplateSyntaxError as error:
            raise PromptError(
                f"{error.filename or name}:{error.lineno}: template syntax error: {error.message}"
            ) from error
        filename = filename or str(path.parent / name)
        shown = shown_path(Path(filename))
        if shown not in files:
            files[shown] = hashlib.sha256(referenced.encode()).hexdigest()
            names.append(name)
            _read_by(Path(filename), referenced, environment, files, names)


# What may stand outside the blocks: it sends nothing itself.
_QUIET = (jinja2.nodes.Block, jinja2.nodes.Extends, jinja2.nodes.Macro, jinja2.nodes.Import, jinja2.nodes.FromImport,
          jinja2.nodes.Assign, jinja2.nodes.AssignBlock)  # fmt: skip


def _nothing_outside_blocks(path: Path, tree: jinja2.nodes.Template) -> None:
    """Only the system and user blocks are sent: text, a ``{{ … }}`` or an include outside them
    would be an edit that changes nothing, so it is refused, naming its line."""
    for node in tree.body:
        if isinstance(node, _QUIET):
            continue
        outputs = [node] if isinstance(node, jinja2.nodes.Output) else list(node.find_all(jinja2.nodes.Output))
        loud = isinstance(node, jinja2.nodes.Include) or any(
            not (isinstance(part, jinja2.nodes.TemplateData) and not part.data.strip())
            for output in outputs
            for part in output.nodes
        )
        if loud:
            raise PromptError(
                f"{path}:{node.lineno}: this is outside {{% block system %}} and {{% block user %}}, so it is never "
                "sent to the model; move it into one of them"
            )


def load_prompt(name: str, prompts_dir: Path) -> PromptTemplate:
    path = Path(name) if name.endswith(".jinja") else prompts_dir / f"{name}.jinja"
    if not path.is_file():
        known = sorted(p.stem for p in prompts_dir.glob("*.jinja"))
        raise PromptError(f"unknown prompt '{name}': no {path}; known prompts: {', '.join(known) or 'none'}")
    source = read_text(path, "the prompt template")
    environment = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, loader=jinja2.FileSystemLoader(path.parent)
    )
    try:
        template = environment.from_string(source)
    except jinja2.TemplateSyntaxError as error:
        raise PromptError(f"{path}:{error.lineno}: template syntax error: {error.message}") from error
    sha256 = hashlib.sha256(source.encode()).hexdigest()
    files = {shown_path(path): sha256}
    names: list[str] = []
    _read_by(path, source, environment, files, names)
    defined = set(template.blocks).union(*(environment.get_template(n).blocks for n in names))
    missing = [role for role in ROLES if role not in defined]
    if missing:
        raise PromptError(f"{path}: no {{% block {missing[0]} %}}; a prompt needs a system and a user block")
    _nothing_outside_blocks(path, environment.parse(source))
    if len(files) > 1:  # the recipe changes when any file the prompt reads does
        read = zip(names, list(files.values())[1:], strict=True)  # by their names in the folder, not cwd
        sha256 = hashlib.sha256("\n".join([sha256, *(f"{n} {h}" for n, h in read)]).encode()).hexdigest()
    return PromptTemplate(name=path.stem, path=path, sha256=sha256, template=template, files=files, source=source)


def prompt_files(schema: SchemaSpec, *read: object) -> dict[str, str]:
    """Every file a run's strategy reads, as ``{shown path: sha256}``: the prompt templates given
    (or held by a pass object given, e.g. the evidence strategy's), each with what it extends or
    includes, then the schema file."""
    files: dict[str, str] = {}
    for item in read:
        held = (
            [item]
            if isinstance(item, PromptTemplate)
            else [getattr(item, f.name) for f in dataclasses.fields(item)]  # type: ignore[arg-type]
            if dataclasses.is_dataclass(item)
            else []
        )
        for template in held:
            if isinstance(template, PromptTemplate):
                files.update(template.files or {shown_path(template.path): template.sha256})
    files[shown_path(schema.path)] = schema.sha256
    return files
