"""Exit 0 if the PostgreSQL URL given as the only argument accepts connections."""

from __future__ import annotations

import sys

from sqlalchemy import create_engine, text


def main() -> int:
    """Try one connection and report."""
    try:
        engine = create_engine(sys.argv[1])
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
