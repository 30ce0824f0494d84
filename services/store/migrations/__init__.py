"""Alembic migrations of the store, run from code: no alembic.ini is needed or read.

`alembic_config()` builds the Alembic configuration pointing at this directory. `Store.migrate()`
runs `upgrade head` through it on a connection it already holds (see env.py).

To write the next migration (e.g. checkpoints), add the model to models.py, then generate a
draft against a database migrated to head and edit it by hand:

    .venv/bin/python -c "from alembic import command; from services.store.migrations import \\
        alembic_config; command.revision(alembic_config('sqlite:////tmp/weir.db'), \\
        'add checkpoints', autogenerate=True, rev_id='0002')"

(`Store('sqlite:////tmp/weir.db').migrate()` first.) Name revisions `NNNN`, files `NNNN_<what>.py`.
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(url: str | None = None) -> Config:
    """An Alembic `Config` for this package's scripts; `url` is only needed by Alembic's CLI-style
    commands that open their own connection (e.g. autogenerating a revision)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
