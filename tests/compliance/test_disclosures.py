"""Disclosures: the sharing matrix, four eyes, signed payloads and a durable outbox."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest

from compliance_support import activate, from_country, records
from privacy_support import invoke_json
from support import Device


class Recipient:
    """A recipient's endpoint on 127.0.0.1: answers with the queued statuses, then 200."""

    def __init__(self):
        self.received: list[dict] = []
        self.statuses: list[int] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = owner.statuses.pop(0) if owner.statuses else 200
                owner.received.append({"body": body.decode(), "status": status,
                                       "headers": dict(self.headers)})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/disclosures"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def delivered(self) -> list[dict]:
        return [r for r in self.received if r["status"] == 200]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def endpoint():
    recipient = Recipient()
    yield recipient
    recipient.close()


def register(client, administrator, category: str, url: str) -> str:
    answer = client.post("/v1/admin/recipients", headers=administrator,
                         json={"name": f"A {category}", "category": category, "endpoint": url})
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


@pytest.fixture
def piracy_record(client, world, officer) -> dict:
    """An anti_piracy record about alice: a refresh proved with a foreign key."""
    world.setup()
    answer = activate(client, Device(), world.credentials()).json
    path = f"/v1/activations/{answer['activation_id']}/refresh"
    client.post(path, json={}, headers={"DPoP": Device().proof("POST", path),
                                        **from_country("DE")})
    (record,) = records(client, officer, kind="foreign_key_refresh")
    return record


@pytest.fixture
def export_record(client, world, officer) -> dict:
    world.setup()
    assert activate(client, Device(), world.credentials(), country="KP").status_code == 403
    (record,) = records(client, officer, kind="export_blocked_country")
    return record


def disclose(client, officer, record_ids, recipient, **extra):
    return client.post("/v1/compliance/disclosures", headers=officer,
                       json={"records": record_ids, "recipient": recipient, **extra})


def verify(client, token: str) -> dict:
    """Verify a disclosure JWS against the service's published keys, as a recipient would."""
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "disclosure+jwt" and header["alg"] == "EdDSA"
    (jwk,) = [k for k in client.get("/v1/keys").json["keys"] if k["kid"] == header["kid"]]
    return jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["EdDSA"],
                      options={"verify_aud": False})


def test_an_anti_piracy_record_goes_to_an_anti_piracy_org_as_a_verified_jws(
        client, officer, administrator, piracy_record, endpoint):
    recipient = register(client, administrator, "anti_piracy_org", endpoint.url)
    answer = disclose(client, officer, [piracy_record["id"]], recipient)
    assert answer.status_code == 201, answer.json
    disclosure = answer.json
    assert disclosure["status"] == "delivered" and disclosure["attempts"] == 1
    assert disclosure["recipient"]["category"] == "anti_piracy_org"
    assert disclosure["created_by"].startswith("staff:") and disclosure["approved_by"] is None
    (sent,) = endpoint.received
    assert sent["headers"]["Content-Type"] == "application/jose"
    assert sent["headers"]["Idempotency-Key"] == disclosure["id"]
    claims = verify(client, sent["body"])
    assert claims["jti"] == disclosure["id"] and claims["aud"] == recipient
    (item,) = claims["records"]
    assert set(item) == {"kind", "tags", "subject", "count", "first_seen_at", "last_seen_at",
                         "country"}, "minimised: no evidence, license or hold"
    assert item["subject"] == piracy_record["subject"] and item["kind"] == "foreign_key_refresh"


def test_a_software_company_gets_no_country(client, officer, administrator, piracy_record,
                                            endpoint):
    recipient = register(client, administrator, "software_company", endpoint.url)
    assert disclose(client, officer, [piracy_record["id"]], recipient).status_code == 201
    (item,) = verify(client, endpoint.received[0]["body"])["records"]
    assert "country" not in item


def test_export_records_may_not_go_to_an_anti_piracy_org(client, officer, administrator,
                                                         export_record, endpoint):
    recipient = register(client, administrator, "anti_piracy_org", endpoint.url)
    refused = disclose(client, officer, [export_record["id"]], recipient)
    assert refused.status_code == 403 and refused.json["code"] == "DISCLOSURE_NOT_ALLOWED"
    assert export_record["id"] in refused.json["message"]
    assert "export.compliance records -> anti_piracy_org: no" in refused.json["message"]
    assert endpoint.received == [], "nothing is sent"
    listed = client.get("/v1/compliance/disclosures", headers=officer).json
    assert listed == {"disclosures": []}, "nothing is stored"


def test_an_export_authority_receives_export_records(client, officer, administrator,
                                                     export_record, endpoint):
    recipient = register(client, administrator, "export_authority", endpoint.url)
    answer = disclose(client, officer, [export_record["id"]], recipient)
    assert answer.status_code == 201 and answer.json["status"] == "delivered"
    (item,) = verify(client, endpoint.received[0]["body"])["records"]
    assert item["country"] == "KP"


def test_law_enforcement_needs_a_legal_reference(client, officer, administrator,
                                                 piracy_record, endpoint):
    recipient = register(client, administrator, "law_enforcement", endpoint.url)
    refused = disclose(client, officer, [piracy_record["id"]], recipient)
    assert refused.status_code == 400 and refused.json["code"] == "VALIDATION_FAILED"
    assert "legal_reference" in refused.json["errors"]
    assert endpoint.received == []


def test_reidentification_is_for_law_enforcement_only(client, officer, administrator,
                                                      piracy_record, endpoint):
    recipient = register(client, administrator, "anti_piracy_org", endpoint.url)
    refused = disclose(client, officer, [piracy_record["id"]], recipient, reidentify=True)
    assert refused.status_code == 403 and refused.json["code"] == "DISCLOSURE_NOT_ALLOWED"
    assert endpoint.received == []


def test_a_reidentifying_disclosure_waits_for_a_second_officer(
        client, officer, second_officer, administrator, piracy_record, endpoint):
    recipient = register(client, administrator, "law_enforcement", endpoint.url)
    answer = disclose(client, officer, [piracy_record["id"]], recipient, reidentify=True,
                      legal_reference="Court order 2026/117")
    assert answer.status_code == 201 and answer.json["status"] == "awaiting_approval"
    disclosure_id = answer.json["id"]
    approve = f"/v1/compliance/disclosures/{disclosure_id}/approve"
    own = client.post(approve, headers=officer)
    assert own.status_code == 403 and own.json["code"] == "FORBIDDEN"
    assert endpoint.received == []
    approved = client.post(approve, headers=second_officer)
    assert approved.status_code == 200 and approved.json["status"] == "delivered"
    assert approved.json["approved_by"] not in (None, approved.json["created_by"])
    claims = verify(client, endpoint.received[0]["body"])
    assert claims["legal_reference"] == "Court order 2026/117"
    assert claims["records"][0]["account"] == {"username": "alice",
                                              "email": "alice@example.com"}
    assert client.post(approve, headers=second_officer).status_code == 409


def test_a_recipient_that_is_down_leaves_the_disclosure_pending_until_delivered_once(
        client, runner, officer, administrator, piracy_record, endpoint):
    recipient = register(client, administrator, "anti_piracy_org", endpoint.url)
    endpoint.statuses = [503]
    answer = disclose(client, officer, [piracy_record["id"]], recipient)
    assert answer.status_code == 201
    assert (answer.json["status"], answer.json["attempts"], answer.json["last_error"]) == (
        "pending", 1, "HTTP 503")
    not_due = invoke_json(runner, "compliance", "deliver")
    assert not_due["attempted"] == 0, "the backoff holds the retry"
    done = invoke_json(runner, "compliance", "deliver", "--now")
    assert done["delivered"] == [answer.json["id"]]
    assert invoke_json(runner, "compliance", "deliver", "--now")["attempted"] == 0
    assert len(endpoint.delivered()) == 1 and len(endpoint.received) == 2
    first, second = endpoint.received
    assert first["body"] == second["body"], "a retry sends the same signed disclosure"
    (listed,) = client.get("/v1/compliance/disclosures", headers=officer,
                           query_string={"status": "delivered"}).json["disclosures"]
    assert listed["attempts"] == 2 and listed["last_error"] is None


def test_the_last_failed_attempt_records_why(app_factory, world, officer, administrator,
                                             endpoint):
    app = app_factory(TESSERA_DISCLOSURE_MAX_ATTEMPTS=2)
    client, runner = app.test_client(), app.test_cli_runner()
    world.setup()
    activate(client, Device(), world.credentials(), country="KP")
    (record,) = records(client, officer)
    recipient = register(client, administrator, "export_authority", endpoint.url)
    endpoint.statuses = [500, 500]
    assert disclose(client, officer, [record["id"]], recipient).json["status"] == "pending"
    assert invoke_json(runner, "compliance", "deliver", "--now")["failed"] != []
    (failed,) = client.get("/v1/compliance/disclosures", headers=officer).json["disclosures"]
    assert (failed["status"], failed["attempts"], failed["last_error"]) == (
        "failed", 2, "HTTP 500")
    assert invoke_json(runner, "compliance", "deliver", "--now")["attempted"] == 0


def test_every_disclosure_is_logged_and_shown_to_its_subject(
        client, officer, administrator, piracy_record, endpoint, world):
    recipient = register(client, administrator, "anti_piracy_org", endpoint.url)
    disclose(client, officer, [piracy_record["id"]], recipient)
    token = client.post("/v1/session", json=world.credentials()).json["token"]
    report = client.get("/v1/me/data", headers={"Authorization": f"Bearer {token}"}).json
    (shown,) = report["data"]["legal"]["disclosures"]
    assert shown["recipient_category"] == "anti_piracy_org" and shown["status"] == "delivered"
    assert [e["purpose"] for e in report["access_log"]] == ["legal.disclosure"]


def test_an_unregistered_endpoint_scheme_is_refused(client, administrator):
    answer = client.post("/v1/admin/recipients", headers=administrator, json={
        "name": "X", "category": "law_enforcement", "endpoint": "ftp://example.test/"})
    assert answer.status_code == 400 and "endpoint" in answer.json["errors"]


def test_metrics_count_records_by_kind_and_disclosures_by_status(
        client, officer, administrator, piracy_record, endpoint):
    recipient = register(client, administrator, "anti_piracy_org", endpoint.url)
    disclose(client, officer, [piracy_record["id"]], recipient)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'tessera_compliance_records_total{kind="foreign_key_refresh"} 1.0' in text
    assert 'tessera_disclosures{status="delivered"} 1.0' in text
