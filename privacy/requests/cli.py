"""`flask privacy requests`: the request queue, overdue ones first to act on."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from core.cli import emit, json_option
from core.database import rfc3339, utcnow
from privacy.requests.presenting import describe
from privacy.wiring import request_service


def _line(request: dict) -> str:
    late = "  OVERDUE" if request["overdue"] else ""
    return (f"{request['id']}  {request['type']:<13} {request['status']:<9} "
            f"account {request['account']}  received {request['received_at']}  "
            f"due {request['due_at']}{late}")


@click.command("requests")
@with_appcontext
@click.option("--overdue", is_flag=True, help="Only open requests past their deadline.")
@click.option("--status", type=click.Choice(("received", "extended", "completed", "rejected")))
@json_option
def requests_command(overdue, status, as_json):
    """List data-subject requests with their deadlines (GDPR Art 12(3))."""
    now = utcnow()
    found = request_service().search(status=status, overdue=True if overdue else None)
    shown = [describe(r, staff=True, now=now) for r in found]
    empty = "no overdue requests" if overdue else "no requests"
    emit(as_json, {"as_of": rfc3339(now), "requests": shown},
         "\n".join(_line(r) for r in shown) or empty)
