"""Vault and pseudonym key rotation: everything keeps working, and data moves to the new keys."""

from __future__ import annotations

import json
import os
import stat
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from privacy_support import invoke_json, new_key, staff_token
from support import Device, unverified_claims

from config.settings import ConfigurationError, add_generated_key, load_config
from core.database import db
from licensing import create_app
from licensing.accounts.directory import AccountDirectory
from licensing.accounts.models import Account
from licensing.activation.models import Seat
from licensing.wiring import components

OLD_VAULT, NEW_VAULT = new_key(), new_key()
OLD_PSEUDONYM, NEW_PSEUDONYM = new_key(), new_key()


@pytest.fixture
def old_keys(app_config):
    app_config.update(TESSERA_VAULT_KEYS={"v1": OLD_VAULT},
                      TESSERA_PSEUDONYM_KEYS={"1": OLD_PSEUDONYM})
    return app_config


@contextmanager
def app_with(config: dict, **keys):
    """Another app on the same databases, with other keys (an operator's restart)."""
    other = create_app({**config, **keys})
    try:
        yield other
    finally:
        with other.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


def _raw(app, sql: str) -> list:
    with app.app_context():
        return [value for row in db.session.execute(sa.text(sql)) for value in row
                if value is not None]


def _seat(app, seat_id: str) -> Seat:
    with app.app_context():
        seat = db.session.get(Seat, seat_id)
        db.session.expunge(seat)
        return seat


def refresh(client, device, activation_id, body):
    path = f"/v1/activations/{activation_id}/refresh"
    return client.post(path, json=body, headers={"DPoP": device.proof("POST", path)})


def test_rotations_keep_every_account_and_seat_working(old_keys, app, client, world):
    license_id = world.setup(seats=5)
    a, b = Device(), Device()
    seat_a = a.activate(client, **world.credentials(), device_name="A's box").json["activation_id"]
    seat_b = b.activate(client, **world.credentials()).json["activation_id"]
    code = world.code(license_id)
    token = staff_token(app, "privacy")
    both_vault = {"v2": NEW_VAULT, "v1": OLD_VAULT}
    both_pseudonym = {"2": NEW_PSEUDONYM, "1": OLD_PSEUDONYM}

    with app_with(old_keys, TESSERA_VAULT_KEYS=both_vault,
                  TESSERA_PSEUDONYM_KEYS=both_pseudonym) as rotated:
        runner = rotated.test_cli_runner()
        before = invoke_json(runner, "keys", "status")
        assert before["vault"]["in_use"]["accounts.email"] == {"v2": 0, "v1": 1, "other": 0}
        done = invoke_json(runner, "keys", "rotate-vault", "--batch-size", "1")
        assert done["rows_resealed"] == {"accounts": 1, "seats": 1, "signing_keys": 1,
                                         "subject_requests": 0}
        assert done["emails_reindexed"] == 1
        after = invoke_json(runner, "keys", "status")
        assert all(counts["v1"] == 0 for counts in after["vault"]["in_use"].values())
        assert after["pseudonym"]["in_use"]["accounts.email_index"] == {"2": 1}
        assert after["pseudonym"]["in_use"]["seats.device_pseudonym"] == {"1": 2}
        assert invoke_json(runner, "keys", "rotate-vault")["rows_resealed"] == {
            "accounts": 0, "seats": 0, "signing_keys": 0, "subject_requests": 0}

    sealed = _raw(app, "SELECT email, name, company FROM accounts") + _raw(
        app, "SELECT device_name FROM seats") + _raw(app, "SELECT private_key FROM signing_keys")
    assert len(sealed) == 5 and all(value.startswith("v2$") for value in sealed)

    # The old vault key is gone now; the old pseudonym key stays until seats have moved.
    with app_with(old_keys, TESSERA_VAULT_KEYS={"v2": NEW_VAULT},
                  TESSERA_PSEUDONYM_KEYS=both_pseudonym) as new:
        client = new.test_client()
        with new.app_context():
            found = AccountDirectory(db.session, components().pseudonymizer).by_email(
                "Alice@Example.com")
            assert found.email == "alice@example.com" and found.name == "Alice"
        again = a.activate(client, **world.credentials())
        assert again.status_code == 200 and again.json["activation_id"] == seat_a
        assert _seat(new, seat_a).device_key_version == 2
        assert _seat(new, seat_a).device_name == "A's box"

        assert refresh(client, b, seat_b, {}).status_code == 200
        assert _seat(new, seat_b).device_key_version == 1, "no fingerprint, no move"
        wrong = refresh(client, b, seat_b, {"fingerprint": "another-device-0000"})
        assert wrong.status_code == 401 and wrong.json["code"] == "INVALID_PROOF"
        moved = refresh(client, b, seat_b, {"fingerprint": b.fingerprint})
        assert moved.status_code == 200
        assert unverified_claims(moved.json["lease"])["sub"] == seat_b
        assert _seat(new, seat_b).device_key_version == 2
        assert refresh(client, b, seat_b, {"fingerprint": b.fingerprint}).status_code == 200

        assert Device().activate(client, activation_code=code).status_code == 201
        ropa = client.get("/v1/privacy/ropa", headers={"Authorization": f"Bearer {token}"})
        assert ropa.status_code == 200
        status = invoke_json(new.test_cli_runner(), "keys", "status")
        assert status["pseudonym"]["in_use"]["seats.device_pseudonym"] == {"2": 3}


def test_add_key_prepends_to_secrets_json_atomically(app, runner):
    instance = Path(app.config["TESSERA_INSTANCE_DIR"])
    before = json.loads((instance / "secrets.json").read_text())
    vault = invoke_json(runner, "keys", "add-key", "vault")
    pseudonym = invoke_json(runner, "keys", "add-key", "pseudonym")
    assert (vault["key_id"], pseudonym["key_id"]) == ("v2", "2")
    after = json.loads((instance / "secrets.json").read_text())
    assert after["TESSERA_VAULT_KEYS"].endswith("," + before["TESSERA_VAULT_KEYS"])
    assert after["TESSERA_SECRET_KEY"] == before["TESSERA_SECRET_KEY"]
    assert stat.S_IMODE(os.stat(instance / "secrets.json").st_mode) == 0o600
    assert not [p for p in instance.iterdir() if p.name.startswith(".secrets-")]
    config = load_config(environ={"TESSERA_INSTANCE_DIR": str(instance), "TESSERA_ENV": "testing"})
    assert list(config["TESSERA_VAULT_KEYS"]) == ["v2", "v1"]
    assert list(config["TESSERA_PSEUDONYM_KEYS"]) == ["2", "1"]


def test_add_key_refuses_a_keyring_from_the_environment(tmp_path):
    with pytest.raises(ConfigurationError, match="environment"):
        add_generated_key(tmp_path, "TESSERA_VAULT_KEYS",
                          environ={"TESSERA_VAULT_KEYS": "v9:" + "A" * 43})


def test_email_lookup_moves_an_old_blind_index_to_the_current_key(old_keys, app, world):
    world.setup()
    with app_with(old_keys, TESSERA_PSEUDONYM_KEYS={"2": NEW_PSEUDONYM, "1": OLD_PSEUDONYM}) as new:
        with new.app_context():
            directory = AccountDirectory(db.session, components().pseudonymizer)
            assert directory.by_email("alice@example.com").email_index_version == 2
            db.session.commit()
            assert db.session.scalar(sa.select(Account.email_index_version)) == 2
            assert directory.by_email("nobody@example.com") is None
