"""One account per email and per username (ignoring case); look-ups never pick one of several."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from core.database import db
from licensing import errors
from licensing.accounts.directory import AccountDirectory
from licensing.accounts.models import Account
from licensing.admin.services import AdminService
from licensing.wiring import components
from privacy_support import staff_token
from support import Device

PASSWORD = "a long enough passphrase"


def _create(admin, username: str, email: str):
    """Create and commit, leaving the admin's session idle (SQLite: no write lock held)."""
    account_id = admin.create_account(username, PASSWORD, email).id
    db.session.commit()
    return account_id


# -- emails ------------------------------------------------------------------------------

def test_a_second_account_with_the_same_email_is_refused_with_409(app, admin):
    _create(admin, "alice", "alice@example.com")
    with pytest.raises(errors.Conflict) as refused:
        admin.create_account("alice2", PASSWORD, " ALICE@Example.com ")
    assert refused.value.status == 409 and refused.value.errors == {"email": ["already in use"]}


def test_the_cli_refuses_a_shared_email_in_json(runner, admin):
    _create(admin, "alice", "alice@example.com")
    result = runner.invoke(args=["admin", "create-account", "bob", "--email",
                                 "alice@example.com", "--password", PASSWORD, "--json"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "CONFLICT" and "email" in error["message"]


def test_the_database_refuses_a_shared_email_index_by_its_named_constraint(app, admin):
    _create(admin, "alice", "alice@example.com")
    index = db.session.scalar(sa.select(Account.email_index))
    db.session.add(Account(username="mallory", password_hash="x", email_index=index))
    with pytest.raises(sa.exc.IntegrityError) as refused:
        db.session.flush()
    db.session.rollback()
    assert "uq_accounts_email_index" in str(refused.value) or "email_index" in str(refused.value)


def test_rectifying_to_another_accounts_email_is_refused(app, admin):
    _create(admin, "alice", "alice@example.com")
    bob = _create(admin, "bob", "bob@example.com")
    directory = AccountDirectory(db.session, components().pseudonymizer)
    with pytest.raises(errors.Conflict):
        directory.set_email(db.session.get(Account, bob), "Alice@example.com")
    db.session.rollback()


@pytest.fixture
def ambiguous(admin):
    """A username that is another account's email: the reference names two people."""
    return {"alice": _create(admin, "alice", "bob@example.com"),
            "bob": _create(admin, "bob@example.com", "bob.b@example.org")}


def test_erase_subject_refuses_a_reference_matching_several_accounts(app, runner, ambiguous):
    result = runner.invoke(args=["privacy", "erase-subject", "bob@example.com", "--commit",
                                 "--json"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "CONFLICT"
    assert sorted(error["errors"]["accounts"]) == sorted(ambiguous.values())
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(
            Account.erased_at.isnot(None))) == 0
    by_id = runner.invoke(args=["privacy", "erase-subject", ambiguous["alice"], "--json"])
    assert by_id.exit_code == 0, by_id.output


def test_the_access_log_refuses_a_reference_matching_several_accounts(app, client, ambiguous):
    headers = {"Authorization": f"Bearer {staff_token(app, 'privacy')}",
               "X-Access-Reason": "DSR-10 access request"}
    answer = client.get("/v1/privacy/access-log?subject=bob@example.com", headers=headers)
    assert answer.status_code == 409 and answer.json["code"] == "CONFLICT"
    assert sorted(answer.json["errors"]["accounts"]) == sorted(ambiguous.values())
    assert "bob@example.com" not in answer.get_data(as_text=True)


# -- usernames ---------------------------------------------------------------------------

def test_usernames_are_unique_whatever_their_case(app, admin):
    _create(admin, "Alice", "alice@example.com")
    with pytest.raises(errors.Conflict):
        admin.create_account("aLICE ", PASSWORD, "other@example.com")
    account = db.session.scalar(sa.select(Account))
    assert (account.username, account.username_folded) == ("Alice", "alice")
    db.session.rollback()


def test_sign_in_activation_and_admin_ignore_the_usernames_case(app, client, runner, world):
    with app.app_context():
        parts = components()
        service = AdminService(db.session, parts.pseudonymizer, parts.passwords)
        service.create_product("numflo", "NUMFLO")
        service.create_account("Alice", world.password, "alice@example.com")
        db.session.commit()
    issued = runner.invoke(args=["admin", "issue-license", "ALICE", "numflo", "--seats", "2",
                                 "--kind", "subscription", "--days", "30", "--json"])
    assert issued.exit_code == 0, issued.output
    activated = Device().activate(client, username="alice", password=world.password)
    assert activated.status_code == 201, activated.json
    session = client.post("/v1/session", json={"username": "aLiCe", "password": world.password})
    assert session.status_code == 201, session.json
    with app.app_context():
        directory = AccountDirectory(db.session, components().pseudonymizer)
        assert directory.find("ALICE").username == "Alice"
