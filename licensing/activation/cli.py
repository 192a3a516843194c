"""`flask licensing reap`: mark lapsed floating seats released, for reports.

Seat counting never waits for this (activation leaves lapsed seats out under
its row lock); run it from cron so the Customer Area, support views and
exports show lapsed seats as released with reason ``lapsed``.
"""

from __future__ import annotations

from flask import Flask
from flask.cli import AppGroup

from core.cli import emit, json_option
from core.database import db
from licensing.activation.floating import release_lapsed
from licensing.wiring import components

licensing = AppGroup("licensing", help="Seat housekeeping.")


@licensing.command("reap")
@json_option
def reap(as_json):
    """Mark floating seats whose lease lapsed as released (reason: lapsed)."""
    released = release_lapsed(db.session, components().clock())
    db.session.commit()
    emit(as_json, {"released": released}, f"{released} lapsed seat(s) marked released")


def init_app(app: Flask) -> None:
    """Register `flask licensing`."""
    app.cli.add_command(licensing)
