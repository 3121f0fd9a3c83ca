"""Saved HTML pages as articles: the main text, publication date and title, taken by trafilatura.

The article's text is what trafilatura extracts (menus, footers, comments left out), so the
evidence offsets of its incidents refer to that text; the run keeps it (``RUN/articles.jsonl``,
:mod:`llmx.inputs.corpus`) so the viewer shows the same text. The publication date comes from
the page's own markup (meta tags, ``<time>``, structured data), never guessed from the article's
text (htmldate's extensive search is off): a wrong publication date would move every "on Friday".
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmx.errors import ArticleError

HTML_SUFFIXES = (".html", ".htm")
HTML_PACKAGES = "'trafilatura>=2.0' 'lxml_html_clean>=0.4'"  # pyproject's [html] extra


def install_hint() -> str:
    """How to add the [html] extra to this llmx: from a clone, its own editable install (llmx
    is not yet on the package index, so ``llmx-incidents[html]`` would not be found); from a
    wheel, the extra's packages by name."""
    clone = Path(__file__).resolve().parents[2]
    if (clone / "pyproject.toml").is_file() and (clone / "llmx" / "__init__.py").is_file():
        return f"pip install -e '.[html]' (in {clone})"
    return f"pip install {HTML_PACKAGES}"


ADVICE = "save the article's own page, or give its text as a .txt file"
# A page of only a menu, a cookie banner and a footer gives trafilatura's default (recall) pass a
# few lines of that boilerplate (even in place of a short article beside it); below this many
# characters, the precise pass's text is taken, so a long article pays for one pass only.
SHORT = 1000


@dataclass(frozen=True)
class Page:
    text: str
    date: dt.date | None
    title: str | None


def read_page(path: Path) -> Page:
    try:
        import trafilatura
    except ImportError as error:
        raise ArticleError(f"{path}: reading saved HTML pages needs trafilatura: {install_hint()}") from error
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ArticleError(f"{path}: cannot read the page ({error.strerror})") from error
    if not data.strip():
        raise ArticleError(f"{path}: the file is empty; remove it or save the page again")
    # trafilatura logs what it discards at WARNING, which would print under the progress bar; a
    # page with no text is reported here instead. A logger the user configured is left alone.
    logger = logging.getLogger("trafilatura")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.ERROR)
    document = trafilatura.bare_extraction(
        data,
        with_metadata=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    text = (getattr(document, "text", None) or "").strip()
    if not text:
        raise ArticleError(f"{path}: no article text found in this page; {ADVICE}")
    if len(text) < SHORT:
        text = _precise_text(trafilatura, data)
        if not text:
            raise ArticleError(
                f"{path}: no article text in this page, only a menu, a cookie notice or a footer; {ADVICE}"
            )
    return Page(text=text, date=_date(getattr(document, "date", None)), title=getattr(document, "title", None) or None)


def _precise_text(trafilatura: Any, data: bytes) -> str:
    """The text trafilatura finds when it favours precision: a short real article's, without
    the cookie notice the default pass may have taken instead; nothing for a page of only
    navigation, consent banner and footer."""
    precise = trafilatura.bare_extraction(data, favor_precision=True, with_metadata=False)
    return str(getattr(precise, "text", None) or "").strip()


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None  # a date trafilatura could not normalise is no publication date
