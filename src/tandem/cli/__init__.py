"""The `tandem` command: every sub-command registered on one Typer app."""

from tandem.cli import ai as _ai  # noqa: F401 - registers kb, train, bench
from tandem.cli import replay as _replay  # noqa: F401 - registers replay
from tandem.cli.evaluate import eval_app
from tandem.cli.main import app

app.add_typer(eval_app, name="eval")

__all__ = ["app"]
