"""The one table of output modes: how the schema is enforced on the model's answer.

(Not to be confused with the cassette *policy*: replay, record or auto.) Plain tables: the
instructor mode each names is looked up by :mod:`llmx.extraction.instructor_patch`.
"""

from __future__ import annotations

# name → (instructor.Mode member, what it means for a user)
OUTPUT_MODES: dict[str, tuple[str, str]] = {
    "json_schema": (
        "JSON_SCHEMA",
        "response_format json_schema: the server enforces the schema (OpenAI, llama.cpp, vLLM)",
    ),
    "tools": ("TOOLS", "a forced tool call whose parameters are the schema, for servers that prefer tools"),
    "md_json": ("MD_JSON", "JSON in the text, parsed and validated by llmx, for servers with neither"),
}


# strategy → what it does; each pass's prompt is a template file
STRATEGIES: dict[str, str] = {
    "evidence": "mark the sentences that report attacks (<prompt>_mark.jinja, per chunk), then fill one record each "
    "(<prompt>_fill.jinja); any length",
    "single": "one pass: the prompt template",
    "two_pass": "then a recall pass (<prompt>_recall.jinja) shown the incidents found, asked only for the rest",
}
