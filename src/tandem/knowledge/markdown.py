"""Render article Markdown to safe HTML: raw HTML is escaped, never passed through."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markupsafe import Markup

# html=False: a `<script>` in an article is shown as text. markdown-it also refuses
# javascript:, vbscript:, file: and non-image data: links (its validateLink).
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable(["table", "strikethrough"])


def _link_open(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    # Links in articles lead off the desk: never pass the page (or its referrer) along.
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    return renderer.renderToken(tokens, idx, options, env)


_md.add_render_rule("link_open", _link_open)


def render_markdown(text: str | None) -> Markup:
    """Return Markdown as HTML that is safe to put in a page (raw HTML escaped)."""
    return Markup(_md.render(text or ""))  # noqa: S704 - markdown-it escapes with html=False
