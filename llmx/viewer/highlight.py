"""An article's text as HTML, with a ``<mark>`` per incident at its grounding offsets."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

COLOURS = 8  # incident colours cycle through c0..c7 (see the template's CSS)


def highlight(text: str, spans: Sequence[tuple[int, int, int]], article_id: str) -> Markup:
    """``text`` escaped, with a ``<mark>`` per (start, end, incident) span.

    Marks are opened longest first at each start so that contained spans nest; where two spans
    cross, the inner marks are closed at the outer one's end and re-opened right after, so the
    HTML stays well-formed and every character of a span is inside one of its incident's marks.
    """
    spans = [(max(0, s), min(len(text), e), i) for s, e, i in spans if min(len(text), e) > max(0, s)]
    starts: dict[int, list[tuple[int, int]]] = {}
    ends: dict[int, set[int]] = {}
    for start, end, incident in spans:
        starts.setdefault(start, []).append((end, incident))
        ends.setdefault(end, set()).add(incident)
    aid = escape(article_id)

    labelled: set[int] = set()

    def tag(i: int) -> str:
        # The first piece of each span is labelled with its incident's number (by CSS, so the
        # label is not part of the text), which tells apart incidents quoting the same sentence.
        label = "" if i in labelled else f' data-n="{i + 1}"'
        labelled.add(i)
        return f'<mark class="c{i % COLOURS}" data-article="{aid}" data-incident="{i}"{label}>'

    out: list[str] = []
    stack: list[int] = []
    bounds = sorted({0, len(text), *starts, *ends})
    for position, following in zip(bounds, [*bounds[1:], len(text)], strict=True):
        closing = ends.get(position, set()) & set(stack)
        if closing:
            depth = min(stack.index(i) for i in closing)
            out.append("</mark>" * (len(stack) - depth))
            reopen = [i for i in stack[depth:] if i not in closing]
            del stack[depth:]
            for i in reopen:
                out.append(tag(i))
                stack.append(i)
        for _, i in sorted(starts.get(position, []), key=lambda s: (-s[0], s[1])):
            out.append(tag(i))
            stack.append(i)
        out.append(escape_text(text[position:following]))
    out.append("</mark>" * len(stack))
    return Markup("".join(out))


def escape_text(text: str) -> str:
    """Escape for element content, where only ``&`` and ``<`` are special (``>`` for good
    measure): quotes stay as they are, which keeps the page ~5% smaller than ``escape``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
