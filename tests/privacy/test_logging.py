"""Structured logs: JSON lines with request ids and purposes, never raw identifiers."""

from __future__ import annotations

import io
import json
import logging
import secrets

import pytest
import sqlalchemy as sa
from privacy_support import staff_token
from support import Device

from core.database import db
from core.tokens import registered_prefixes
from privacy.logging import configure_logging, tessera_handler
from privacy.models import AccessLogEntry
from privacy.purposes import processes
from privacy.redaction import redact


@pytest.fixture
def json_logs(app_config):
    app_config.update(TESSERA_LOG_FORMAT="json")
    return app_config


@pytest.fixture
def captured(app):
    stream = io.StringIO()
    tessera_handler().setStream(stream)
    return stream


def _lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_request_logs_one_json_line_with_its_route_and_request_id(json_logs, app, client,
                                                                       world, captured):
    world.setup()
    device = Device()
    activation_id = device.activate(client, **world.credentials()).json["activation_id"]
    answer = device.refresh(client, activation_id, headers=None)
    lines = [line for line in _lines(captured) if line["logger"] == "tessera.http.request"]
    assert [line["route"] for line in lines] == [
        "/v1/activations", "/v1/activations/<activation_id>/refresh"]
    assert lines[-1]["request_id"] == answer.headers["X-Request-Id"]
    assert lines[-1]["status"] == 200 and lines[-1]["method"] == "POST"
    assert activation_id not in captured.getvalue()


def test_identifiers_in_messages_are_scrubbed_and_purpose_is_stamped(app):
    stream = io.StringIO()
    configure_logging("json", stream)
    log = logging.getLogger("tessera.test")

    @processes("support")
    def look_up():
        log.warning("lookup of %s from %s with code %s", "bob@example.com", "203.0.113.9",
                    "ABCDE-12345-FGHJK-67890-MNPQR-STVWX", extra={"who": "bob@example.com"})

    with app.test_request_context("/"):
        from flask import g
        g.request_id = "r" * 24
        look_up()
        try:
            raise ValueError("token tss_abcdefghijklmnopqrstuvwx rejected")
        except ValueError:
            log.exception("failed for bob@example.com")
    first, second = _lines(stream)
    assert first["message"] == "lookup of [redacted] from [redacted] with code [redacted]"
    assert first["who"] == "[redacted]"
    assert (first["purpose"], first["request_id"], first["level"]) == ("support", "r" * 24,
                                                                        "WARNING")
    assert "tss_" not in second["exception"] and "bob@" not in json.dumps(second)


def test_text_format_is_the_default_outside_production(app):
    stream = io.StringIO()
    configure_logging("text", stream)
    logging.getLogger("tessera.test").info("hello from 10.1.2.3")
    assert stream.getvalue().endswith("INFO tessera.test [None] hello from [redacted]\n")
    assert len([h for h in logging.getLogger("tessera").handlers if h is tessera_handler()]) == 1


def test_every_kind_of_bearer_token_is_scrubbed_from_free_text(app):
    # Customer Area session tokens were once left in free text: each token issuer
    # now declares its prefix, and redaction scrubs every declared prefix.
    assert {"tss_", "tcs_"} <= set(registered_prefixes())
    for prefix in registered_prefixes():
        token = prefix + secrets.token_urlsafe(32)
        assert redact(f"customer pasted {token} into the ticket") == (
            "customer pasted [redacted] into the ticket")


def test_customer_session_token_in_an_access_reason_is_not_stored(app, client, world):
    world.setup()
    session_token = client.post("/v1/session", json=world.credentials()).json["token"]
    activation_id = Device().activate(client, **world.credentials()).json["activation_id"]
    headers = {"Authorization": f"Bearer {staff_token(app, 'support')}",
               "X-Access-Reason": f"ticket 4711, customer pasted {session_token}"}
    answer = client.post(f"/v1/support/activations/{activation_id}/release", headers=headers)
    assert answer.status_code == 200, answer.json
    with app.app_context():
        (reason,) = db.session.scalars(sa.select(AccessLogEntry.reason)).all()
    assert reason == "ticket 4711, customer pasted [redacted]"
