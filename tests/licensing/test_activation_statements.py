"""What a code activation sends to the database: pinned, so that it cannot silently grow."""

from __future__ import annotations

import sqlalchemy as sa
from support import Device

from core.database import db
from licensing.activation.models import Seat
from licensing.catalog.models import ActivationCode


def _statements(app, action) -> list[str]:
    """The first word of each statement the default database is sent during ACTION."""
    seen = []
    with app.app_context():
        engine = db.engine

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement.split(None, 1)[0])
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return seen


def test_a_code_activation_is_one_locked_read_one_count_and_one_write(app, client, world):
    license_id = world.setup(seats=3)
    # The first activation loads and caches the signing key.
    assert Device().activate(client, activation_code=world.code(license_id)).status_code == 201
    code = world.code(license_id)
    answers = []
    seen = _statements(app, lambda: answers.append(
        Device().activate(client, activation_code=code, device_name="lab")))
    assert answers[0].status_code == 201, answers[0].json
    assert answers[0].json["license"]["seats_used"] == 2
    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
        seat = db.session.get(Seat, answers[0].json["activation_id"])
        redeemed = db.session.scalar(sa.select(ActivationCode).where(
            ActivationCode.seat_id == seat.id))
        assert (seat.device_name, seat.last_refresh_at) == ("lab", seat.activated_at)
        assert redeemed.redeemed_at is not None
    # Spend the proof; the code with its license (locked), product and account; the
    # license's seats; then the seat and the code's redemption.
    if postgresql:
        assert seen == ["INSERT", "SELECT", "SELECT", "WITH"]
    else:
        assert seen == ["BEGIN", "INSERT", "SELECT", "SELECT", "INSERT", "UPDATE"]


def test_a_device_that_holds_a_seat_reuses_it_and_spends_the_code_on_it(app, client, world):
    license_id = world.setup(seats=1)
    device = Device()
    first = device.activate(client, activation_code=world.code(license_id))
    again = device.activate(client, activation_code=world.code(license_id))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["activation_id"] == first.json["activation_id"]
    with app.app_context():
        spent = db.session.scalars(sa.select(ActivationCode.seat_id)).all()
    assert spent == [first.json["activation_id"]] * 2
