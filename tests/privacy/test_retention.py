"""`flask privacy purge`: exactly the expired rows go, the dry run agrees, twice is a no-op."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import POSTGRES_URL
from live import ROOT, server_env
from privacy_support import days_ago, invoke_json

from core.database import db
from licensing.accounts.models import CustomerSession
from licensing.activation.models import Seat, SpentProof
from licensing.catalog.models import ActivationCode
from licensing.support.models import Staff, StaffConsoleSession, StaffToken
from privacy.models import AccessLogEntry
from privacy.retention import LOCK_NAME, RetentionRule, RetentionService, _lock_key

EXPECTED = {
    "license.refresh": {"seats.ip_prefix": 2},
    "license.activation": {"seats.released": 2, "activation_codes.expired": 2,
                           "customer_sessions.expired": 1},
    "license.compliance": {"seats.history": 1},
    "support": {"access_log.expired": 1},
    "staff.access": {"staff.disabled": 1, "staff_console_sessions.expired": 1},
    "housekeeping": {"spent_proofs.expired": 1},
}


def _seat(license_id, name, *, released=None, prefix_age=None):
    return Seat(id=f"act_{name}", license_id=license_id, device_pseudonym=f"{name:0<64}"[:64],
                device_key_version=1, device_jkt=f"jkt-{name}", device_public_key=f"x-{name}",
                device_name=f"laptop {name}", platform="linux", activated_at=days_ago(900),
                released_at=days_ago(released) if released is not None else None,
                release_reason="deactivated" if released is not None else None,
                country="BE", ip_prefix="81.2.69.0/24" if prefix_age is not None else None,
                ip_prefix_at=days_ago(prefix_age) if prefix_age is not None else None)


def _staff(name, mark, *, disabled=None, sessions=None) -> list:
    staff = Staff(name=name, role="support",
                  disabled_at=days_ago(disabled) if disabled is not None else None)
    return [staff, StaffToken(staff=staff, token_hmac=mark * 64, key_version=1),
            *(StaffConsoleSession(staff=staff, token_hmac=key * 64, key_version=1,
                                  expires_at=days_ago(age))
              for key, age in (sessions or {}).items())]


@pytest.fixture
def seeded(app, world):
    license_id = world.setup(seats=10)
    with app.app_context():
        db.session.add_all([
            _seat(license_id, "live", prefix_age=5),
            _seat(license_id, "oldprefix", prefix_age=40),
            _seat(license_id, "recentrelease", released=10, prefix_age=12),
            _seat(license_id, "oldrelease", released=100, prefix_age=100),
            _seat(license_id, "ancient", released=800),
        ])
        db.session.flush()
        account_id = db.session.get(Seat, "act_live").license.account_id
        db.session.add_all([
            ActivationCode(license_id=license_id, code_hmac="a" * 64, key_version=1,
                           expires_at=days_ago(-30)),
            ActivationCode(license_id=license_id, code_hmac="b" * 64, key_version=1,
                           expires_at=days_ago(1)),
            ActivationCode(license_id=license_id, code_hmac="c" * 64, key_version=1,
                           expires_at=days_ago(2), redeemed_at=days_ago(3),
                           seat_id="act_ancient"),
            *(AccessLogEntry(occurred_at=days_ago(age), actor="staff:1", actor_role="support",
                             subject_pseudonym="f" * 64, subject_key_version=1,
                             purpose="support", action="account.lookup", reason="TICKET-1")
              for age in (10, 400)),
            # A deleted staff member's tokens and sessions go with them (cascade).
            *_staff("Gone", "d", disabled=400, sessions={"3": -1}),
            *_staff("Leaving", "e", disabled=10),
            *_staff("Active", "f", sessions={"5": 1 / 24, "6": -1 / 24}),
            SpentProof(jti_hash="1" * 64, expires_at=days_ago(1 / 24)),
            SpentProof(jti_hash="2" * 64, expires_at=days_ago(-1 / 24)),
            *(CustomerSession(account_id=account_id, token_hmac=mark * 64, key_version=1,
                              created_at=days_ago(age + 1 / 24), expires_at=days_ago(age))
              for mark, age in (("7", 1 / 24), ("8", -1 / 24))),
        ])
        db.session.commit()
    return license_id


def _rows(summary: dict) -> dict:
    return {purpose: {rule: entry["rows"] for rule, entry in rules.items()}
            for purpose, rules in summary["purposes"].items()}


def _state(app) -> dict:
    with app.app_context():
        seats = {s.id: s for s in db.session.scalars(sa.select(Seat))}
        return {
            "seats": {sid: (s.device_jkt is not None, s.ip_prefix) for sid, s in seats.items()},
            "codes": sorted(c.code_hmac[0] for c in db.session.scalars(sa.select(ActivationCode))),
            "log": db.session.scalar(sa.select(sa.func.count(AccessLogEntry.id))),
            "staff": sorted(s.name for s in db.session.scalars(sa.select(Staff))),
            "proofs": sorted(p.jti_hash[0] for p in db.session.scalars(sa.select(SpentProof))),
            "sessions": sorted(s.token_hmac[0]
                               for s in db.session.scalars(sa.select(CustomerSession))),
            "staff_tokens": sorted(t.token_hmac[0]
                                   for t in db.session.scalars(sa.select(StaffToken))),
            "staff_sessions": sorted(s.token_hmac[0] for s in db.session.scalars(
                sa.select(StaffConsoleSession))),
        }


def test_purge_removes_exactly_the_expired_rows(app, runner, seeded):
    before = _state(app)
    dry = invoke_json(runner, "privacy", "purge")
    assert dry["committed"] is False
    assert _rows(dry) == EXPECTED
    assert _state(app) == before, "a dry run changes nothing"

    done = invoke_json(runner, "privacy", "purge", "--commit", "--batch-size", "1")
    assert done["committed"] is True
    assert _rows(done) == EXPECTED, "the dry run showed the same counts"
    assert done["total"] == sum(n for rules in EXPECTED.values() for n in rules.values())
    assert _state(app) == {
        "seats": {"act_live": (True, "81.2.69.0/24"), "act_oldprefix": (True, None),
                  "act_recentrelease": (True, "81.2.69.0/24"), "act_oldrelease": (False, None)},
        "codes": ["a"],
        "log": 1,
        "staff": ["Active", "Leaving"],
        "proofs": ["2"],
        "sessions": ["8"],
        "staff_tokens": ["e", "f"],
        "staff_sessions": ["6"],
    }
    with app.app_context():
        husk = db.session.get(Seat, "act_oldrelease")
        assert (husk.device_pseudonym, husk.device_name, husk.platform, husk.country) == (
            None, None, None, None)
        assert husk.license_id == seeded and husk.released_at is not None

    again = invoke_json(runner, "privacy", "purge", "--commit")
    assert again["total"] == 0


def test_purge_text_output_and_progress(runner, seeded):
    dry = runner.invoke(args=["privacy", "purge"])
    assert dry.exit_code == 0
    assert "dry run" in dry.stdout and "seats.released: 2 row(s) de-identify" in dry.stdout
    done = runner.invoke(args=["privacy", "purge", "--commit"])
    assert done.exit_code == 0 and "purged:" in done.stdout
    assert "seats.history" in done.stderr  # the progress bar's label, on stderr


def test_concurrent_purges_remove_each_row_once(app, seeded):
    env = server_env({"default": app.config["SQLALCHEMY_DATABASE_URI"],
                      "compliance": app.config["SQLALCHEMY_BINDS"]["compliance"]["url"]},
                     Path(app.config["TESSERA_INSTANCE_DIR"]))
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "privacy", "purge", "--commit",
               "--json", "--batch-size", "1"]
    runs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [(run.wait(timeout=120), *run.communicate()) for run in runs]
    totals = [json.loads(out)["total"] for code, out, _ in outcomes if code == 0]
    refused = [err for code, _, err in outcomes if code != 0]
    assert totals, refused
    # SQLite: both run, batch by batch; PostgreSQL: the advisory lock may turn one away.
    assert all("another purge is running" in err for err in refused), refused
    assert sum(totals) == sum(n for rules in EXPECTED.values() for n in rules.values())
    assert _state(app)["codes"] == ["a"] and _state(app)["log"] == 1


@pytest.mark.skipif(not POSTGRES_URL, reason="advisory locks are PostgreSQL's")
def test_purge_refuses_while_another_holds_the_lock(app, runner, seeded):
    with app.app_context():
        with db.engine.connect() as other:
            assert other.scalar(sa.select(sa.func.pg_try_advisory_lock(_lock_key(LOCK_NAME))))
            result = runner.invoke(args=["privacy", "purge", "--commit"])
            other.scalar(sa.select(sa.func.pg_advisory_unlock(_lock_key(LOCK_NAME))))
            other.commit()
    assert result.exit_code == 1
    assert "another purge is running" in result.stderr
    assert invoke_json(runner, "privacy", "purge", "--commit")["total"] > 0


def test_each_row_is_visited_once_even_if_the_action_leaves_it_matching(app, seeded):
    seats = Seat.__table__
    marking = RetentionRule("seats.marking", seats, lambda cutoff: seats.c.activated_at < cutoff,
                            days=1, clear={"platform": "x"})
    with app.app_context():
        service = RetentionService(db.session, [marking])
        assert list(service.batches(marking, batch_size=2)) == [2, 2, 1]
        db.session.rollback()


def test_the_walk_ends_once_the_counted_rows_are_done(app, seeded):
    # A run after a big purge must not read the whole table looking for rows that the
    # count already said are not there (on PostgreSQL that read outlasts statement_timeout).
    from licensing.accounts.personal_data import RETENTION_RULES

    released = next(rule for rule in RETENTION_RULES if rule.name == "seats.released")
    statements = []

    def record(conn, cursor, statement, *args):
        if statement.startswith(("UPDATE", "DELETE", "SELECT")):  # not SQLite's BEGIN
            statements.append(statement)

    with app.app_context():
        service = RetentionService(db.session, [released])
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert list(service.batches(released, batch_size=1, expected=0)) == []
            assert statements == []
            assert list(service.batches(released, batch_size=1, expected=2)) == [1, 1]
            assert len(statements) == 2, "no third statement reading on to find nothing"
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
            db.session.rollback()


def test_rules_must_match_their_purpose_period():
    seats = Seat.__table__
    with pytest.raises(ValueError):
        RetentionRule("x", seats, lambda c: seats.c.released_at < c)  # no purpose, no days
    rule = RetentionRule("x", seats, lambda c: seats.c.released_at < c,
                         purpose="license.refresh", period="ip_prefix")  # delete vs de-identify
    with pytest.raises(ValueError):
        RetentionService(None, [rule])
