"""Device components: a device keeps its seat through a new fingerprint, per the product."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa
from support import Device

from core.database import db
from licensing.activation.models import Seat

NAMES = ("machine_id", "disk", "mac", "cpu")


def _parts() -> dict:
    return {name: f"{name}-{secrets.token_hex(8)}" for name in NAMES}


def _changed(parts: dict, how_many: int) -> dict:
    return {name: (value + "-new" if index < how_many else value)
            for index, (name, value) in enumerate(parts.items())}


@pytest.fixture
def product(app, world):
    def make(policy: str) -> str:
        with app.app_context():
            world._admin().create_product("cfd", "CFD", fingerprint_match=policy)
            db.session.commit()
        return "cfd"
    return make


def _activate(client, world, fingerprint: str, parts: dict):
    return Device(fingerprint=fingerprint).activate(client, product="cfd", components=parts,
                                                    **world.credentials())


def test_most_keeps_the_seat_when_one_of_four_components_changes(app, client, world, product):
    product("most")
    world.setup(seats=2, product="cfd")
    parts = _parts()
    first = _activate(client, world, "fp-" + secrets.token_hex(12), parts)
    assert first.status_code == 201
    moved = _activate(client, world, "fp-" + secrets.token_hex(12), _changed(parts, 1))
    assert moved.status_code == 200, moved.json
    assert moved.json["activation_id"] == first.json["activation_id"]
    assert moved.json["license"]["seats_used"] == 1


def test_most_gives_a_new_seat_when_three_of_four_change(client, world, product):
    product("most")
    world.setup(seats=2, product="cfd")
    parts = _parts()
    first = _activate(client, world, "fp-" + secrets.token_hex(12), parts)
    other = _activate(client, world, "fp-" + secrets.token_hex(12), _changed(parts, 3))
    assert other.status_code == 201
    assert other.json["activation_id"] != first.json["activation_id"]


def test_most_with_a_full_license_answers_409_when_three_change(client, world, product):
    product("most")
    world.setup(seats=1, product="cfd")
    parts = _parts()
    assert _activate(client, world, "fp-" + secrets.token_hex(12), parts).status_code == 201
    other = _activate(client, world, "fp-" + secrets.token_hex(12), _changed(parts, 3))
    assert other.status_code == 409 and other.json["code"] == "SEAT_LIMIT_REACHED"


def test_half_is_not_most(client, world, product):
    product("most")
    world.setup(seats=2, product="cfd")
    parts = _parts()
    _activate(client, world, "fp-" + secrets.token_hex(12), parts)
    assert _activate(client, world, "fp-" + secrets.token_hex(12),
                     _changed(parts, 2)).status_code == 201


def test_any_keeps_the_seat_on_one_matching_component(client, world, product):
    product("any")
    world.setup(seats=2, product="cfd")
    parts = _parts()
    first = _activate(client, world, "fp-" + secrets.token_hex(12), parts)
    moved = _activate(client, world, "fp-" + secrets.token_hex(12), _changed(parts, 3))
    assert moved.status_code == 200
    assert moved.json["activation_id"] == first.json["activation_id"]


def test_exact_never_matches_by_components(client, world, product):
    product("exact")
    world.setup(seats=2, product="cfd")
    parts = _parts()
    _activate(client, world, "fp-" + secrets.token_hex(12), parts)
    assert _activate(client, world, "fp-" + secrets.token_hex(12), parts).status_code == 201


def test_a_kept_seat_takes_the_new_fingerprint_and_components(app, client, world, product):
    product("most")
    world.setup(seats=2, product="cfd")
    parts, new_fingerprint = _parts(), "fp-" + secrets.token_hex(12)
    first = _activate(client, world, "fp-" + secrets.token_hex(12), parts)
    with app.app_context():
        before = db.session.get(Seat, first.json["activation_id"])
        old_pseudonym, old_parts = before.device_pseudonym, dict(before.device_components)
    newer = _changed(parts, 1)
    device = Device(fingerprint=new_fingerprint)
    kept = device.activate(client, product="cfd", components=newer, **world.credentials())
    activation_id = kept.json["activation_id"]
    with app.app_context():
        seat = db.session.get(Seat, activation_id)
        assert seat.device_pseudonym != old_pseudonym
        assert seat.device_components["machine_id"] != old_parts["machine_id"]
        assert seat.device_components["disk"] == old_parts["disk"]
    # The new fingerprint is now the seat's: the exact match finds it, the old one does not.
    assert device.refresh(client, activation_id).status_code == 200
    again = Device(fingerprint=new_fingerprint).activate(client, product="cfd",
                                                         **world.credentials())
    assert again.status_code == 200 and again.json["activation_id"] == activation_id


def test_components_are_stored_only_as_keyed_hashes(app, client, world, product):
    product("most")
    world.setup(seats=2, product="cfd")
    parts = _parts()
    answer = _activate(client, world, "fp-" + secrets.token_hex(12), parts)
    with app.app_context():
        stored = db.session.scalar(sa.select(Seat.device_components)
                                   .where(Seat.id == answer.json["activation_id"]))
    assert set(stored) == set(NAMES)
    for name, value in parts.items():
        assert len(stored[name]) == 64 and value not in stored[name]
    # The same value under two names pseudonymises differently (the name is in the HMAC).
    same = {name: "one-value-for-all" for name in NAMES}
    twin = _activate(client, world, "fp-" + secrets.token_hex(12), same)
    with app.app_context():
        hashed = db.session.scalar(sa.select(Seat.device_components)
                                   .where(Seat.id == twin.json["activation_id"]))
    assert len(set(hashed.values())) == len(NAMES)


@pytest.mark.parametrize("components, field", [
    ({"disk": ""}, "disk"), ({"disk": "x" * 513}, "disk"), ({"gpu": "abc"}, "gpu")])
def test_components_are_validated(client, world, product, components, field):
    product("most")
    world.setup(seats=1, product="cfd")
    answer = _activate(client, world, "fp-" + secrets.token_hex(12), components)
    assert answer.status_code == 400 and answer.json["code"] == "VALIDATION_FAILED"
    assert field in answer.json["errors"]["components"]


def test_create_product_cli_sets_the_policy(runner):
    result = runner.invoke(args=["admin", "create-product", "lab", "Lab", "--fingerprint-match",
                                 "most", "--json"])
    assert result.exit_code == 0, result.output
    assert '"fingerprint_match":"most"' in result.output
    refused = runner.invoke(args=["admin", "create-product", "lab2", "Lab", "--fingerprint-match",
                                  "some"])
    assert refused.exit_code != 0
