"""Helpers every `flask ...` command shares: --json and --commit, errors, progress.

With ``--json`` a command prints one JSON object on one line of stdout, also
when it refuses (``{"error": {"code", "message"}}``); progress bars and
messages go to stderr.
"""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import click

from core.database import db, truncate_sqlite_wal
from core.errors import ServiceError

# Where the command's --json choice is kept, so a refusal can answer in JSON too.
_JSON_WANTED = "tessera.json"


def _remember_json(ctx: click.Context, _param, value: bool) -> bool:
    ctx.meta[_JSON_WANTED] = value
    return value


json_option = click.option("--json", "as_json", is_flag=True, callback=_remember_json,
                           help="Print one JSON object on one line.")
commit_option = click.option("--commit", is_flag=True,
                             help="Apply the changes (without it: a dry run).")


def fail(message: str, code: str = "REFUSED", errors: dict | None = None) -> NoReturn:
    """Refuse: MESSAGE on stderr, one JSON error object on stdout under --json, exit 1.

    A script reading stdout must see why a command refused, not an empty line.
    """
    errors = errors or {}
    detail = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items())
    click.echo(f"error: {message}{' (' + detail + ')' if detail else ''}", err=True)
    context = click.get_current_context(silent=True)
    if context is not None and context.meta.get(_JSON_WANTED):
        body = {"code": code, "message": message, **({"errors": errors} if errors else {})}
        click.echo(json.dumps({"error": body}, separators=(",", ":")))
    sys.exit(1)


def run(action):
    """Run ACTION, turning a domain error into a refusal (see `fail`)."""
    try:
        return action()
    except ServiceError as exc:
        db.session.rollback()
        fail(exc.message, exc.code, exc.errors)


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
