"""The last line of a command that failed: one red line, redacted and safe to print, and the
exit code the error class gives (``LLMX_DEBUG=1`` also shows the traceback, same exit code)."""

from __future__ import annotations

import os
import sys
import traceback
from typing import NoReturn

from llmx.errors import LlmxError

DEBUG_VALUES = ("1", "true", "yes", "on")


def fail(error: BaseException) -> NoReturn:
    """Print ``error`` as one line and exit: an :class:`LlmxError` with its own code; an
    ``OSError`` (the net under every file llmx reads or writes) with 2."""
    from llmx.cli.console import err
    from llmx.cli.safe_text import markup
    from llmx.core.redact import Redactor

    if os.environ.get("LLMX_DEBUG", "").strip().lower() in DEBUG_VALUES:
        traceback.print_exc()
    if isinstance(error, OSError) and not isinstance(error, LlmxError):
        where = f"{error.filename}: " if error.filename else ""
        text = (
            f"{where}{error.strerror or error}; check the path, its permissions and the free space, "
            "then run the same command again"
        )
        code = 2
    else:
        text, code = str(error), getattr(error, "exit_code", 1)
    # Redacted for every key the process holds; escaped, since messages quote server text
    # (terminal escapes) and config keys such as [tool.llmx] (which rich takes for markup).
    text = Redactor.from_environment(os.environ, sys.argv).text(text)
    text = " ".join(part.strip() for part in text.splitlines() if part.strip())  # one line, whatever it quotes
    err.print(f"[bold red]error:[/] {markup(text)}", highlight=False, soft_wrap=True, markup=True)
    sys.exit(code)
