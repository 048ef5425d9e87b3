"""The `tandem` command line: thin commands that call services and print results."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from pydantic import ValidationError as PydanticValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from tandem.config import Settings, get_settings
from tandem.core.errors import TandemError
from tandem.db.migrate import upgrade
from tandem.db.session import get_engine, session_factory, transaction
from tandem.users.models import Role
from tandem.users.service import create_user
from tandem.workspaces.models import Workspace
from tandem.workspaces.service import create_workspace, get_workspace_by_name, list_workspaces

app = typer.Typer(
    help="Tandem: a self-hostable Human + AI customer-support desk.", no_args_is_help=True
)
workspace_app = typer.Typer(help="Create and list workspaces.", no_args_is_help=True)
user_app = typer.Typer(help="Manage team members.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
app.add_typer(user_app, name="user")
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def cli_transaction(settings: Settings | None = None) -> Iterator[Session]:
    """Migrate if needed, open a transaction, and turn domain errors into clean exits."""
    settings = settings or get_settings()
    url = settings.resolved_database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    try:
        with transaction(session_factory(get_engine(url))) as session:
            yield session
    except TandemError as exc:
        raise fail(exc.message) from None


def workspace_json(workspace: Workspace) -> dict[str, object]:
    """Return the CLI's JSON shape of a workspace."""
    return {
        "id": workspace.id,
        "name": workspace.name,
        "widget_key": workspace.widget_key,
        "created_at": workspace.created_at.isoformat(),
    }


@app.callback()
def _check_settings() -> None:
    """Refuse to run with invalid settings, saying which one and why."""
    try:
        get_settings()
    except PydanticValidationError as exc:
        messages = "; ".join(str(e.get("msg", "")) for e in exc.errors())
        raise fail(f"invalid configuration: {messages}") from None


@workspace_app.command("create")
def workspace_create(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a workspace and print its widget key."""
    with cli_transaction() as session:
        workspace = create_workspace(session, name=name)
        data = workspace_json(workspace)
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        console.print(f"Created workspace [bold]{name}[/] (id {data['id']})", highlight=False)
        console.print(f"Widget key: {data['widget_key']}", highlight=False)


@workspace_app.command("list")
def workspace_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every workspace."""
    with cli_transaction() as session:
        rows = [workspace_json(w) for w in list_workspaces(session)]
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    table = Table("id", "name", "widget key", "created")
    for row in rows:
        table.add_row(
            str(row["id"]), str(row["name"]), str(row["widget_key"]), str(row["created_at"])
        )
    console.print(table)


@user_app.command("create")
def user_create(
    workspace: Annotated[str, typer.Option(help="Workspace name.")],
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    role: Annotated[Role, typer.Option()] = Role.AGENT,
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, envvar="TANDEM_NEW_PASSWORD"
        ),
    ] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Add a team member (admin, supervisor or agent) to a workspace."""
    with cli_transaction() as session:
        ws = get_workspace_by_name(session, workspace)
        user = create_user(
            session, workspace_id=ws.id, email=email, name=name, password=password, role=role
        )
        data = {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "role": user.role,
            "workspace": ws.name,
        }
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        console.print(
            f"Created {data['role']} {data['email']} in {data['workspace']}", highlight=False
        )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending database migration."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    console.print("Database is up to date.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the web service with the in-process worker."""
    import uvicorn

    from tandem.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level="info")


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Seed the demo workspace once, then serve it and print how to try it."""
    import uvicorn

    from tandem.app import create_app
    from tandem.cli.progress import progress_bar
    from tandem.demo.seed import (
        DEMO_ADMIN_EMAIL,
        DEMO_ADMIN_PASSWORD,
        DEMO_AGENT_EMAIL,
        DEMO_AGENT_PASSWORD,
        seed_demo,
    )

    with cli_transaction() as session, progress_bar() as update:
        result = seed_demo(session, progress=update)
    base = f"http://{host}:{port}"
    console.print(
        f"[bold]Tandem demo[/] — workspace [bold]{result.workspace_name}[/]",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"  Agent console:  {base}/console", highlight=False, soft_wrap=True)
    console.print(
        f"  Agent login:    {DEMO_AGENT_EMAIL} / {DEMO_AGENT_PASSWORD}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"  Admin login:    {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"  Customer chat:  {base}/widget?key={result.widget_key}", highlight=False, soft_wrap=True
    )
    console.print(
        f'  Embed snippet:  <script src="{base}/widget.js" data-widget-key="{result.widget_key}"'
        " async></script>",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"  Widget key:     {result.widget_key}", highlight=False, soft_wrap=True)
    console.print(f"  API docs:       {base}/docs", highlight=False, soft_wrap=True)
    console.print(
        f"  Try:  curl -s -X POST {base}/api/v1/widget/conversations "
        f"-H 'X-Tandem-Widget-Key: {result.widget_key}'",
        highlight=False,
        soft_wrap=True,
    )
    # The demo is served on plain http://, where browsers drop Secure cookies: opt out here,
    # explicitly, and only here (`tandem serve` keeps the secure default).
    settings = Settings(**{**get_settings().model_dump(), "cookie_secure": False})
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
