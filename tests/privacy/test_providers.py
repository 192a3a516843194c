"""licensing declares its personal data to privacy: find, export, rectify, erase, restrict."""

from __future__ import annotations

import pytest
from support import Device

from core.database import db
from core.errors import ValidationFailed
from licensing.accounts.personal_data import RETENTION_RULES, LicensingPersonalData
from privacy.legal.provider import RETENTION_RULES as LEGAL_RULES
from privacy.providers import ACCOUNT, ProviderRegistry
from privacy.wiring import components, retention_rules


@pytest.fixture
def provider(app):
    with app.app_context():
        registered = components().providers.providers(db.session, ACCOUNT)[0]
        yield registered
        db.session.rollback()


def test_licensing_and_the_legal_engine_register_account_providers_with_their_rules(app):
    with app.app_context():
        registry = components().providers
        assert [r.name for r in registry] == ["licensing", "legal"]
        assert registry.subject_kinds() == [ACCOUNT]
        names = [rule.name for rule in retention_rules()]
        assert names == ["access_log.expired", *(rule.name for rule in RETENTION_RULES),
                         *(rule.name for rule in LEGAL_RULES)]


def test_find_subject_by_username_id_or_email(app, world, provider):
    world.setup()
    account_id = provider.find_subject("alice")
    assert account_id.startswith("acc_")
    assert provider.find_subject(account_id) == account_id
    assert provider.find_subject(" Alice@Example.COM ") == account_id
    assert provider.find_subject("mallory") is None
    assert list(provider.subject_ids()) == [account_id]


def test_export_gives_the_subjects_data_readably(app, client, world, provider):
    world.setup()
    device = Device()
    answer = client.post("/v1/activations", environ_base={"REMOTE_ADDR": "81.2.69.160"},
                         json=device.activation_body(**world.credentials(),
                                                     device_name="Lab PC", platform="linux"),
                         headers={"DPoP": device.proof("POST", "/v1/activations")})
    assert answer.status_code == 201
    exported = provider.export(provider.find_subject("alice"))
    assert exported["account"]["email"] == "alice@example.com"
    assert exported["account"]["password"] == "stored only as an argon2id hash"
    assert exported["licenses"][0]["product"] == "numflo"
    (seat,) = exported["seats"]
    assert (seat["device_name"], seat["country"], seat["ip_prefix"]) == (
        "Lab PC", "GB", "81.2.69.0/24")
    assert seat["device_id"] == "stored only as a keyed pseudonym"


def test_rectify_moves_the_blind_index_with_the_email(app, world, provider):
    world.setup()
    subject = provider.find_subject("alice")
    changed = provider.rectify(subject, {"email": "alice@new.example", "name": "Alice",
                                         "country": "nl"})
    assert changed == ["email", "country"]
    assert provider.find_subject("alice@new.example") == subject
    assert provider.find_subject("alice@example.com") is None
    with pytest.raises(ValidationFailed):
        provider.rectify(subject, {"password_hash": "x"})


def test_restriction_refuses_activation_until_lifted(app, client, world):
    world.setup()
    with app.app_context():
        provider = components().providers.providers(db.session, ACCOUNT)[0]
        provider.restrict(provider.find_subject("alice"), True)
        db.session.commit()
    refused = Device().activate(client, **world.credentials())
    assert refused.status_code == 403 and refused.json["code"] == "ACCOUNT_RESTRICTED"
    with app.app_context():
        provider = components().providers.providers(db.session, ACCOUNT)[0]
        provider.restrict(provider.find_subject("alice"), False)
        db.session.commit()
    assert Device().activate(client, **world.credentials()).status_code == 201


def test_a_provider_name_registers_once():
    registry = ProviderRegistry()
    registry.register("licensing", ACCOUNT, lambda session: LicensingPersonalData(session, None))
    with pytest.raises(ValueError):
        registry.register("licensing", ACCOUNT, lambda session: None)
