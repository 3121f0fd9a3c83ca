"""The viewer's Jinja2 templates (``llmx/viewer/templates/``), loaded once each, autoescaped:
article text and model output are untrusted."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2


@functools.cache
def template(name: str) -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,  # article text and model output are untrusted
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template(name)
