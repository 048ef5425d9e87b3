"""The HTML document every page of the desk extends: the console, the chat and help pages."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

DOCUMENT_TEMPLATES = Path(__file__).resolve().parent / "templates"


def page_templates(directory: Path) -> Jinja2Templates:
    """Return a module's templates, which may extend "_document.html" (the shared skeleton)."""
    templates = Jinja2Templates(directory=[directory, DOCUMENT_TEMPLATES])
    # Jinja2Templates autoescapes .html templates; say it explicitly so it never silently changes.
    templates.env.autoescape = True
    return templates
