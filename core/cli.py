"""Helpers every `flask ...` command shares: --json and --commit, errors, progress.

With ``--json`` a command prints one JSON object on one line of stdout;
progress bars and messages go to stderr.
"""

from __future__ import annotations

import json
import sys

import click

from core.database import db, truncate_sqlite_wal
from core.errors import ServiceError

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print one JSON object on one line.")
commit_option = click.option("--commit", is_flag=True,
                             help="Apply the changes (without it: a dry run).")


def run(action):
    """Run ACTION, turning a domain error into a message on stderr and exit 1."""
    try:
        return action()
    except ServiceError as exc:
        db.session.rollback()
        detail = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in exc.errors.items())
        click.echo(f"error: {exc.message}{' (' + detail + ')' if detail else ''}", err=True)
        sys.exit(1)


def emit(as_json: bool, payload: dict, text: str) -> None:
    """Print PAYLOAD as one JSON line, or TEXT for people."""
    click.echo(json.dumps(payload, separators=(",", ":")) if as_json else text)


def finish(commit: bool) -> None:
    """Commit when asked to (and leave no erased bytes in a SQLite WAL), else roll back."""
    if commit:
        db.session.commit()
        truncate_sqlite_wal(db.engines.values())
    else:
        db.session.rollback()


def progress(length: int, label: str):
    """A progress bar on stderr."""
    return click.progressbar(length=length, label=label, file=sys.stderr)


def report(as_json: bool, payload: dict, message: str) -> None:
    """Commit, then print PAYLOAD as one JSON line or MESSAGE for people."""
    db.session.commit()
    emit(as_json, payload, message)
