"""Floating seats: held while their lease lives, lapsing without a refresh, borrowed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from support import Device, unverified_claims

from core.database import db, rfc3339
from licensing.activation.models import Seat
from licensing.wiring import EXTENSION

FIFTEEN_MINUTES = 900


class Clock:
    """The seats' idea of now, moved by hand (DPoP proofs keep using real time)."""

    def __init__(self):
        # A little ahead, so that licenses issued during the test have started.
        self.now = datetime.now(timezone.utc) + timedelta(seconds=5)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(app):
    ticking = Clock()
    app.extensions[EXTENSION].clock = ticking
    return ticking


def _seat(app, activation_id: str) -> dict:
    with app.app_context():
        seat = db.session.get(Seat, activation_id)
        return {"released_at": seat.released_at, "release_reason": seat.release_reason,
                "held_until": seat.held_until}


def _borrow(client, device: Device, activation_id: str, until: datetime):
    path = f"/v1/activations/{activation_id}/borrow"
    return client.post(path, json={"until": rfc3339(until)},
                       headers={"DPoP": device.proof("POST", path)})


def test_floating_license_answers_show_the_seat_mode_and_a_short_lease(client, world, clock):
    world.setup(seats=2, seat_mode="floating")
    answer = Device().activate(client, **world.credentials())
    assert answer.status_code == 201
    assert answer.json["license"]["seat_mode"] == "floating"
    expires = datetime.fromisoformat(answer.json["lease_expires_at"].replace("Z", "+00:00"))
    assert expires == clock.now.replace(microsecond=0) + timedelta(seconds=FIFTEEN_MINUTES)


def test_node_locked_is_the_default_seat_mode(client, world, clock):
    world.setup(seats=1)
    answer = Device().activate(client, **world.credentials())
    assert answer.json["license"]["seat_mode"] == "node_locked"


def test_a_lapsed_seat_frees_its_place_and_its_refresh_gets_410(app, client, world, clock):
    world.setup(seats=2, seat_mode="floating")
    a, b, c = Device(), Device(), Device()
    a_id = a.activate(client, **world.credentials()).json["activation_id"]
    b_id = b.activate(client, **world.credentials()).json["activation_id"]
    refused = c.activate(client, **world.credentials())
    assert refused.status_code == 409 and refused.json["code"] == "SEAT_LIMIT_REACHED"

    clock.advance(600)                      # B keeps refreshing; A has stopped
    assert b.refresh(client, b_id).status_code == 200
    clock.advance(FIFTEEN_MINUTES - 600 + 1)  # A's lease has ended, B's has not
    taken = c.activate(client, **world.credentials())
    assert taken.status_code == 201, taken.json
    assert taken.json["license"]["seats_used"] == 2

    lapsed = a.refresh(client, a_id)
    assert lapsed.status_code == 410 and lapsed.json["code"] == "ACTIVATION_RELEASED"
    assert b.refresh(client, b_id).status_code == 200
    seat = _seat(app, a_id)
    assert seat["release_reason"] == "lapsed"
    assert seat["released_at"] == seat["held_until"]


def test_a_lapsed_seat_answers_410_before_anything_marks_it(app, client, world, clock):
    world.setup(seats=1, seat_mode="floating")
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    clock.advance(FIFTEEN_MINUTES)
    assert _seat(app, activation_id)["released_at"] is None
    assert device.refresh(client, activation_id).status_code == 410


def test_a_refresh_extends_the_hold_and_keeps_the_seat(app, client, world, clock):
    world.setup(seats=1, seat_mode="floating")
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    for _ in range(3):
        clock.advance(FIFTEEN_MINUTES - 60)
        answer = device.refresh(client, activation_id)
        assert answer.status_code == 200
        assert answer.json["license"]["seats_used"] == 1
    held = _seat(app, activation_id)["held_until"]
    assert held == clock.now.replace(microsecond=0) + timedelta(seconds=FIFTEEN_MINUTES)
    assert Device().activate(client, **world.credentials()).status_code == 409


def test_check_in_frees_the_seat_at_once(client, world, clock):
    world.setup(seats=1, seat_mode="floating")
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    assert device.deactivate(client, activation_id).status_code == 204
    assert Device().activate(client, **world.credentials()).status_code == 201
    assert device.refresh(client, activation_id).status_code == 410


def test_the_same_device_after_its_lapse_takes_a_new_seat(client, world, clock):
    world.setup(seats=1, seat_mode="floating")
    device = Device()
    first = device.activate(client, **world.credentials()).json["activation_id"]
    clock.advance(FIFTEEN_MINUTES + 1)
    again = device.activate(client, **world.credentials())
    assert again.status_code == 201 and again.json["activation_id"] != first


def test_reap_marks_lapsed_seats_released(app, client, runner, world, clock):
    world.setup(seats=3, seat_mode="floating")
    lapsing = Device().activate(client, **world.credentials()).json["activation_id"]
    clock.advance(FIFTEEN_MINUTES - 10)
    living = Device().activate(client, **world.credentials()).json["activation_id"]
    clock.advance(20)
    result = runner.invoke(args=["licensing", "reap", "--json"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == '{"released":1}'
    assert _seat(app, lapsing)["release_reason"] == "lapsed"
    assert _seat(app, living)["released_at"] is None


# -- borrowing -------------------------------------------------------------


def test_borrow_within_the_limit_returns_a_lease_ending_at_the_asked_time(app, client, world,
                                                                          clock):
    world.setup(seats=1, seat_mode="floating", max_borrow_seconds=3 * 86400)
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    until = (clock.now + timedelta(days=2, hours=3)).replace(microsecond=0)
    answer = _borrow(client, device, activation_id, until)
    assert answer.status_code == 200, answer.json
    assert answer.json["lease_expires_at"] == rfc3339(until)
    assert answer.json["activation_id"] == activation_id
    claims = unverified_claims(answer.json["lease"])
    assert claims["exp"] == int(until.timestamp()) and claims["sub"] == activation_id
    # The seat stays held while away: a day later it still counts, and refreshes.
    clock.advance(86400)
    assert Device().activate(client, **world.credentials()).status_code == 409
    assert device.refresh(client, activation_id).status_code == 200
    assert _seat(app, activation_id)["held_until"] == until


def test_borrow_past_the_limit_is_refused(client, world, clock):
    world.setup(seats=1, seat_mode="floating", max_borrow_seconds=86400)
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    answer = _borrow(client, device, activation_id, clock.now + timedelta(seconds=86400 + 5))
    assert answer.status_code == 403 and answer.json["code"] == "BORROW_NOT_ALLOWED"


def test_borrow_on_a_node_locked_license_is_refused(client, world, clock):
    world.setup(seats=1)
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    answer = _borrow(client, device, activation_id, clock.now + timedelta(hours=1))
    assert answer.status_code == 403 and answer.json["code"] == "BORROW_NOT_ALLOWED"


def test_borrow_needs_the_activations_key_and_a_live_seat(client, world, clock):
    world.setup(seats=1, seat_mode="floating")
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    until = clock.now + timedelta(hours=2)
    assert _borrow(client, Device(), activation_id, until).status_code == 401
    assert _borrow(client, device, "act_unknown", until).status_code == 404
    past = _borrow(client, device, activation_id, clock.now - timedelta(minutes=1))
    assert past.status_code == 403 and past.json["code"] == "BORROW_NOT_ALLOWED"
    clock.advance(FIFTEEN_MINUTES + 1)
    assert _borrow(client, device, activation_id, until).status_code == 410


def test_borrow_without_a_proof_is_refused(client, world, clock):
    world.setup(seats=1, seat_mode="floating")
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    answer = client.post(f"/v1/activations/{activation_id}/borrow",
                         json={"until": rfc3339(clock.now + timedelta(hours=1))})
    assert answer.status_code == 401 and answer.json["code"] == "INVALID_PROOF"


def test_issue_license_cli_sets_the_seat_mode(runner, world):
    world.setup(seats=1)  # product and account
    result = runner.invoke(args=["admin", "issue-license", "alice", "numflo", "--seats", "5",
                                 "--kind", "subscription", "--seat-mode", "floating",
                                 "--max-borrow-seconds", "86400", "--json"])
    assert result.exit_code == 0, result.output
    issued = json.loads(result.output)
    assert (issued["seat_mode"], issued["lease_seconds"], issued["max_borrow_seconds"]) == (
        "floating", FIFTEEN_MINUTES, 86400)


def _statements_of_a_refresh(app, client, device: Device, activation_id: str) -> list[str]:
    device.refresh(client, activation_id)  # the signer is loaded and cached first
    seen = []
    with app.app_context():
        engine = db.engine

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement.split(None, 1)[0])
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert device.refresh(client, activation_id).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return seen


def test_floating_refresh_sends_the_same_statements_as_node_locked(app, client, world, clock):
    world.setup(seats=1, username="bob")
    world.setup(seats=1, seat_mode="floating")
    pinned, roaming = Device(), Device()
    pinned_id = pinned.activate(client, **world.credentials("bob")).json["activation_id"]
    roaming_id = roaming.activate(client, **world.credentials()).json["activation_id"]
    node_locked = _statements_of_a_refresh(app, client, pinned, pinned_id)
    floating = _statements_of_a_refresh(app, client, roaming, roaming_id)
    assert floating == node_locked
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            assert floating == ["WITH"]  # spend, stamp and read in one statement
