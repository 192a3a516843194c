"""Staff accounts: API tokens, console sign-in with password and TOTP, console sessions."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import sqlalchemy as sa

from core.database import db, utcnow
from licensing import errors
from licensing.support.models import Staff, StaffConsoleSession, StaffToken
from licensing.support.signin import StaffConsoleSessionService, StaffSignInService
from licensing.support.wiring import console_session_service, staff_service
from licensing.wiring import components
from privacy.audit import clean_reason

PASSWORD = "staff correct horse battery"


def _ropa(client, token):
    return client.get("/v1/privacy/ropa", headers={"Authorization": f"Bearer {token}"})


def _make_staff(app, name="Priya", role="privacy", password=PASSWORD, totp=False):
    with app.app_context():
        service = staff_service()
        token, staff = service.create(name, role, password)
        secret = service.enable_totp(staff) if totp else None
        db.session.commit()
        return token, staff.id, secret


def _sign_in(app, name, password, code, address="192.0.2.10", clock=utcnow):
    with app.app_context():
        parts = components()
        service = StaffSignInService(db.session, parts.passwords, parts.rate_limits, clock)
        try:
            staff = service.sign_in(name, password, code, address)
            db.session.commit()
            return staff.id
        finally:
            db.session.rollback()


def test_a_token_works_until_revoked_and_records_its_last_use(app, client):
    token, staff_id, _ = _make_staff(app)
    assert _ropa(client, token).status_code == 200
    with app.app_context():
        service = staff_service()
        first = db.session.scalar(sa.select(StaffToken).where(StaffToken.staff_id == staff_id))
        assert first.last_used_at is not None
        second_token, second = service.issue_token(service.get(staff_id))
        db.session.commit()
        first_id, second_id = first.id, second.id
    assert _ropa(client, second_token).status_code == 200
    with app.app_context():
        service = staff_service()
        service.revoke_token(service.get(staff_id), first_id)
        db.session.commit()
    assert _ropa(client, token).json["code"] == "UNAUTHENTICATED"
    assert _ropa(client, second_token).status_code == 200
    with app.app_context():
        assert db.session.get(StaffToken, second_id).last_used_at is not None


def test_disabling_revokes_every_token_and_ends_console_sessions(app, client, runner):
    token, staff_id, _ = _make_staff(app)
    with app.app_context():
        session_token, _ = console_session_service().open(staff_service().get(staff_id))
        db.session.commit()
    disabled = runner.invoke(args=["admin", "disable-staff", "Priya", "--json"])
    assert disabled.exit_code == 0 and json.loads(disabled.stdout)["disabled_at"]
    assert _ropa(client, token).status_code == 401
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(StaffConsoleSession.id))) == 0
        with pytest.raises(errors.Unauthenticated):
            console_session_service().staff_for(session_token)
        assert all(t.revoked_at for t in db.session.scalars(sa.select(StaffToken)))


def test_sign_in_with_password_and_the_current_totp_code(app):
    _, staff_id, secret = _make_staff(app, totp=True)
    code = pyotp.TOTP(secret).now()
    assert _sign_in(app, "Priya", PASSWORD, code) == staff_id
    with pytest.raises(errors.InvalidCredentials):
        _sign_in(app, "Priya", PASSWORD, code)  # a code is good once
    with pytest.raises(errors.InvalidCredentials):
        _sign_in(app, "Priya", "wrong password", pyotp.TOTP(secret).now())
    with pytest.raises(errors.InvalidCredentials):
        _sign_in(app, "Priya", PASSWORD, None)


def test_totp_accepts_one_step_of_clock_drift_and_no_more(app):
    _, staff_id, secret = _make_staff(app, totp=True)
    now = utcnow()
    totp = pyotp.TOTP(secret)
    assert _sign_in(app, "Priya", PASSWORD, totp.at(now - timedelta(seconds=30)),
                    clock=lambda: now) == staff_id
    with pytest.raises(errors.InvalidCredentials):
        _sign_in(app, "Priya", PASSWORD, totp.at(now - timedelta(seconds=90)),
                 clock=lambda: now)


def test_without_totp_the_password_alone_signs_in(app):
    _, staff_id, _ = _make_staff(app)
    assert _sign_in(app, "Priya", PASSWORD, None) == staff_id


@pytest.mark.parametrize("case", ["unknown name", "disabled", "no password", "wrong code"])
def test_every_failure_is_the_same_401(app, case):
    _, staff_id, secret = _make_staff(app, totp=True)
    _make_staff(app, name="Nopass", password=None)
    with app.app_context():
        if case == "disabled":
            staff_service().disable(staff_service().get(staff_id))
            db.session.commit()
    name = {"unknown name": "Nobody", "no password": "Nopass"}.get(case, "Priya")
    code = "000000" if case == "wrong code" else pyotp.TOTP(secret).now()
    with pytest.raises(errors.InvalidCredentials) as refused:
        _sign_in(app, name, PASSWORD, code)
    assert refused.value.body() == {"code": "INVALID_CREDENTIALS", "errors": {},
                                    "message": "Unknown name, wrong password or wrong code."}


def test_failed_sign_ins_are_limited_per_name_and_per_address(app_factory):
    app = app_factory(TESSERA_RATELIMIT_STAFF_FAILURES="3 per hour")
    _make_staff(app)
    for _ in range(3):
        with pytest.raises(errors.InvalidCredentials):
            _sign_in(app, "Priya", "wrong", None, address="192.0.2.1")
    with pytest.raises(errors.RateLimited) as limited:
        _sign_in(app, "Priya", PASSWORD, None, address="192.0.2.2")  # right, but the name is spent
    assert int(limited.value.headers["Retry-After"]) > 0
    for name in ("Other1", "Other2", "Other3"):
        with pytest.raises(errors.InvalidCredentials):
            _sign_in(app, name, "wrong", None, address="198.51.100.9")
    with pytest.raises(errors.RateLimited):
        _sign_in(app, "Other4", "wrong", None, address="198.51.100.9")  # the address is spent


def test_console_sessions_open_rotate_and_expire(app):
    _, staff_id, _ = _make_staff(app)
    with app.app_context():
        service = console_session_service()
        staff = staff_service().get(staff_id)
        token, record = service.open(staff)
        assert token.startswith("tsn_") and token not in record.token_hmac
        assert service.staff_for(token).id == staff_id
        lifetime = record.expires_at - record.created_at
        assert lifetime == timedelta(seconds=app.config["TESSERA_STAFF_SESSION_SECONDS"])
        rotated, rotated_record = service.rotate(token)
        assert rotated != token and rotated_record.expires_at == record.expires_at
        with pytest.raises(errors.Unauthenticated):
            service.staff_for(token)
        assert service.staff_for(rotated).id == staff_id
        service.expire(rotated)
        service.expire(rotated)  # signing out twice is harmless
        with pytest.raises(errors.Unauthenticated):
            service.staff_for(rotated)
        for bad in (None, "", "tss_not-a-session", "tsn_" + "x" * 200):
            with pytest.raises(errors.Unauthenticated):
                service.staff_for(bad)


def test_an_expired_console_session_no_longer_signs_in(app):
    _, staff_id, _ = _make_staff(app)
    with app.app_context():
        staff = staff_service().get(staff_id)
        opened = StaffConsoleSessionService(db.session, components().pseudonymizer, 60,
                                            clock=lambda: utcnow() - timedelta(seconds=61))
        token, _ = opened.open(staff)
        with pytest.raises(errors.Unauthenticated):
            console_session_service().staff_for(token)


def test_set_staff_password_with_totp_prints_the_uri_once(app, runner):
    runner.invoke(args=["admin", "create-staff", "Quinn", "--role", "support"])
    result = runner.invoke(args=["admin", "set-staff-password", "Quinn", "--totp", "--json"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    uri = urlsplit(printed["otpauth_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert parse_qs(uri.query)["secret"] == [printed["totp_secret"]]
    assert printed["totp"] is True
    code = pyotp.TOTP(printed["totp_secret"]).now()
    assert _sign_in(app, "Quinn", PASSWORD, code) == printed["id"]
    with app.app_context():
        stored = db.session.scalar(sa.text("SELECT totp_secret FROM staff WHERE name = 'Quinn'"))
        assert printed["totp_secret"] not in stored, "the secret is sealed by the vault"
        staff = db.session.scalar(sa.select(Staff).where(Staff.name == "Quinn"))
        assert staff.password_hash.startswith("$argon2id$")


def test_short_staff_passwords_are_refused(runner):
    runner.invoke(args=["admin", "create-staff", "Quinn", "--role", "support"])
    short = runner.invoke(args=["admin", "set-staff-password", "Quinn", "--password", "short"])
    assert short.exit_code == 1 and "at least 12" in short.stderr



def test_staff_tokens_typed_into_a_reason_are_scrubbed(app):
    token, staff_id, _ = _make_staff(app)
    with app.app_context():
        session_token, _ = console_session_service().open(staff_service().get(staff_id))
        db.session.rollback()
    cleaned = clean_reason(f"pasted {token} and {session_token} by mistake")
    assert token not in cleaned and session_token not in cleaned
    assert "tss_" not in cleaned and "tsn_" not in cleaned
