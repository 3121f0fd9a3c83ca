"""The one table of output modes: how the schema is enforced on the model's answer.

(Not to be confused with the cassette *policy*: replay, record or auto.) instructor is imported
only when a mode is used, so commands that never call a model start fast.
"""

from __future__ import annotations

from typing import Any

# name → (instructor.Mode member, what it means for a user)
OUTPUT_MODES: dict[str, tuple[str, str]] = {
    "json_schema": (
        "JSON_SCHEMA",
        "response_format json_schema: the server enforces the schema (OpenAI, llama.cpp, vLLM)",
    ),
    "tools": ("TOOLS", "a forced tool call whose parameters are the schema, for servers that prefer tools"),
    "md_json": ("MD_JSON", "JSON in the text, parsed and validated by llmx, for servers with neither"),
}


def instructor_mode(name: str) -> Any:
    import instructor

    return getattr(instructor.Mode, OUTPUT_MODES[name][0])


# strategy → what it does; each pass's prompt is a template file
STRATEGIES: dict[str, str] = {
    "single": "one pass: the prompt template",
    "two_pass": "then a recall pass (<prompt>_recall.jinja) shown the incidents found, asked only for the rest",
}
