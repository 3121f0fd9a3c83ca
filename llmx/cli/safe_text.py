"""Text from outside llmx (model output, article text, server messages, file names) made safe to
print. A terminal obeys escape codes in what it is sent: model output could set the window title,
clear the screen or hide a line. rich passes ESC through and reads ``[...]`` as its markup, so
everything untrusted goes through :func:`plain` (for ``Text`` and plain strings) or
:func:`markup` (inside a markup string) before it is printed.
"""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape

# C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI), and the Unicode
# bidirectional overrides that reorder what a reader sees (CVE-2021-42574, "Trojan Source").
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(value: Any) -> str:
    """``str(value)`` with every control character written as a visible ``\\xNN`` escape."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_shown, text)


def markup(value: Any) -> str:
    """:func:`plain`, and rich markup escaped: safe inside ``console.print(f"[red]…[/] {here}")``."""
    return escape(plain(value))
