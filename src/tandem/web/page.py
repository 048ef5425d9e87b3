"""One console request as its handler sees it: the request, who asks, the session and config.

Every console handler needs the same things; one FastAPI dependency per role gate (`UserPage`,
`SupervisorPage`, `AdminPage`) hands them over together, already authenticated (cookie, CSRF
header on writes) and role-checked, with the helpers every page shares: the layout's context,
rendering, and re-rendering a section after a form's change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from tandem.api.deps import Principal, SessionDep, SettingsDep, ensure_role
from tandem.config import Settings
from tandem.core.errors import TandemError
from tandem.users.models import Role
from tandem.web.auth import ConsoleUser, page_csrf
from tandem.web.templating import render
from tandem.workspaces.models import Workspace
from tandem.workspaces.service import get_workspace


@dataclass(frozen=True)
class Page(Principal):
    """A console request: who asks (the principal), with its HTTP request, session and config."""

    request: Request
    session: Session
    config: Settings

    def workspace(self) -> Workspace:
        """Return the user's workspace."""
        return get_workspace(self.session, self.workspace_id)

    def may(self, role: Role) -> bool:
        """Return whether the user has a role (or a higher one)."""
        return self.role.includes(role)

    def layout(self, **extra: Any) -> dict[str, Any]:
        """Return what every full page needs: the user, their role, and the CSRF token."""
        return {
            "user": self.user,
            "csrf_token": page_csrf(self, self.config.secret_key),
            "is_supervisor": self.may(Role.SUPERVISOR),
            "is_admin": self.may(Role.ADMIN),
            **extra,
        }

    def render(
        self,
        name: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """Render a template to an HTML response."""
        return render(self.request, name, context, status_code=status_code, headers=headers)

    def form_result(
        self,
        template: str,
        context: Callable[[], dict[str, Any]],
        change: Callable[[], str],
        form: dict[str, Any] | None = None,
    ) -> HTMLResponse:
        """Apply a change and re-render a section; on a client mistake show why, keep the form."""
        try:
            # A refused change must leave nothing behind, even though the request still commits.
            with self.session.begin_nested():
                notice = change()
        except TandemError as exc:
            return self.render(
                template,
                {**context(), "error": exc.message, "form": form or {}},
                status_code=422 if exc.status_code in (409, 422) else exc.status_code,
            )
        return self.render(template, {**context(), "notice": notice, "form": {}})


def _page(minimum: Role | None) -> Any:
    def page(
        request: Request, principal: ConsoleUser, session: SessionDep, settings: SettingsDep
    ) -> Page:
        if minimum is not None:
            ensure_role(session, principal, minimum, what="this page")
        who = {field.name: getattr(principal, field.name) for field in fields(Principal)}
        return Page(**who, request=request, session=session, config=settings)

    return Depends(page)


UserPage = Annotated[Page, _page(None)]
SupervisorPage = Annotated[Page, _page(Role.SUPERVISOR)]
AdminPage = Annotated[Page, _page(Role.ADMIN)]


@dataclass(frozen=True)
class Section:
    """A section of the admin pages: its full page, the part its forms re-render, its context."""

    name: str
    page_template: str
    part_template: str
    context: Callable[[Page], dict[str, Any]]

    def show(self, page: Page, **extra: Any) -> HTMLResponse:
        """Render the section's full page, with an empty form."""
        layout = page.layout(nav="admin", section=self.name, **extra)
        return page.render(self.page_template, {**layout, **self.context(page), "form": {}})

    def result(
        self, page: Page, change: Callable[[], str], form: dict[str, Any] | None = None
    ) -> HTMLResponse:
        """Apply a form's change and re-render the section's part (see Page.form_result)."""
        return page.form_result(self.part_template, lambda: self.context(page), change, form)

    def add_page_route(self, router: APIRouter, path: str, minimum: Role) -> None:
        """Serve the section's full page (GET `path`) to users with a role or a higher one."""

        def show(page: Page = _page(minimum)) -> HTMLResponse:
            return self.show(page)

        router.add_api_route(path, show, methods=["GET"], name=f"{self.name}_page")
