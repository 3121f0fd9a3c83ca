"""The ``llmx`` command: parse options, call app/, print, pick exit codes."""
