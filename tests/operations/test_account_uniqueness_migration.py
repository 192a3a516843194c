"""Migration 0004 backfills the folded usernames and stops, naming the accounts, on a clash."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from conftest import make_config
from core.database import db
from licensing import create_app

INSERT = sa.text("INSERT INTO accounts (id, username, password_hash, email_index, created_at) "
                 "VALUES (:id, :username, 'x', :index, '2026-01-01 00:00:00')")

# The revision the account-uniqueness migration follows.
BEFORE = "0006_legal_obligation_records"


@pytest.fixture
def at_0003(tmp_path):
    """An app on fresh SQLite files migrated to the revision before account uniqueness."""
    urls = {"default": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "compliance": f"sqlite:///{tmp_path / 'compliance.sqlite3'}"}
    app = create_app(make_config(urls, tmp_path))
    with app.app_context():
        upgrade(revision=BEFORE)
        yield app
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def _insert(*rows):
    with db.engine.begin() as connection:
        for account_id, username, index in rows:
            connection.execute(INSERT, {"id": account_id, "username": username, "index": index})


def test_usernames_are_backfilled_folded(at_0003):
    _insert(("acc_1", "Alice", "i1"), ("acc_2", " BOB", None))
    upgrade()
    with db.engine.connect() as connection:
        rows = dict(connection.execute(sa.text("SELECT id, username_folded FROM accounts")).all())
    assert rows == {"acc_1": "alice", "acc_2": "bob"}


@pytest.mark.parametrize("rows, what", [
    ((("acc_1", "Bob", "i1"), ("acc_2", "bob", "i2")), "a username (ignoring case)"),
    ((("acc_1", "alice", "same"), ("acc_2", "bob", "same")), "an email"),
])
def test_a_clash_stops_the_upgrade_and_names_the_accounts(at_0003, capfd, rows, what):
    _insert(*rows)
    # Flask-Migrate logs the migration's error (Alembic's logging: stderr) and exits 1.
    with pytest.raises(SystemExit):
        upgrade()
    assert f"accounts share {what}: acc_1, acc_2" in capfd.readouterr().err
    with db.engine.connect() as connection:
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert version == BEFORE
