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
    "evidence": "one request per chunk (any length): the prompt shows numbered sentences, each record names the "
    "sentences it rests on (its mentions); its evidence and checks come from them",
    "single": "one request per article: the prompt template, records quoting their evidence",
    "two_pass": "then a recall pass (<prompt>_recall.jinja) shown the incidents found, asked only for the rest",
}


# What identifies a request, and so its cassette key: the generation parameters llmx sets from
# its own settings (the model, messages and schema fields come with them).
GENERATION_PARAMS = ("temperature", "max_tokens", "max_completion_tokens", "top_p", "seed", "stop", "logprobs")
# Request fields ``extra_body`` may not set: every keyed one (a cassette and a recipe would
# describe a request that was never sent), and those that change how the answer is read.
KEYED_REQUEST_FIELDS = (
    "model",
    "messages",
    "response_format",
    "tools",
    "tool_choice",
    *GENERATION_PARAMS,
    "stream",
    "n",
)
