"""X-Access-Reason: the 3..200 rule holds for what staff sent, and text survives as UTF-8.

A WSGI server hands header values over as latin-1 decoded text (PEP 3333), so
a UTF-8 header arrives here as the latin-1 reading of its bytes; the tests
send exactly that, as gunicorn would.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from privacy_support import staff_token
from support import Device

from core.database import db
from core.errors import ValidationFailed
from privacy.audit import clean_reason
from privacy.models import AccessLogEntry


def as_wsgi(text: str) -> str:
    """TEXT as a WSGI server passes a UTF-8 header value on."""
    return text.encode("utf-8").decode("latin-1")


@pytest.fixture
def release(app, client, world):
    world.setup(seats=5)
    token = staff_token(app, "support")

    def post(reason: str):
        activation_id = Device().activate(client, **world.credentials()).json["activation_id"]
        return client.post(f"/v1/support/activations/{activation_id}/release",
                           headers={"Authorization": f"Bearer {token}",
                                    "X-Access-Reason": reason})
    return post


def stored_reasons(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AccessLogEntry.reason)))


def test_a_long_reason_is_refused_whatever_it_would_redact_to(app, release):
    for reason in ("y" * 4000, "y" * 201, "A sentence that goes on. " * 10):
        refused = release(reason)
        assert refused.status_code == 400, (len(reason), refused.json)
        assert "X-Access-Reason" in refused.json["errors"]
    assert stored_reasons(app) == []


def test_a_reason_that_redacts_to_nothing_is_refused(app, release):
    for reason in ("alice@example.com", "81.2.69.160", "y" * 40, " 81.2.69.160, 10.0.0.1 "):
        refused = release(reason)
        assert refused.status_code == 400, (reason, refused.json)
    assert release("ticket 42 for alice@example.com").status_code == 200
    assert stored_reasons(app) == ["ticket 42 for [redacted]"]


def test_a_reason_at_the_limits_is_kept(app, release):
    assert release("T-1").status_code == 200
    assert release("x " * 99 + "ok").status_code == 200
    assert sorted(stored_reasons(app), key=len) == ["T-1", "x " * 99 + "ok"]


def test_a_utf8_reason_is_stored_as_sent(app, release):
    assert release(as_wsgi("été ticket")).status_code == 200
    assert release(as_wsgi("チケット 77")).status_code == 200
    assert sorted(stored_reasons(app)) == ["été ticket", "チケット 77"]


def test_a_reason_that_is_not_utf8_is_a_clear_400(app, release):
    latin1_bytes = "\u00e9t\u00e9 ticket"  # the bytes E9 74 E9 ...: latin-1, not UTF-8
    refused = release(latin1_bytes)
    assert refused.status_code == 400
    assert refused.json["code"] == "VALIDATION_FAILED"
    assert "UTF-8" in refused.json["errors"]["X-Access-Reason"][0]
    assert stored_reasons(app) == []


def test_the_privacy_endpoints_decode_the_reason_too(app, client, world):
    world.setup()
    token = staff_token(app, "privacy")
    answer = client.get("/v1/privacy/access-log?subject=alice", headers={
        "Authorization": f"Bearer {token}", "X-Access-Reason": as_wsgi("DSR-9 demande reçue")})
    assert answer.status_code == 200, answer.json
    assert stored_reasons(app) == ["DSR-9 demande reçue"]


def test_clean_reason_checks_length_before_redaction():
    with pytest.raises(ValidationFailed):
        clean_reason("1" * 300)
    with pytest.raises(ValidationFailed):
        clean_reason("alice@example.com")
    assert clean_reason("  see 10.1.2.3 ") == "see [redacted]"
