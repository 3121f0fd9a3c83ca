"""``python -m llmx``: the same as the ``llmx`` command."""

from llmx.cli.main import main

main()
