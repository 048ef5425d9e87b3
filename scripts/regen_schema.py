"""Regenerate the initial migration from the models (only while no release has shipped).

Run with `make schema` after changing a model. It autogenerates against an empty SQLite
database, so the file always describes the whole schema, then formats it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from tandem.db.migrate import MIGRATIONS_DIR, alembic_config

TARGET = MIGRATIONS_DIR / "versions" / "0001_initial_schema.py"


def main() -> None:
    TARGET.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        config = alembic_config(f"sqlite:///{Path(tmp) / 'empty.db'}")
        command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")
    generated = next((MIGRATIONS_DIR / "versions").glob("0001_*.py"))
    generated.rename(TARGET)
    text = TARGET.read_text().replace("Revises: \n", "Revises:\n")
    text = re.sub(r"(Create Date: \S+) \S+", r"\1", text)  # the day is enough; keeps diffs quiet
    TARGET.write_text(text)
    ruff = Path(sys.executable).parent / "ruff"
    subprocess.run([str(ruff), "check", "--fix", "--quiet", str(TARGET)], check=False)  # noqa: S603
    subprocess.run([str(ruff), "format", "--quiet", str(TARGET)], check=True)  # noqa: S603
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
