"""Erasure through the providers, tombstones, and their replay after a database restore."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from privacy_support import invoke_json
from support import Device

from core.database import db, utcnow
from licensing.accounts.models import Account
from licensing.activation.models import Seat
from licensing.catalog.models import ActivationCode, License
from privacy.audit import Access, Actor
from privacy.erasure import Tombstone, TombstoneFile, queue_tombstone
from privacy.models import AccessLogEntry
from privacy.wiring import erasure_service


def _tombstones(app) -> Path:
    return Path(app.config["TESSERA_TOMBSTONE_PATH"])


def _alice(app) -> Account:
    with app.app_context():
        account = db.session.scalar(sa.select(Account).order_by(Account.created_at).limit(1))
        db.session.expunge(account)
        return account


@pytest.fixture
def subject(app, client, world):
    """alice with a license, an active seat, a released seat and an unused code."""
    license_id = world.setup(seats=3)
    device, other = Device(), Device()
    seat_id = device.activate(client, **world.credentials(), device_name="Alice's laptop").json[
        "activation_id"]
    released = other.activate(client, **world.credentials()).json["activation_id"]
    other.deactivate(client, released)
    world.code(license_id)
    return {"device": device, "seat": seat_id, "license": license_id}


def test_dry_run_changes_nothing_and_writes_no_tombstone(app, runner, subject):
    report = invoke_json(runner, "privacy", "erase-subject", "alice")
    assert report["committed"] is False
    assert "username and password" in report["erased"]["licensing"]
    assert _alice(app).username == "alice" and _alice(app).email == "alice@example.com"
    assert not _tombstones(app).exists()


def test_erasure_erases_the_account_and_releases_its_seats(app, client, runner, world, subject):
    report = invoke_json(runner, "privacy", "erase-subject", "alice", "--commit",
                         "--reason", "DSR-77 from alice@example.com")
    assert report["committed"] is True
    assert report["kept"][0]["purpose"] == "license.compliance"
    account = _alice(app)
    assert account.erased_at is not None
    assert (account.username, account.password_hash, account.email, account.email_index,
            account.name, account.company, account.country) == (None,) * 7
    with app.app_context():
        seats = list(db.session.scalars(sa.select(Seat)))
        assert len(seats) == 2 and all(s.released_at is not None for s in seats)
        assert all(s.device_pseudonym is s.device_jkt is s.device_name is s.ip_prefix is None
                   for s in seats)
        assert db.session.get(Seat, subject["seat"]).release_reason == "erased"
        assert db.session.scalar(sa.select(sa.func.count(ActivationCode.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(License.id))) == 1
        entry = db.session.scalar(sa.select(AccessLogEntry))
        assert (entry.action, entry.purpose, entry.actor_role) == (
            "privacy.erase", "privacy.rights", "operator")
        assert entry.reason == "DSR-77 from [redacted]"
        assert entry.subject_pseudonym == report["subject"]
    lines = _tombstones(app).read_text().splitlines()
    assert len(lines) == 1
    tombstone = json.loads(lines[0])
    assert tombstone["pseudonym"] == report["subject"] and tombstone["scope"] == ["licensing", "legal", "privacy"]
    assert stat.S_IMODE(os.stat(_tombstones(app)).st_mode) == 0o600
    assert "alice" not in lines[0]
    # The device learns its activation is gone; the credentials no longer exist.
    assert subject["device"].refresh(client, subject["seat"]).status_code == 410
    assert Device().activate(client, **world.credentials()).json["code"] == "INVALID_CREDENTIALS"
    again = runner.invoke(args=["privacy", "erase-subject", "alice", "--commit"])
    assert again.exit_code == 1 and "No subject matches" in again.stderr
    # A code issued afterwards cannot bind a device to the erased account's license.
    late = Device().activate(client, activation_code=world.code(subject["license"]))
    assert late.status_code == 403 and late.json["code"] == "ACCOUNT_RESTRICTED"


def test_erasure_by_email_reference(app, runner, subject):
    report = invoke_json(runner, "privacy", "erase-subject", "ALICE@example.com ", "--commit")
    assert report["committed"] and _alice(app).erased_at is not None


def _snapshot(app, path: Path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        source = sqlite3.connect(urlsplit(url).path)
        target = sqlite3.connect(path)
        source.backup(target)
        source.close()
        target.close()
    else:
        subprocess.run(["pg_dump", "-Fc", "-f", str(path), _libpq(url)], check=True)


def _restore(app, path: Path):
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        backup = sqlite3.connect(path)
        live = sqlite3.connect(urlsplit(url).path)
        backup.backup(live)
        backup.close()
        live.close()
    else:
        subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "-d",
                        _libpq(url), str(path)], check=True)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def test_restored_backup_is_erased_again_by_replay(app, runner, subject, tmp_path):
    backup = tmp_path / "before-erasure.backup"
    _snapshot(app, backup)
    erased = invoke_json(runner, "privacy", "erase-subject", "alice", "--commit")
    _restore(app, backup)
    assert _alice(app).username == "alice", "the restore brought the subject back"

    dry = invoke_json(runner, "privacy", "replay-erasures")
    assert (dry["committed"], dry["tombstones"], dry["subjects_erased_again"]) == (False, 1, 1)
    assert _alice(app).username == "alice"

    replayed = invoke_json(runner, "privacy", "replay-erasures", "--commit")
    assert replayed["subjects"] == [erased["subject"]]
    account = _alice(app)
    assert account.erased_at is not None and account.username is None and account.email is None
    with app.app_context():
        assert all(s.device_pseudonym is None for s in db.session.scalars(sa.select(Seat)))
    assert invoke_json(runner, "privacy", "replay-erasures", "--commit")[
        "subjects_erased_again"] == 0
    assert len(_tombstones(app).read_text().splitlines()) == 1, "replay writes no new tombstone"


def test_a_rolled_back_erasure_leaves_no_tombstone(app, subject):
    with app.app_context():
        erasure = erasure_service()
        kind, subject_id = erasure.find_subject("alice")
        erasure.erase(kind, subject_id, Access(Actor("test", "operator"), "privacy.rights",
                                               "rollback test"))
        db.session.rollback()
        db.session.commit()
    assert not _tombstones(app).exists()


def test_torn_tombstone_lines_are_skipped(app, runner, subject):
    invoke_json(runner, "privacy", "erase-subject", "alice", "--commit")
    with open(_tombstones(app), "a") as handle:
        handle.write('{"pseudonym": "ab')
    assert invoke_json(runner, "privacy", "replay-erasures")["tombstones"] == 1


def test_sqlite_connections_zero_what_they_delete(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("secure_delete is SQLite's; PostgreSQL dumps hold live rows only")
        assert db.session.execute(sa.text("PRAGMA secure_delete")).scalar() == 1


def test_tombstones_follow_the_outermost_transaction(app, tmp_path):
    store = TombstoneFile(tmp_path / "t.jsonl")
    stone = Tombstone("ab" * 32, 1, "account", ("licensing",), utcnow())
    with app.app_context():
        queue_tombstone(db.session, store, stone)
        with db.session.begin_nested():
            db.session.execute(sa.text("SELECT 1"))
        assert not store.path.exists(), "a savepoint's release is not the commit"
        nested = db.session.begin_nested()
        nested.rollback()
        db.session.commit()
    assert [t.pseudonym for t in store] == [stone.pseudonym]
