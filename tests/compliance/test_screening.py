"""Export screening: embargoed countries and denied-party lists (file and HTTP)."""

from __future__ import annotations

import pytest
import requests
import responses

from compliance_support import activate, records, refresh
from core.database import db
from licensing.activation.models import Seat
from licensing.compliance.screening import (FileScreening, HttpScreening, ListMatcher, Party,
                                            ScreeningUnavailable, entries_from_rows)
from support import Device

# The columns of the published consolidated screening list, a few rows of made-up parties.
CSL_HEADER = ("_id,source,entity_number,type,programs,name,title,addresses,federal_register_"
              "notice,start_date,end_date,standard_order,license_requirement,license_policy,"
              "call_sign,vessel_type,gross_tonnage,gross_registered_tonnage,vessel_flag,"
              "vessel_owner,remarks,source_list_url,alt_names,citizenships,dates_of_birth,"
              "nationalities,places_of_birth,source_information_url,ids")
CSL_ROWS = [
    '1,Entity List (EL) - Bureau of Industry and Security,,Entity,,"Zorglub Dynamics, Ltd.",,'
    '"12 Nowhere St, Pyongyang, KP",,,,,,,,,,,,,,,"Zorglub Dyn.; ZD Trading",,,,,,',
    '2,Specially Designated Nationals (SDN) - Treasury Department,,Individual,,'
    '"LIDDELL, Alice",,,,,,,,,,,,,,,,,"Alys Liddel",,,,,,',
]
API = "https://screening.example.test/v1/search"


def write_list(path) -> str:
    path.write_text("\n".join([CSL_HEADER, *CSL_ROWS]) + "\n", encoding="utf-8")
    return str(path)


def test_an_activation_from_an_embargoed_country_is_refused_and_recorded(client, world,
                                                                        officer):
    world.setup()
    refused = activate(client, Device(), world.credentials(), country="KP")
    assert refused.status_code == 403 and refused.json["code"] == "EXPORT_RESTRICTED"
    (record,) = records(client, officer)
    assert record["kind"] == "export_blocked_country" and record["tags"] == [
        "export.compliance"]
    assert record["country"] == "KP" and record["retain_until"] is not None


def test_a_refresh_from_an_embargoed_country_is_refused_and_leaves_the_seat_alone(
        app, client, world, officer):
    world.setup()
    device = Device()
    answer = activate(client, device, world.credentials(), country="DE").json
    refused = refresh(client, device, answer["activation_id"], country="IR")
    assert refused.status_code == 403 and refused.json["code"] == "EXPORT_RESTRICTED"
    (record,) = records(client, officer)
    assert record["kind"] == "export_blocked_country" and record["country"] == "IR"
    assert record["license"] == answer["license"]["id"]
    with app.app_context():
        assert db.session.get(Seat, answer["activation_id"]).country == "DE"
    assert refresh(client, device, answer["activation_id"], country="DE").status_code == 200


def test_the_embargo_list_is_configurable(app_factory, world):
    client = app_factory(TESSERA_EMBARGOED_COUNTRIES=frozenset({"FR"})).test_client()
    world.setup()
    assert activate(client, Device(), world.credentials(), country="KP").status_code == 201
    assert activate(client, Device(), world.credentials(), country="FR").status_code == 403


def test_an_account_on_the_screening_list_file_is_refused_and_recorded(
        app_factory, world, admin, officer, tmp_path):
    client = app_factory(TESSERA_SCREENING="file:" + write_list(tmp_path / "csl.csv"),
                         TESSERA_SCREENING_THRESHOLD=90).test_client()
    world.setup()
    admin.create_account("wonder", world.password, "wonder@example.com",
                         name="Alice Liddell", company="Rabbit Hole GmbH")
    admin.issue_license("wonder", "numflo", seats=1, kind="subscription", entitlements=[])
    db.session.commit()
    refused = activate(client, Device(), world.credentials("wonder"))
    assert refused.status_code == 403 and refused.json["code"] == "EXPORT_RESTRICTED"
    (record,) = records(client, officer)
    assert record["kind"] == "export_denied_party"
    assert record["evidence"]["list"].startswith("Specially Designated Nationals")
    assert "liddell" not in str(record).lower(), "the record names no one"
    # alice (name "Alice", company "Example NV") is on no list.
    assert activate(client, Device(), world.credentials()).status_code == 201


def test_an_activation_by_code_screens_the_code_s_account_too(app_factory, world, admin,
                                                               tmp_path):
    # The code's account is read as bare columns; its name and company (encrypted) are
    # loaded for the screening only.
    client = app_factory(TESSERA_SCREENING="file:" + write_list(tmp_path / "csl.csv"),
                         TESSERA_SCREENING_THRESHOLD=90).test_client()
    world.setup()
    admin.create_account("wonder", world.password, "wonder@example.com",
                         name="Alice Liddell", company="Rabbit Hole GmbH")
    listed = admin.issue_license("wonder", "numflo", seats=1, kind="subscription",
                                 entitlements=[]).id
    db.session.commit()
    refused = activate(client, Device(), {"activation_code": world.code(listed)})
    assert refused.status_code == 403 and refused.json["code"] == "EXPORT_RESTRICTED"
    clean = world.setup(seats=1)
    assert activate(client, Device(), {"activation_code": world.code(clean)}).status_code == 201


@pytest.mark.parametrize("name, company, expected", [
    ("Alice Liddell", None, 100.0),            # order of the words
    ("Álice Liddéll", None, 100.0),            # accents
    ("Alice Lidell", None, True),              # a typo
    ("Alys Liddel", None, 100.0),              # an alias
    ("Alys Lidel", None, True),                # a typo in an alias
    (None, "ZORGLUB DYNAMICS LTD", 100.0),     # a company, punctuation and case
    ("Alice Cooper", "Example NV", None),      # a shared first name is no match
])
def test_names_match_fuzzily_above_the_threshold(tmp_path, name, company, expected):
    match = FileScreening(write_list(tmp_path / "csl.csv"), 90).screen(
        Party(name, company, None))
    if expected is None:
        assert match is None
    elif expected is True:
        assert match is not None and 90 <= match.score < 100
    else:
        assert match is not None and match.score == expected


def _http(fail_closed: bool = False, **options) -> HttpScreening:
    return HttpScreening(API, "key-123", timeout=1, fail_closed=fail_closed,
                         cache_seconds=options.pop("cache_seconds", 60), threshold=90, **options)


ALICE = Party("Alice Liddell", None, "GB")


@responses.activate
def test_the_http_provider_finds_a_hit_and_sends_its_key():
    responses.get(API, json={"total": 1, "results": [
        {"name": "LIDDELL, Alice", "alt_names": ["Alys Liddel"], "source": "SDN"}]})
    match = _http().screen(ALICE)
    assert match is not None and match.source == "SDN" and match.score == 100.0
    (call,) = responses.calls
    assert call.request.headers["subscription-key"] == "key-123"
    assert "name=Alice+Liddell" in call.request.url


@responses.activate
def test_the_http_provider_misses_and_caches_the_answer():
    responses.get(API, json={"total": 1, "results": [{"name": "Somebody Else"}]})
    screening = _http()
    assert screening.screen(ALICE) is None
    assert screening.screen(ALICE) is None
    assert len(responses.calls) == 1, "the second screening came from the cache"


@responses.activate
def test_the_cache_expires():
    responses.get(API, json={"results": []})
    now = [0.0]
    screening = _http(cache_seconds=10, clock=lambda: now[0])
    screening.screen(ALICE)
    now[0] = 11.0
    screening.screen(ALICE)
    assert len(responses.calls) == 2


@pytest.mark.parametrize("failure", [
    {"body": requests.Timeout()},
    {"status": 503, "json": {"error": "down"}},
    {"body": "<html>not json</html>", "content_type": "text/html"},
    {"json": {"results": "not a list"}},
], ids=["timeout", "5xx", "malformed", "no-results-list"])
def test_the_http_provider_fails_open_or_closed(failure):
    with responses.RequestsMock() as mock:
        mock.get(API, **failure)
        assert _http(fail_closed=False).screen(ALICE) is None
    with responses.RequestsMock() as mock:
        mock.get(API, **failure)
        with pytest.raises(ScreeningUnavailable):
            _http(fail_closed=True).screen(ALICE)


@responses.activate
def test_a_failed_answer_is_not_cached():
    responses.get(API, status=500)
    responses.get(API, json={"results": [{"name": "Alice Liddell", "source": "EL"}]})
    screening = _http()
    assert screening.screen(ALICE) is None
    assert screening.screen(ALICE).source == "EL"


def test_screening_through_http_at_activation_fails_closed_with_503(app_factory, world):
    client = app_factory(TESSERA_SCREENING="http:" + API, TESSERA_SCREENING_FAIL="closed",
                         TESSERA_SCREENING_TIMEOUT=1).test_client()
    world.setup()
    with responses.RequestsMock() as mock:
        mock.get(API, status=502)
        answer = activate(client, Device(), world.credentials())
    assert answer.status_code == 503 and answer.json["code"] == "UNAVAILABLE"


def test_list_rows_give_a_name_per_alias():
    entries = entries_from_rows([{"name": "A B", "alt_names": "C D; ;E", "source": "X"}], "f")
    assert entries == [("a b", "X"), ("c d", "X"), ("e", "X")]
    assert ListMatcher(entries, 90).best(Party("b a", None, None)).source == "X"
